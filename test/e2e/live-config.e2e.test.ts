// Proves AlterConfigs reaches the running partition logs at once (no broker restart): a smaller
// segment.bytes makes the log roll at the new size, and a retention.bytes set afterwards makes the
// next retention check delete old segments, which moves the partition's earliest offset forward.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, Producer } from "@sluice/client";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";

const TOPIC = "live-config";
/** 1 KiB values: 64 records per send → each send is one ~66 KiB batch. */
const VALUE = Buffer.alloc(1024, 0x61);

async function produceSends(bootstrap: string, sends: number): Promise<void> {
  const producer = new Producer({ bootstrap, acks: "all", lingerMs: 0 });
  try {
    for (let s = 0; s < sends; s++) {
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < 64; i++) batch.push(producer.send({ topic: TOPIC, partition: 0, value: VALUE }));
      await Promise.all(batch);
    }
  } finally {
    await producer.close();
  }
}

describe("AlterConfigs applies storage configs live", () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    // Retention checks every 100 ms so the test sees their effect quickly.
    broker = await startBrokerProcess({ args: ["--retention-check-interval-ms", "100"] });
  });
  afterAll(async () => {
    if (broker !== undefined) {
      await broker.stop();
      await removeDataDir(broker.dataDir);
    }
  });

  it("rolls at an altered segment.bytes and deletes by an altered retention.bytes without a restart", async () => {
    const admin = new Admin({ bootstrap: broker.bootstrap });
    try {
      await admin.createTopics([{ name: TOPIC, partitions: 1, replicationFactor: 1 }]);
      // Default segment.bytes (1 GiB): everything lands in one segment, which retention never deletes.
      await produceSends(broker.bootstrap, 4);
      await admin.alterConfigs([{ topic: TOPIC, set: { "retention.bytes": "1024" } }]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [before] = await admin.listOffsets(TOPIC, "earliest");
      expect(before?.offset).toBe(0); // only the active segment: nothing deletable yet

      // 100 KiB segments from now on: the next sends roll the log, and retention (1 KiB) may
      // then delete every segment but the active one.
      await admin.alterConfigs([{ topic: TOPIC, set: { "segment.bytes": String(100 * 1024) } }]);
      await produceSends(broker.bootstrap, 4);
      const [end] = await admin.listOffsets(TOPIC, "latest");
      expect(end?.offset).toBe(8 * 64);
      let earliest = 0;
      for (let tries = 0; tries < 100 && earliest === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        earliest = (await admin.listOffsets(TOPIC, "earliest"))[0]?.offset ?? 0;
      }
      expect(earliest).toBeGreaterThan(0);
      expect(earliest).toBeLessThanOrEqual(8 * 64);
    } finally {
      await admin.close();
    }
  });
});
