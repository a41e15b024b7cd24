// Proves a topic created with cleanup.policy=compact is compacted by the running broker: after
// many updates to a few keys, reading the partition from the beginning returns fewer records,
// still in offset order, with the latest value of every key, and the log end is unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, Consumer, Producer } from "@sluice/client";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";

const TOPIC = "compacted";
const KEYS = 10;
const ROUNDS = 60;

interface Seen {
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

async function readAll(bootstrap: string, endOffset: number): Promise<Seen[]> {
  const consumer = new Consumer({ bootstrap, autoOffsetReset: "earliest", maxWaitMs: 50 });
  const seen: Seen[] = [];
  try {
    consumer.assign([{ topic: TOPIC, partition: 0 }]);
    for await (const record of consumer) {
      seen.push({ offset: record.offset, key: record.key?.toString() ?? "", value: record.value?.toString() ?? "" });
      if (record.offset >= endOffset - 1) break;
    }
  } finally {
    await consumer.close();
  }
  return seen;
}

describe("compacted topics", () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await startBrokerProcess({ args: ["--cleaner-check-interval-ms", "100"] });
  });
  afterAll(async () => {
    if (broker !== undefined) {
      await broker.stop();
      await removeDataDir(broker.dataDir);
    }
  });

  it("keeps the latest record per key and never reorders offsets", async () => {
    const admin = new Admin({ bootstrap: broker.bootstrap });
    const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0 });
    try {
      await admin.createTopics([
        { name: TOPIC, partitions: 1, replicationFactor: 1, configs: { "cleanup.policy": "compact", "segment.bytes": "2048", "min.compaction.lag.ms": "0" } },
      ]);
      const latest = new Map<string, string>();
      for (let round = 0; round < ROUNDS; round++) {
        const sends: Promise<unknown>[] = [];
        for (let k = 0; k < KEYS; k++) {
          const key = `key-${k}`;
          const value = `value-${round}-${k}-${"x".repeat(40)}`;
          latest.set(key, value);
          sends.push(producer.send({ topic: TOPIC, partition: 0, key: Buffer.from(key), value: Buffer.from(value) }));
        }
        await Promise.all(sends);
      }
      const total = KEYS * ROUNDS;
      const [end] = await admin.listOffsets(TOPIC, "latest");
      expect(end?.offset).toBe(total);

      let seen = await readAll(broker.bootstrap, total);
      for (let tries = 0; tries < 100 && seen.length >= total / 2; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        seen = await readAll(broker.bootstrap, total);
      }
      expect(seen.length).toBeLessThan(total / 2);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.offset).toBeGreaterThan(seen[i - 1]!.offset);
      const lastValue = new Map<string, string>();
      for (const record of seen) lastValue.set(record.key, record.value);
      expect(lastValue).toEqual(latest);
      const [endAfter] = await admin.listOffsets(TOPIC, "latest");
      expect(endAfter?.offset).toBe(total);
    } finally {
      await producer.close();
      await admin.close();
    }
  });
});
