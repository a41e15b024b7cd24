// Proves that 100k keyed records with headers produced to a real broker process come back in
// order per partition with the acknowledged offsets, keys, values, headers and timestamps — and
// that everything acknowledged survives a clean restart (no recovery needed) and a kill -9.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromErrorInfo } from "@sluice/protocol";
import { makeDataDir, removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { RawClient } from "./raw-client.js";
import { consumeAndVerify, ledgerSize, produceRecords, type Ledger } from "./records.js";

const TOPIC = "roundtrip";
const PARTITIONS = 8;
const RECORDS = 100_000;

describe("produce → consume → restart, through the real broker process", () => {
  let dataDir: string;
  let broker: BrokerProcess | undefined;
  let client: RawClient | undefined;
  const ledger: Ledger = new Map();

  beforeAll(async () => {
    dataDir = await makeDataDir();
  });
  afterAll(async () => {
    client?.close();
    await broker?.kill9();
    await removeDataDir(dataDir);
  });

  async function restart(how: "clean" | "kill -9"): Promise<void> {
    const previous = broker;
    if (previous !== undefined) {
      // kill -9 lands while the client may still have requests in flight (crash under load).
      const exit = how === "clean" ? await previous.stop() : await previous.kill9();
      if (how === "clean") expect(exit).toEqual({ code: 0, signal: null });
      else expect(exit.signal).toBe("SIGKILL");
    }
    client?.close();
    broker = await startBrokerProcess({ dataDir });
    client = new RawClient(broker.bootstrap);
  }

  it("round-trips 100k keyed records with headers in order per partition", async () => {
    await restart("clean");
    const c = client!;
    const created = await c.createTopics({
      topics: [{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1, configs: { "segment.bytes": String(1024 * 1024) } }],
    });
    expect(fromErrorInfo(created.topics[0]?.error)).toBeNull();

    await produceRecords(c, ledger, { topic: TOPIC, partitions: PARTITIONS, from: 0, count: RECORDS, recordsPerBatch: 500, concurrency: 4 });
    expect(ledgerSize(ledger)).toBe(RECORDS);
    // Offsets per partition are exactly 0..n-1: no gaps, no duplicates.
    for (const [, offsets] of ledger) expect([...offsets.keys()].sort((a, b) => a - b)).toEqual([...Array(offsets.size).keys()]);

    const consumed = await consumeAndVerify(c, TOPIC, PARTITIONS, ledger);
    expect(consumed.reduce((n, p) => n + p.count, 0)).toBe(RECORDS);
    for (const p of consumed) expect(p.count).toBe(p.highWatermark);
  }, 240_000);

  it("keeps everything after a clean restart, which needs no recovery", async () => {
    await restart("clean");
    expect(broker!.ready["recoveredUncleanly"]).toBe(false);
    // The topic and the broker's own __consumer_offsets.
    expect(broker!.ready["topics"]).toBe(2);
    const consumed = await consumeAndVerify(client!, TOPIC, PARTITIONS, ledger);
    expect(consumed.reduce((n, p) => n + p.count, 0)).toBe(RECORDS);
  }, 240_000);

  it("keeps every acknowledged record after kill -9, even one in the middle of producing", async () => {
    await produceRecords(client!, ledger, { topic: TOPIC, partitions: PARTITIONS, from: RECORDS, count: 10_000, recordsPerBatch: 100, concurrency: 8 });
    expect(ledgerSize(ledger)).toBe(RECORDS + 10_000);
    // Keep producing and kill the broker under load: acknowledged records must survive.
    const busy = produceRecords(client!, ledger, { topic: TOPIC, partitions: PARTITIONS, from: RECORDS + 10_000, count: 400_000, recordsPerBatch: 50, concurrency: 4 }).catch(
      () => "cut off",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await restart("kill -9");
    expect(await busy).toBe("cut off");
    expect(ledgerSize(ledger)).toBeGreaterThan(RECORDS + 10_000);
    expect(broker!.ready["recoveredUncleanly"]).toBe(true);
    // __consumer_offsets' partitions are recovered too; this test is about the topic's.
    const recovered = broker!.lines.filter((l) => l.msg === "log recovered after an unclean shutdown" && l["topic"] === TOPIC);
    expect(recovered.map((l) => l["partition"]).sort()).toEqual([...Array(PARTITIONS).keys()]);
    for (const line of recovered) expect(line).toMatchObject({ topic: TOPIC, brokerId: 0, level: "warn" });
    const consumed = await consumeAndVerify(client!, TOPIC, PARTITIONS, ledger, { tolerateUnacknowledged: true });
    // Every acknowledged offset is below its partition's recovered end (and matched on the way).
    for (const [partition, offsets] of ledger) {
      const end = consumed[partition]?.count ?? 0;
      for (const offset of offsets.keys()) expect(offset).toBeLessThan(end);
    }
  }, 240_000);
});
