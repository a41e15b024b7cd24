// Proves which wire the SDK's records travel on, against real broker processes: with
// `transport: "auto"` the producer (per-record and bulk API) and the consumer go through the
// broker's data listener and never through gRPC Produce/Fetch; with "grpc" it is the other way
// round; a broker started without a data listener still serves an "auto" client over gRPC; and a
// broker restarted with a different data port is followed (metadata says where). Counts come from
// the broker's own request metrics, records are checked key by key.
import { afterAll, describe, expect, it } from "vitest";
import { Admin } from "./admin.js";
import { Consumer } from "./consumer.js";
import { Producer } from "./producer.js";
import type { ClientTransport } from "./cluster.js";
import { freePort, removeDataDir, startBrokerProcess, type BrokerProcess } from "../../test/e2e/broker-process.js";

const brokers: BrokerProcess[] = [];

afterAll(async () => {
  for (const broker of brokers) {
    await broker.stop();
    await removeDataDir(broker.dataDir);
  }
});

async function start(options: Parameters<typeof startBrokerProcess>[0] = {}): Promise<BrokerProcess> {
  const broker = await startBrokerProcess(options);
  brokers.push(broker);
  return broker;
}

/** Requests the broker counted per method (sluice_rpc_requests_total, all codes). */
async function requestCounts(broker: BrokerProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^sluice_rpc_requests_total\{[^}]*method="([A-Za-z]+)"[^}]*\} (\S+)$/.exec(line);
    if (match !== null) counts[match[1]!] = (counts[match[1]!] ?? 0) + Number(match[2]);
  }
  return counts;
}

/**
 * Counts once they stop moving: a consumer's long poll still in flight when it closed is answered
 * (and counted) by the broker up to its max wait later.
 */
async function settledCounts(broker: BrokerProcess): Promise<Record<string, number>> {
  let last = await requestCounts(broker);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 400));
    const now = await requestCounts(broker);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
}

function delta(after: Record<string, number>, before: Record<string, number>, method: string): number {
  return (after[method] ?? 0) - (before[method] ?? 0);
}

/** Produces `count` keyed records (half one by one, half with sendMany) and reads them all back. */
async function roundTrip(bootstrap: string, topic: string, transport: ClientTransport, count: number): Promise<void> {
  const admin = new Admin({ bootstrap });
  await admin.createTopics([{ name: topic, partitions: 4 }]);
  await admin.close();
  const producer = new Producer({ bootstrap, transport, lingerMs: 2 });
  const half = Math.floor(count / 2);
  const singles = Array.from({ length: half }, (_, i) => producer.send({ topic, key: `k${i % 50}`, value: `v${i}` }));
  const report = await producer.sendMany(Array.from({ length: count - half }, (_, i) => ({ topic, key: `k${(half + i) % 50}`, value: `v${half + i}` })));
  expect((await Promise.all(singles)).every((m) => m.offset >= 0)).toBe(true);
  expect(report.count).toBe(count - half);
  expect(report.metadata(report.count - 1).offset).toBeGreaterThanOrEqual(0);
  await producer.close();

  const consumer = new Consumer({ bootstrap, transport, autoOffsetReset: "earliest", maxWaitMs: 200 });
  consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition })));
  const lastByKey = new Map<string, number>();
  let seen = 0;
  for await (const batch of consumer.batches()) {
    for (const record of batch.records) {
      const i = Number(record.value!.toString().slice(1));
      const key = record.key!.toString();
      expect(key).toBe(`k${i % 50}`);
      // Per key (one partition), values come back in send order within each API's run.
      const last = lastByKey.get(`${key}/${i < half ? "one" : "many"}`) ?? -1;
      expect(i).toBeGreaterThan(last);
      lastByKey.set(`${key}/${i < half ? "one" : "many"}`, i);
      seen++;
    }
    if (seen >= count) break;
  }
  await consumer.close();
  expect(seen).toBe(count);
}

describe("the SDK's transport", () => {
  it('"auto" produces and fetches over the data listener, "grpc" over gRPC', async () => {
    const broker = await start();
    expect(broker.dataPort).toBeGreaterThan(0);

    const before = await requestCounts(broker);
    await roundTrip(broker.bootstrap, "over-data", "auto", 4000);
    const afterData = await settledCounts(broker);
    expect(delta(afterData, before, "DataProduce")).toBeGreaterThan(0);
    expect(delta(afterData, before, "DataFetch")).toBeGreaterThan(0);
    expect({ stream: delta(afterData, before, "ProduceStream"), produce: delta(afterData, before, "Produce"), fetch: delta(afterData, before, "Fetch") }).toEqual({ stream: 0, produce: 0, fetch: 0 });

    await roundTrip(broker.bootstrap, "over-grpc", "grpc", 4000);
    const afterGrpc = await settledCounts(broker);
    expect(delta(afterGrpc, afterData, "DataProduce") + delta(afterGrpc, afterData, "DataFetch")).toBe(0);
    expect(delta(afterGrpc, afterData, "ProduceStream")).toBeGreaterThan(0);
    expect(delta(afterGrpc, afterData, "Fetch")).toBeGreaterThan(0);
  });

  it('"auto" uses gRPC against a broker without a data listener', async () => {
    const broker = await start({ dataPort: -1 });
    expect(broker.dataPort).toBe(-1);
    const before = await requestCounts(broker);
    await roundTrip(broker.bootstrap, "no-listener", "auto", 2000);
    const after = await settledCounts(broker);
    expect(delta(after, before, "ProduceStream")).toBeGreaterThan(0);
    expect(delta(after, before, "Fetch")).toBeGreaterThan(0);
    expect(delta(after, before, "DataProduce") + delta(after, before, "DataFetch")).toBe(0);
  });

  it("follows a broker that comes back on the same gRPC port with a different data port", async () => {
    const port = await freePort();
    let broker = await start({ port, dataPort: await freePort() });
    const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 2, retry: { backoffMs: 50, backoffMaxMs: 500 } });
    const admin = new Admin({ bootstrap: broker.bootstrap });
    await admin.createTopics([{ name: "moved", partitions: 2 }]);
    expect((await producer.send({ topic: "moved", partition: 0, value: "before" })).offset).toBe(0);

    await broker.stop();
    brokers.splice(brokers.indexOf(broker), 1);
    broker = await start({ port, dataDir: broker.dataDir, dataPort: await freePort() });
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: "moved", partition: 0, value: `after-${i}` })));
    expect(after.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await producer.close();
    await admin.close();

    // Once its metadata names the new data port, the client is back on the data listener.
    const before = await requestCounts(broker);
    const again = new Producer({ bootstrap: broker.bootstrap, lingerMs: 2 });
    await again.send({ topic: "moved", partition: 1, value: "fresh client" });
    await again.close();
    const later = await requestCounts(broker);
    expect(delta(later, before, "DataProduce")).toBeGreaterThan(0);
  });
});
