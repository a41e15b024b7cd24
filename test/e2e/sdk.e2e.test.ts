// Proves the client SDK and the real broker process work together: keyed records with headers
// produced by the Producer (murmur2 partitioning, ProduceStream, acks=all) are read back by the
// Consumer in order per partition with their offsets, keys, headers and timestamps, and the Admin
// client sees the topic the way the broker stores it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, Consumer, partitionForKey, Producer } from "@sluice/client";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";

const TOPIC = "sdk-roundtrip";
const PARTITIONS = 6;
const RECORDS = 20_000;
const BASE_TIMESTAMP_MS = 1_700_000_000_000;

describe("client SDK against the broker process", () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await startBrokerProcess();
  });
  afterAll(async () => {
    if (broker !== undefined) {
      await broker.kill9();
      await removeDataDir(broker.dataDir);
    }
  });

  it("creates, produces, consumes and describes", async () => {
    const admin = new Admin({ bootstrap: broker.bootstrap });
    try {
      await admin.createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1, configs: { "retention.ms": "86400000" } }]);
      const [described] = await admin.describeTopics([TOPIC]);
      expect(described?.partitions).toHaveLength(PARTITIONS);
    } finally {
      await admin.close();
    }

    const producer = new Producer({ bootstrap: broker.bootstrap, acks: "all", lingerMs: 2 });
    const acknowledged = new Map<string, { partition: number; offset: number }>();
    try {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < RECORDS; i++) {
        const key = `user-${i % 977}`;
        sends.push(
          producer
            .send({ topic: TOPIC, key, value: `event-${i}`, headers: { seq: String(i), source: "e2e" }, timestamp: BASE_TIMESTAMP_MS + i })
            .then((meta) => {
              acknowledged.set(String(i), { partition: meta.partition, offset: meta.offset });
            }),
        );
      }
      await Promise.all(sends);
      await producer.flush();
    } finally {
      await producer.close();
    }
    expect(acknowledged.size).toBe(RECORDS);
    // Same key → same partition, the one Kafka's murmur2 partitioner picks.
    for (let i = 0; i < 977; i++) expect(acknowledged.get(String(i))?.partition).toBe(partitionForKey(Buffer.from(`user-${i}`), PARTITIONS));

    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest", maxWaitMs: 200 });
    const next = new Array<number>(PARTITIONS).fill(0);
    let seen = 0;
    try {
      consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
      for await (const record of consumer) {
        expect(record.offset).toBe(next[record.partition]);
        next[record.partition] = record.offset + 1;
        const seq = record.headers.find((h) => h.key === "seq")?.value?.toString() ?? "";
        expect(record.value?.toString()).toBe(`event-${seq}`);
        expect(record.key?.toString()).toBe(`user-${Number(seq) % 977}`);
        expect(record.timestamp).toBe(BASE_TIMESTAMP_MS + Number(seq));
        expect(acknowledged.get(seq)).toEqual({ partition: record.partition, offset: record.offset });
        if (++seen === RECORDS) break;
      }
    } finally {
      await consumer.close();
    }
    expect(seen).toBe(RECORDS);
  }, 180_000);
});
