// Proves the SDK end to end against the real broker process on loopback: Admin manages topics
// and configs with typed errors; 20k keyed records with headers produced with compression come
// back in order per partition with their offsets, keys, headers and timestamps; offset queries
// by time work; pipelined sends (several per partition in flight, ordered stream) land in send
// order; and a producer and consumer ride through a broker restart on the same port.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { Admin } from "./admin.js";
import { Consumer, type ConsumerRecord } from "./consumer.js";
import { partitionForKey } from "./partitioner.js";
import { Producer } from "./producer.js";
import { freePort, startBrokerProcess, type BrokerProcess } from "../../test/e2e/broker-process.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-client-e2e-"));
  dirs.push(dir);
  return dir;
}

let broker: BrokerProcess;
let admin: Admin;

beforeAll(async () => {
  broker = await startBrokerProcess({ dataDir: tempDir() });
  admin = new Admin({ bootstrap: broker.bootstrap });
});

afterAll(async () => {
  await admin?.close();
  await broker?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe("SDK against the real broker", () => {
  it("manages topics, partitions and configs through Admin, with typed errors for bad requests", async () => {
    const created = await admin.createTopics([{ name: "admin-e2e", partitions: 2, configs: { "retention.ms": "3600000" } }]);
    expect(created).toEqual([expect.objectContaining({ name: "admin-e2e", partitions: 2, replicationFactor: 1 })]);
    expect((await admin.listTopics()).map((t) => t.name)).toContain("admin-e2e");

    expect((await errorOf(admin.createTopics([{ name: "admin-e2e", partitions: 1 }]))).errorName).toBe("TOPIC_ALREADY_EXISTS");
    expect((await errorOf(admin.createTopics([{ name: "bad/name", partitions: 1 }]))).errorName).toBe("INVALID_TOPIC_EXCEPTION");
    expect((await errorOf(admin.createTopics([{ name: "bad-config", partitions: 1, configs: { "retention.ms": "soon" } }]))).errorName).toBe("INVALID_CONFIG");
    expect((await errorOf(admin.describeTopics(["no-such-topic"]))).errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");

    const [configs] = await admin.describeConfigs(["admin-e2e"]);
    expect(configs?.entries.find((e) => e.name === "retention.ms")).toMatchObject({ value: "3600000", source: "topic" });
    await admin.alterConfigs([{ topic: "admin-e2e", set: { "retention.ms": "7200000" } }]);
    const [altered] = await admin.describeConfigs(["admin-e2e"]);
    expect(altered?.entries.find((e) => e.name === "retention.ms")?.value).toBe("7200000");
    await admin.alterConfigs([{ topic: "admin-e2e", delete: ["retention.ms"] }]);
    const [reset] = await admin.describeConfigs(["admin-e2e"]);
    expect(reset?.entries.find((e) => e.name === "retention.ms")?.source).not.toBe("topic");
    expect((await errorOf(admin.alterConfigs([{ topic: "admin-e2e", set: { "cleanup.policy": "sometimes" } }]))).errorName).toBe("INVALID_CONFIG");

    await admin.createPartitions([{ topic: "admin-e2e", count: 5 }]);
    const [described] = await admin.describeTopics(["admin-e2e"]);
    expect(described?.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
    expect((await errorOf(admin.createPartitions([{ topic: "admin-e2e", count: 3 }]))).errorName).toBe("INVALID_PARTITIONS");

    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([expect.objectContaining({ port: broker.port })]);

    await admin.deleteTopics(["admin-e2e"]);
    expect((await admin.listTopics()).map((t) => t.name)).not.toContain("admin-e2e");
  });

  it("pipelines sends per partition on an ordered stream and keeps every partition's records in send order", async () => {
    const partitions = 3;
    await admin.createTopics([{ name: "pipelined", partitions }]);
    // Small batches and requests: many sends per partition, several in flight at once.
    const producer = new Producer({ bootstrap: broker.bootstrap, maxInFlightPerPartition: 4, maxInFlightRequestsPerBroker: 12, batchBytes: 4096, maxRequestBytes: 8192 });
    const count = 10_000;
    const acks: Promise<{ partition: number; offset: number }>[] = [];
    for (let i = 0; i < count; i++) acks.push((await producer.enqueue({ topic: "pipelined", partition: i % partitions, value: `v-${i}` })).delivered);
    const metas = await Promise.all(acks);
    await producer.close();
    for (let i = 0; i < count; i++) expect(metas[i]).toMatchObject({ partition: i % partitions, offset: Math.floor(i / partitions) });

    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest" });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: "pipelined", partition })));
    const got: string[][] = Array.from({ length: partitions }, () => []);
    let seen = 0;
    for await (const record of consumer) {
      got[record.partition]!.push(record.value?.toString() ?? "");
      if (++seen === count) break;
    }
    await consumer.close();
    for (let p = 0; p < partitions; p++) {
      expect(got[p]).toEqual(Array.from({ length: count }, (_, i) => i).filter((i) => i % partitions === p).map((i) => `v-${i}`));
    }
  });

  it("produces 20k keyed records with headers (lz4) and consumes them back in order per partition", async () => {
    const partitions = 4;
    await admin.createTopics([{ name: "roundtrip", partitions }]);
    const producer = new Producer({ bootstrap: broker.bootstrap, compression: "lz4" });
    const count = 20_000;
    const baseTs = 1_700_000_000_000;
    const acks: Promise<{ partition: number; offset: number }>[] = [];
    for (let i = 0; i < count; i++) {
      const { delivered } = await producer.enqueue({ topic: "roundtrip", key: `user-${i % 1000}`, value: `event-${i}`, headers: { seq: String(i) }, timestamp: baseTs + i });
      acks.push(delivered);
    }
    const metas = await Promise.all(acks);
    await producer.close();

    const expected = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const p = partitionForKey(Buffer.from(`user-${i % 1000}`), partitions);
      expect(metas[i]!.partition).toBe(p);
      const list = expected.get(p) ?? [];
      expect(metas[i]!.offset).toBe(list.length);
      list.push(i);
      expected.set(p, list);
    }

    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest" });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: "roundtrip", partition })));
    const got = new Map<number, ConsumerRecord[]>();
    let seen = 0;
    for await (const record of consumer) {
      const list = got.get(record.partition) ?? [];
      list.push(record);
      got.set(record.partition, list);
      if (++seen === count) break;
    }
    await consumer.close();
    for (const [p, indexes] of expected) {
      const records = got.get(p) ?? [];
      expect(records.map((r) => r.offset)).toEqual(indexes.map((_, o) => o));
      expect(records.map((r) => r.value?.toString())).toEqual(indexes.map((i) => `event-${i}`));
      expect(records.map((r) => r.key?.toString())).toEqual(indexes.map((i) => `user-${i % 1000}`));
      expect(records.map((r) => r.headers[0]?.value?.toString())).toEqual(indexes.map(String));
      expect(records.map((r) => r.timestamp)).toEqual(indexes.map((i) => baseTs + i));
    }

    const byTime = await admin.listOffsets("roundtrip", { timestamp: baseTs + count - 100 });
    for (const result of byTime) {
      const indexes = expected.get(result.partition)!;
      const want = indexes.findIndex((i) => baseTs + i >= baseTs + count - 100);
      expect(result.offset).toBe(want);
    }
    const latest = await admin.listOffsets("roundtrip", "latest");
    expect(latest.map((o) => o.offset)).toEqual([...Array(partitions).keys()].map((p) => expected.get(p)?.length ?? 0));
  });

  it("reports a produce to a missing topic and a fetch beyond the end as typed errors", async () => {
    const producer = new Producer({ bootstrap: broker.bootstrap, metadataWaitMs: 300 });
    expect((await errorOf(producer.send({ topic: "missing-topic", value: "x" }))).errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    await producer.close();

    await admin.createTopics([{ name: "beyond", partitions: 1 }]);
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "none" });
    consumer.assign([{ topic: "beyond", partition: 0 }]);
    consumer.seek({ topic: "beyond", partition: 0 }, 10);
    const iterator = consumer[Symbol.asyncIterator]();
    expect((await errorOf(iterator.next())).errorName).toBe("OFFSET_OUT_OF_RANGE");
    await consumer.close();
  });

  it("keeps producing and consuming across a broker restart on the same port", async () => {
    const port = await freePort();
    const dataPort = await freePort();
    const dir = tempDir();
    let restarting = await startBrokerProcess({ dataDir: dir, port, dataPort });
    try {
      const restartAdmin = new Admin({ bootstrap: restarting.bootstrap });
      await restartAdmin.createTopics([{ name: "restart", partitions: 2 }]);
      await restartAdmin.close();
      const producer = new Producer({ bootstrap: restarting.bootstrap, retry: { backoffMs: 50, backoffMaxMs: 500 } });
      const consumer = new Consumer({ bootstrap: restarting.bootstrap, autoOffsetReset: "earliest", maxWaitMs: 200, retry: { backoffMs: 50, backoffMaxMs: 500 } });
      consumer.assign([0, 1].map((partition) => ({ topic: "restart", partition })));
      const before = await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ topic: "restart", partition: i % 2, value: `before-${i}` })));
      expect(before.every((m) => m.offset >= 0)).toBe(true);

      expect((await restarting.stop()).code).toBe(0);
      // Sent while the broker is down: delivered once it is back.
      const during = Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ topic: "restart", partition: i % 2, value: `during-${i}` })));
      restarting = await startBrokerProcess({ dataDir: dir, port, dataPort });
      const duringMetas = await during;
      expect(duringMetas.filter((m) => m.partition === 0).map((m) => m.offset)).toEqual(Array.from({ length: 50 }, (_, i) => 50 + i));
      await producer.close();

      const values: string[] = [];
      for await (const record of consumer) {
        values.push(record.value!.toString());
        if (values.length === 200) break;
      }
      await consumer.close();
      for (const p of [0, 1]) {
        const mine = values.filter((v) => Number(v.split("-")[1]) % 2 === p);
        expect(mine).toEqual([...Array.from({ length: 50 }, (_, i) => `before-${i * 2 + p}`), ...Array.from({ length: 50 }, (_, i) => `during-${i * 2 + p}`)]);
      }
    } finally {
      await restarting.stop();
    }
  });
});
