// Proves graceful shutdown on a real process: SIGTERM while producers are busy turns health to
// NOT_SERVING, finishes in-flight requests, exits 0, and the next start needs no recovery and has
// every acknowledged record; it also checks /metrics exposes the promised series.
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { fromErrorInfo } from "@sluice/protocol";
import { OFFSETS_TOPIC_PARTITIONS_DEFAULT } from "../../broker/src/group-runtime/limits.js";
import { makeDataDir, removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { RawClient } from "./raw-client.js";
import { consumeAndVerify, ledgerSize, produceRecords, type Ledger } from "./records.js";

const TOPIC = "busy";
const PARTITIONS = 4;

describe("graceful shutdown", () => {
  let dataDir: string | undefined;
  let broker: BrokerProcess | undefined;
  const clients: RawClient[] = [];
  // Offset → record for everything the broker acknowledged, across both tests.
  const ledger: Ledger = new Map();

  afterAll(async () => {
    for (const c of clients) c.close();
    await broker?.kill9();
    if (dataDir !== undefined) await removeDataDir(dataDir);
  });

  it("exposes RPC, topic, partition and fsync metrics on /metrics", async () => {
    dataDir = await makeDataDir();
    broker = await startBrokerProcess({ dataDir });
    const client = new RawClient(broker.bootstrap);
    clients.push(client);
    const created = await client.createTopics({ topics: [{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1, configs: {} }] });
    expect(fromErrorInfo(created.topics[0]?.error)).toBeNull();
    await produceRecords(client, ledger, { topic: TOPIC, partitions: PARTITIONS, from: 0, count: 2000, recordsPerBatch: 50, concurrency: 2 });
    await consumeAndVerify(client, TOPIC, PARTITIONS, ledger);

    const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    /** The value of the sample of `name` whose labels include `labels` (label order does not matter). */
    const sample = (name: string, labels: Record<string, string>): number | undefined => {
      for (const line of text.split("\n")) {
        const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
        if (match === null || match[1] !== name) continue;
        const have = match[2] ?? "";
        if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(match[3]);
      }
      return undefined;
    };
    expect(sample("sluice_rpc_requests_total", { method: "Produce", code: "OK", broker_id: "0" })).toBeGreaterThan(0);
    expect(sample("sluice_rpc_requests_total", { method: "CreateTopics", code: "OK" })).toBe(1);
    expect(sample("sluice_rpc_duration_seconds_count", { method: "Fetch" })).toBeGreaterThan(0);
    expect(sample("sluice_rpc_duration_seconds_bucket", { method: "Fetch", le: "+Inf" })).toBeGreaterThan(0);
    expect(sample("sluice_topic_bytes_in_total", { topic: "busy" })).toBeGreaterThan(2000 * 20);
    expect(sample("sluice_topic_bytes_out_total", { topic: "busy" })).toBeGreaterThan(2000 * 20);
    expect(sample("sluice_topic_records_in_total", { topic: "busy" })).toBe(2000);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(sample("sluice_partition_log_end_offset", { topic: "busy", partition: String(partition) })).toBe(500);
      expect(sample("sluice_partition_high_watermark", { topic: "busy", partition: String(partition) })).toBe(500);
      expect(sample("sluice_partition_log_start_offset", { topic: "busy", partition: String(partition) })).toBe(0);
      expect(sample("sluice_partition_size_bytes", { topic: "busy", partition: String(partition) })).toBeGreaterThan(500 * 20);
    }
    // One active segment per partition: the topic's and __consumer_offsets' (created at start).
    expect(sample("sluice_log_open_segments", {})).toBe(PARTITIONS + OFFSETS_TOPIC_PARTITIONS_DEFAULT);
    expect(sample("sluice_log_open_files", {})).toBeGreaterThan(0);
    expect(sample("sluice_log_fsync_duration_seconds_count", {})).toBeGreaterThan(0);
    expect(sample("sluice_fetch_waiters", {})).toBe(0);
    expect((await fetch(`http://127.0.0.1:${broker.metricsPort}/nope`)).status).toBe(404);
  }, 120_000);

  it("refuses to start a second broker on a data directory in use", async () => {
    const second = startBrokerProcess({ dataDir: dataDir! });
    await expect(second).rejects.toThrow(/exited before ready \(code 1[\s\S]*in use by another broker \(pid \d+/);
    const client = new RawClient(broker!.bootstrap);
    clients.push(client);
    expect((await client.healthCheck()).status).toBe("SERVING");
  }, 120_000);

  it("on SIGTERM while producing: NOT_SERVING, exit 0, next start clean with every acknowledged record", async () => {
    const current = broker!;
    const client = new RawClient(current.bootstrap);
    clients.push(client);

    // Watch health: the stream must report NOT_SERVING before it ends.
    const statuses: string[] = [];
    const watch = client.health.Watch({ service: "" });
    watch.on("data", (m: { status: string }) => statuses.push(m.status));
    watch.on("error", () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Producers keep going until the broker refuses them; whatever was acknowledged must survive.
    let stop = false;
    let acknowledged = 0;
    const producers = Array.from({ length: 3 }, async (_, w) => {
      for (let round = 0; !stop; round++) {
        try {
          await produceRecords(client, ledger, {
            topic: TOPIC,
            partitions: PARTITIONS,
            from: 1_000_000 * (w + 1) + round * 400,
            count: 400,
            recordsPerBatch: 25,
            concurrency: 2,
          });
          acknowledged += 400;
        } catch (error) {
          // Refused or cut off by the shutdown: expected once SIGTERM lands.
          const code = (error as grpc.ServiceError).code;
          expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.DEADLINE_EXCEEDED, undefined]).toContain(code);
          return;
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exit = await current.stop();
    stop = true;
    await Promise.all(producers);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(acknowledged).toBeGreaterThan(0);
    expect(statuses[0]).toBe("SERVING");
    expect(statuses).toContain("NOT_SERVING");
    const stopped = current.lines.find((l) => l.msg === "broker stopped");
    expect(stopped?.["shutdown"]).toBe("graceful");

    broker = await startBrokerProcess({ dataDir: dataDir! });
    expect(broker.ready["recoveredUncleanly"]).toBe(false);
    const after = new RawClient(broker.bootstrap);
    clients.push(after);
    const consumed = await consumeAndVerify(after, TOPIC, PARTITIONS, ledger);
    // Graceful: every request that was appended was also answered, so the log holds exactly the ledger.
    expect(consumed.reduce((n, p) => n + p.count, 0)).toBe(ledgerSize(ledger));
  }, 180_000);
});
