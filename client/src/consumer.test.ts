// Proves the Consumer against a fault-injecting gRPC broker on loopback: it reads every record
// in order with offsets, keys, headers and timestamps; seeks (offset, beginning, end, time)
// land exactly; pause/resume loses and repeats nothing; fetches are pipelined; retriable fetch
// errors are invisible; offset resets follow autoOffsetReset; corrupt data is a typed error.
import { afterEach, describe, expect, it, vi } from "vitest";
import { CorruptRecordError, OffsetOutOfRangeError, SluiceError } from "@sluice/protocol";
import { Consumer, type ConsumerOptions, type ConsumerRecord } from "./consumer.js";
import { ClientClosedError, NoOffsetError } from "./errors.js";
import { Producer } from "./producer.js";
import { FaultBroker, type FaultTopic } from "./testing/fault-broker.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(topics: Record<string, FaultTopic>, options: Partial<ConsumerOptions> = {}): Promise<{ broker: FaultBroker; producer: Producer; consumer: Consumer }> {
  const broker = await FaultBroker.start(topics);
  const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 1, batchBytes: 4096 });
  const consumer = new Consumer({ bootstrap: broker.bootstrap, maxWaitMs: 100, retry: { backoffMs: 10, backoffMaxMs: 50 }, ...options });
  cleanups.push(() => broker.stop());
  cleanups.push(() => producer.close(1_000));
  cleanups.push(() => consumer.close());
  return { broker, producer, consumer };
}

async function produce(producer: Producer, topic: string, partition: number, count: number, from = 0, timestamp?: (i: number) => number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, j) => {
      const i = from + j;
      return producer.send({ topic, partition, key: `k${i}`, value: `v${i}`, headers: { n: String(i) }, ...(timestamp === undefined ? {} : { timestamp: timestamp(i) }) });
    }),
  );
}

async function take(consumer: Consumer, count: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  if (count === 0) return out;
  for await (const record of consumer) {
    out.push(record);
    if (out.length === count) break;
  }
  return out;
}

const values = (records: readonly ConsumerRecord[]): string[] => records.map((r) => r.value?.toString() ?? "null");

describe("Consumer", () => {
  it("reads all records of its partitions in order, with offsets, keys, headers and timestamps", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 3 } }, { autoOffsetReset: "earliest" });
    for (let p = 0; p < 3; p++) await produce(producer, "t", p, 300, p * 1000, (i) => 1_700_000_000_000 + i);
    consumer.assign([0, 1, 2].map((partition) => ({ topic: "t", partition })));
    const records = await take(consumer, 900);
    for (let p = 0; p < 3; p++) {
      const mine = records.filter((r) => r.partition === p);
      expect(mine.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(mine.map((r) => r.key?.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `k${p * 1000 + i}`));
      expect(mine.map((r) => r.headers[0]?.value?.toString())).toEqual(Array.from({ length: 300 }, (_, i) => String(p * 1000 + i)));
      expect(mine.map((r) => r.timestamp)).toEqual(Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + p * 1000 + i));
      expect(consumer.position({ topic: "t", partition: p })).toBe(300);
      expect(consumer.highWatermark({ topic: "t", partition: p })).toBe(300);
    }
  });

  it("seeks to an offset inside a batch and yields from exactly there", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } });
    await produce(producer, "t", 0, 100);
    consumer.assign([{ topic: "t", partition: 0 }]);
    consumer.seek({ topic: "t", partition: 0 }, 37);
    const records = await take(consumer, 5);
    expect(records.map((r) => r.offset)).toEqual([37, 38, 39, 40, 41]);
    consumer.seek({ topic: "t", partition: 0 }, 3);
    expect((await take(consumer, 1))[0]?.offset).toBe(3);
  });

  it("continues after the last yielded record when a loop is left mid-batch and iterated again", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "earliest" });
    await produce(producer, "t", 0, 50);
    consumer.assign([{ topic: "t", partition: 0 }]);
    const first = await take(consumer, 7);
    const second = await take(consumer, 43);
    expect([...first, ...second].map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("seekToBeginning, seekToEnd and seekToTimestamp use the broker's offsets", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } });
    await produce(producer, "t", 0, 20, 0, (i) => 1_000_000 + i * 10);
    const tp = { topic: "t", partition: 0 };
    consumer.assign([tp]);
    await consumer.seekToTimestamp(1_000_055);
    expect(consumer.position(tp)).toBe(6);
    expect((await take(consumer, 1))[0]?.timestamp).toBe(1_000_060);
    await consumer.seekToBeginning();
    expect(consumer.position(tp)).toBe(0);
    await consumer.seekToEnd();
    expect(consumer.position(tp)).toBe(20);
    await consumer.seekToTimestamp(9_000_000); // after every record: the end
    expect(consumer.position(tp)).toBe(20);
    const next = take(consumer, 2);
    await produce(producer, "t", 0, 2, 20);
    expect(values(await next)).toEqual(["v20", "v21"]);
  });

  it("starts partitions without a position per autoOffsetReset: latest skips old records", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "latest" });
    await produce(producer, "t", 0, 10);
    consumer.assign([{ topic: "t", partition: 0 }]);
    await vi.waitFor(() => expect(consumer.position({ topic: "t", partition: 0 })).toBe(10));
    const next = take(consumer, 1);
    await produce(producer, "t", 0, 1, 10);
    expect(values(await next)).toEqual(["v10"]);
  });

  it("with autoOffsetReset none, iteration throws NoOffsetError until a seek", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "none" });
    await produce(producer, "t", 0, 3);
    consumer.assign([{ topic: "t", partition: 0 }]);
    await expect(take(consumer, 1)).rejects.toBeInstanceOf(NoOffsetError);
    consumer.seek({ topic: "t", partition: 0 }, 1);
    expect(values(await take(consumer, 2))).toEqual(["v1", "v2"]);
  });

  it("an offset beyond the log end throws OffsetOutOfRangeError with policy none, and resets with earliest", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "none" });
    await produce(producer, "t", 0, 5);
    const tp = { topic: "t", partition: 0 };
    consumer.assign([tp]);
    consumer.seek(tp, 50);
    const error = await take(consumer, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OffsetOutOfRangeError);
    expect(error).toMatchObject({ offset: 50, logEndOffset: 5 });

    const resetting = new Consumer({ bootstrap: consumer.cluster.metadata.allBrokers()[0]!.address, autoOffsetReset: "earliest", maxWaitMs: 100 });
    cleanups.push(() => resetting.close());
    resetting.assign([tp]);
    resetting.seek(tp, 50);
    expect(values(await take(resetting, 2))).toEqual(["v0", "v1"]);
  });

  it("pause stops a partition without losing or repeating records; resume continues where it stopped", async () => {
    const { producer, consumer } = await setup({ a: { partitions: 1 }, b: { partitions: 1 } }, { autoOffsetReset: "earliest" });
    await produce(producer, "a", 0, 100);
    await produce(producer, "b", 0, 100, 1000);
    const a = { topic: "a", partition: 0 };
    const b = { topic: "b", partition: 0 };
    consumer.assign([a, b]);
    const seen: ConsumerRecord[] = [];
    for await (const record of consumer) {
      seen.push(record);
      if (record.topic === "a" && record.offset === 9) consumer.pause([a]);
      if (seen.filter((r) => r.topic === "b").length === 100) break;
    }
    expect(consumer.paused()).toEqual([a]);
    expect(seen.filter((r) => r.topic === "a").map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    consumer.resume([a]);
    const rest = await take(consumer, 90);
    expect(rest.every((r) => r.topic === "a")).toBe(true);
    expect(rest.map((r) => r.offset)).toEqual(Array.from({ length: 90 }, (_, i) => i + 10));
  });

  it("pipelines fetches: the next Fetch is issued while fetched records are still unconsumed", async () => {
    const { broker, producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "earliest", partitionMaxBytes: 8 * 1024 });
    await produce(producer, "t", 0, 2000);
    consumer.assign([{ topic: "t", partition: 0 }]);
    const iterator = consumer[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.offset).toBe(0);
    const fetchesAfterFirst = broker.fetchRequests;
    // Without pulling another record, the consumer has already asked for more.
    await vi.waitFor(() => expect(broker.fetchRequests).toBeGreaterThan(fetchesAfterFirst));
    let expected = 1;
    for (;;) {
      const next = await iterator.next();
      expect(next.value?.offset).toBe(expected++);
      if (expected === 2000) break;
    }
    await iterator.return?.();
  });

  it("retries retriable fetch errors invisibly, refreshing metadata", async () => {
    const { broker, producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "earliest" });
    await produce(producer, "t", 0, 30);
    let calls = 0;
    broker.faults.fetch = () => (calls++ < 3 ? new SluiceError("NOT_LEADER_OR_FOLLOWER") : undefined);
    const metadataBefore = broker.metadataRequests;
    consumer.assign([{ topic: "t", partition: 0 }]);
    expect((await take(consumer, 30)).map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(calls).toBeGreaterThan(3);
    expect(broker.metadataRequests).toBeGreaterThan(metadataBefore);
  });

  it("throws a non-retriable fetch error from iteration", async () => {
    const { broker, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "earliest" });
    broker.faults.fetch = () => new SluiceError("INVALID_FETCH_SIZE", "injected");
    consumer.assign([{ topic: "t", partition: 0 }]);
    await expect(take(consumer, 1)).rejects.toMatchObject({ errorName: "INVALID_FETCH_SIZE" });
  });

  it("reports corrupt fetched data as CorruptRecordError", async () => {
    const { broker, producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "earliest" });
    await produce(producer, "t", 0, 5);
    const stored = broker.logs.get("t")![0]![0]!;
    stored.bytes[stored.bytes.length - 1]! ^= 0xff; // flip a record byte: the CRC no longer matches
    consumer.assign([{ topic: "t", partition: 0 }]);
    await expect(take(consumer, 1)).rejects.toBeInstanceOf(CorruptRecordError);
  });

  it("fails iteration for a topic that does not exist, after metadataWaitMs", async () => {
    const { consumer } = await setup({ t: { partitions: 1 } }, { metadataWaitMs: 200 });
    consumer.assign([{ topic: "missing", partition: 0 }]);
    await expect(take(consumer, 1)).rejects.toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION" });
  });

  it("ends iteration on close() and refuses to be used afterwards", async () => {
    const { consumer } = await setup({ t: { partitions: 1 } });
    consumer.assign([{ topic: "t", partition: 0 }]);
    const pending = take(consumer, 1);
    await new Promise((r) => setTimeout(r, 50));
    await consumer.close();
    expect(await pending).toEqual([]);
    expect(() => consumer.assign([{ topic: "t", partition: 0 }])).toThrow(ClientClosedError);
  });

  it("yields whole batches through batches()", async () => {
    const { producer, consumer } = await setup({ t: { partitions: 1 } }, { autoOffsetReset: "earliest" });
    await produce(producer, "t", 0, 100);
    consumer.assign([{ topic: "t", partition: 0 }]);
    consumer.seek({ topic: "t", partition: 0 }, 10);
    const offsets: number[] = [];
    for await (const batch of consumer.batches()) {
      offsets.push(...batch.records.map((r) => r.offset));
      if (offsets.length >= 90) break;
    }
    expect(offsets).toEqual(Array.from({ length: 90 }, (_, i) => i + 10));
    expect(consumer.position({ topic: "t", partition: 0 })).toBe(100);
  });
});
