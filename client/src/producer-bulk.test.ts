// Proves the Producer's bulk API against a fault-injecting gRPC broker on loopback: sendMany /
// enqueueMany keep per-partition order (also mixed with per-record sends into the same
// batches), report each record's offset, reject only after every record settled with the
// first error's class and the failed count, wait for buffer memory in order, refuse bad input
// before admitting anything, survive a split batch, and accept an empty array.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SluiceError } from "@sluice/protocol";
import type { DeliveryFailure } from "./delivery-report.js";
import { BufferExhaustedError, ClientClosedError } from "./errors.js";
import { partitionForKey } from "./partitioner.js";
import { Producer, type ProducerOptions, type ProducerRecord } from "./producer.js";
import { FaultBroker } from "./testing/fault-broker.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(topics: Record<string, { partitions: number; maxMessageBytes?: number }>, options: Partial<ProducerOptions> = {}): Promise<{ broker: FaultBroker; producer: Producer }> {
  const broker = await FaultBroker.start(topics);
  const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 2, retry: { backoffMs: 10, backoffMaxMs: 50 }, ...options });
  cleanups.push(() => broker.stop());
  cleanups.push(() => producer.close(1_000));
  return { broker, producer };
}

describe("Producer.sendMany / enqueueMany", () => {
  it("delivers in order per partition and reports each record's offset, partition and timestamp", async () => {
    const { broker, producer } = await setup({ t: { partitions: 4 } });
    const records: ProducerRecord[] = Array.from({ length: 300 }, (_, i) => ({ topic: "t", key: `key-${i % 23}`, value: `value-${i}`, timestamp: 1_700_000_000_000 + i }));
    const report = await producer.sendMany(records);
    expect(report.count).toBe(300);
    const nextOffset = [0, 0, 0, 0];
    for (let i = 0; i < records.length; i++) {
      const expected = partitionForKey(Buffer.from(`key-${i % 23}`), 4);
      expect(report.metadata(i)).toEqual({ topic: "t", partition: expected, offset: nextOffset[expected]!++, timestamp: 1_700_000_000_000 + i });
    }
    for (let p = 0; p < 4; p++) {
      const expected = records.filter((_, i) => partitionForKey(Buffer.from(`key-${i % 23}`), 4) === p).map((r) => r.value);
      expect(broker.records("t", p).map((r) => r.value)).toEqual(expected);
    }
  });

  it("keeps order with per-record sends into the same batches, each promise answering for its own record", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { lingerMs: 10_000 });
    const first = producer.send({ topic: "t", value: "a" });
    const bulk = producer.sendMany(["b", "c", "d"].map((value) => ({ topic: "t", value })));
    const enqueued = await producer.enqueue({ topic: "t", value: "e" });
    const last = producer.send({ topic: "t", value: "f" });
    await producer.flush();
    const report = await bulk;
    expect([(await first).offset, report.metadata(0).offset, report.metadata(1).offset, report.metadata(2).offset, (await enqueued.delivered).offset, (await last).offset]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(broker.records("t", 0).map((r) => r.value)).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(broker.produceRequests).toHaveLength(1); // one batch: the bulk records sat between the others
  });

  it("rejects after every record settled when one partition fails, with the first error's class and the failed count", async () => {
    const { broker, producer } = await setup({ t: { partitions: 3 } });
    broker.faults.produce = (_topic, partition) => (partition === 1 ? new SluiceError("INVALID_RECORD", "refused by test") : undefined);
    const records: ProducerRecord[] = Array.from({ length: 90 }, (_, i) => ({ topic: "t", partition: i % 3, value: `v${i}` }));
    const error = (await producer.sendMany(records).catch((e: unknown) => e)) as DeliveryFailure;
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as unknown as SluiceError).errorName).toBe("INVALID_RECORD");
    expect(error.failedCount).toBe(30);
    // Everything else was acknowledged by then, and the report says which record is which.
    expect(broker.records("t", 0)).toHaveLength(30);
    expect(broker.records("t", 2)).toHaveLength(30);
    expect(error.report.metadata(3)).toMatchObject({ partition: 0, offset: 1 });
    expect(() => error.report.metadata(4)).toThrow(/refused by test/);
    expect(producer.bufferedBytes).toBe(0);
  });

  it("waits for buffer memory in order, holding no more than bufferMemoryBytes, and resolves once all are admitted", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { bufferMemoryBytes: 3_000, lingerMs: 0 });
    let leaderless = true;
    broker.faults.leaderless = () => leaderless;
    const records: ProducerRecord[] = Array.from({ length: 12 }, (_, i) => ({ topic: "t", value: Buffer.alloc(600, i) }));
    let admitted = false;
    const enqueued = producer.enqueueMany(records).then((e) => {
      admitted = true;
      return e;
    });
    // Memory fills up; nothing can be sent while the partition has no leader, so the call waits.
    await vi.waitFor(() => expect(producer.bufferedBytes).toBeGreaterThan(2_000));
    expect(producer.bufferedBytes).toBeLessThanOrEqual(3_000);
    const later = producer.send({ topic: "t", value: "after" }); // queued behind the bulk call
    expect(admitted).toBe(false);
    leaderless = false;
    const report = await (await enqueued).delivered;
    expect(Array.from({ length: 12 }, (_, i) => report.metadata(i).offset)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect((await later).offset).toBe(12);
  });

  it("fails the records it could not admit within maxBlockMs in `delivered`, and rejects when it admitted none", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { bufferMemoryBytes: 3_000, maxBlockMs: 200, lingerMs: 0 });
    let leaderless = true;
    broker.faults.leaderless = () => leaderless;
    const records: ProducerRecord[] = Array.from({ length: 8 }, () => ({ topic: "t", value: Buffer.alloc(600) }));
    const { delivered } = await producer.enqueueMany(records);
    // The memory is still full: a call whose first record cannot get in is refused whole.
    await expect(producer.enqueueMany(records)).rejects.toBeInstanceOf(BufferExhaustedError);
    leaderless = false;
    const error = (await delivered.catch((e: unknown) => e)) as DeliveryFailure;
    expect(error).toBeInstanceOf(BufferExhaustedError);
    const admitted = broker.records("t", 0).length;
    expect(admitted).toBeGreaterThan(0);
    expect(error.failedCount).toBe(8 - admitted);
    expect(error.report.metadata(admitted - 1).offset).toBe(admitted - 1);
    expect(() => error.report.metadata(admitted)).toThrow(BufferExhaustedError);
  });

  it("refuses a call with a bad record before admitting any, with that record's typed error", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } });
    const records = [{ topic: "t", value: "ok" }, { topic: "t", value: "v", timestamp: -1 }, { topic: "t", value: "ok" }];
    await expect(producer.enqueueMany(records)).rejects.toMatchObject({ errorName: "INVALID_TIMESTAMP" });
    await expect(producer.sendMany([{ topic: "t", value: 5 as unknown as string }])).rejects.toMatchObject({ errorName: "INVALID_RECORD" });
    expect(producer.bufferedBytes).toBe(0);
    await producer.flush();
    expect(broker.produceRequests).toHaveLength(0);
  });

  it("reports the offsets of a batch that had to be split for the topic's size limit", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1, maxMessageBytes: 2_000 } }, { batchBytes: 4_000, lingerMs: 10_000, compression: "lz4" });
    // Incompressible values (a fixed pseudo-random sequence), so compressed batches stay large.
    let state = 12345;
    const noise = (n: number): string => Array.from({ length: n }, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % 36).toString(36)).join("");
    const values = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(3, "0")}${noise(297)}`);
    const bulk = producer.sendMany(values.map((value) => ({ topic: "t", value })));
    await producer.flush();
    const report = await bulk;
    expect(broker.produceRequests[0]!.topics[0]!.partitions[0]!.records.length).toBeGreaterThan(2 * 2_000); // refused, then split
    expect(values.map((_, i) => report.metadata(i).offset)).toEqual(values.map((_, i) => i));
    expect(broker.records("t", 0).map((r) => r.value)).toEqual(values);
    for (const batch of broker.logs.get("t")![0]!) expect(batch.bytes.length).toBeLessThanOrEqual(2_000);
  });

  it("accepts an empty array, and refuses once closed", async () => {
    const { producer } = await setup({ t: { partitions: 1 } });
    const report = await producer.sendMany([]);
    expect(report.count).toBe(0);
    expect(await (await producer.enqueueMany([])).delivered).toMatchObject({ count: 0 });
    await producer.close();
    await expect(producer.sendMany([{ topic: "t", value: "late" }])).rejects.toBeInstanceOf(ClientClosedError);
  });
});
