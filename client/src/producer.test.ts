// Proves the Producer against a fault-injecting gRPC broker on loopback: per-record offsets,
// Kafka-compatible key placement, sticky null-key batches, retries that keep per-partition
// order through stale-leader errors, broken streams, lost answers and too-large batches,
// back-pressure with a typed error, delivery timeouts, acks=0, compression, flush and close.
import { afterEach, describe, expect, it, vi } from "vitest";
import { BATCH_HEADER_BYTES, CompressionCodec, decodeRecordBatch, encodeRecordBatch, MessageTooLargeError, SluiceError } from "@sluice/protocol";
import { BufferExhaustedError, ClientClosedError, ConfigError, TimeoutError } from "./errors.js";
import { partitionForKey } from "./partitioner.js";
import { Producer, type ProducerOptions } from "./producer.js";
import { FaultBroker } from "./testing/fault-broker.js";

/** A fixed record timestamp, where a test depends on exact batch sizes. */
const T = 1_700_000_000_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(topics: ConstructorParameters<typeof Object>[0] = { t: { partitions: 4 } }, options: Partial<ProducerOptions> = {}): Promise<{ broker: FaultBroker; producer: Producer }> {
  const broker = await FaultBroker.start(topics as Record<string, { partitions: number; maxMessageBytes?: number }>);
  const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 2, retry: { backoffMs: 10, backoffMaxMs: 50 }, ...options });
  cleanups.push(() => broker.stop());
  cleanups.push(() => producer.close(1_000));
  return { broker, producer };
}

describe("Producer", () => {
  it("resolves each record with its offset; keyed records land where Kafka puts them, in order, with headers and timestamps", async () => {
    const { broker, producer } = await setup();
    const sent = Array.from({ length: 200 }, (_, i) => ({ key: `key-${i % 17}`, value: `value-${i}`, ts: 1_700_000_000_000 + i }));
    const results = await Promise.all(sent.map((r) => producer.send({ topic: "t", key: r.key, value: r.value, timestamp: r.ts, headers: { i: String(r.ts) } })));
    const nextOffset = [0, 0, 0, 0];
    for (const [i, result] of results.entries()) {
      const expected = partitionForKey(Buffer.from(sent[i]!.key), 4);
      expect(result.partition).toBe(expected);
      expect(result.offset).toBe(nextOffset[expected]!++);
      expect(result.timestamp).toBe(sent[i]!.ts);
    }
    for (let p = 0; p < 4; p++) {
      const stored = broker.records("t", p);
      const expected = sent.filter((r) => partitionForKey(Buffer.from(r.key), 4) === p);
      expect(stored.map((r) => [r.key, r.value, r.timestamp, r.headers["i"]])).toEqual(expected.map((r) => [r.key, r.value, r.ts, String(r.ts)]));
      expect(stored.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
    }
  });

  it("sends null-key records in sticky runs: one partition per batch, moving on when a batch fills", async () => {
    // Batches hold exactly ten such records (fixed timestamps: every delta takes one byte).
    const recordBytes = encodeRecordBatch({ records: [{ value: Buffer.alloc(100), timestamp: T }] }).length - BATCH_HEADER_BYTES;
    const { producer } = await setup({ t: { partitions: 8 } }, { batchBytes: BATCH_HEADER_BYTES + 10 * recordBytes, lingerMs: 10_000 });
    const results = await Promise.all(Array.from({ length: 100 }, () => producer.send({ topic: "t", value: Buffer.alloc(100), timestamp: T })));
    const runs: number[] = [];
    let current = -1;
    for (const r of results) {
      if (r.partition !== current) {
        runs.push(0);
        current = r.partition;
      }
      runs[runs.length - 1]!++;
    }
    expect(runs.length).toBeGreaterThan(2);
    expect(runs.every((n) => n === 10)).toBe(true);
  });

  it("honours an explicit partition over the key", async () => {
    const { broker, producer } = await setup();
    const result = await producer.send({ topic: "t", partition: 3, key: "k", value: "v" });
    expect(result.partition).toBe(3);
    expect(broker.records("t", 3).map((r) => r.value)).toEqual(["v"]);
  });

  it("retries NOT_LEADER_OR_FOLLOWER after a metadata refresh and keeps the partition's order", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { batchBytes: 61 + 5 * 140 });
    let attempts = 0;
    let refused = 0;
    broker.faults.produce = () => {
      if (attempts++ % 2 === 1) return undefined;
      refused++;
      return new SluiceError("NOT_LEADER_OR_FOLLOWER");
    };
    const metadataBefore = broker.metadataRequests;
    const values = Array.from({ length: 60 }, (_, i) => `v${i}`);
    const results = [];
    // Waves of 12 records (2-3 batches each): several sends, each refused once before it lands.
    for (let wave = 0; wave < 5; wave++) {
      const slice = values.slice(wave * 12, wave * 12 + 12);
      results.push(...(await Promise.all(slice.map((value) => producer.send({ topic: "t", value: Buffer.concat([Buffer.from(value), Buffer.alloc(90)]) })))));
    }
    expect(broker.records("t", 0).map((r) => r.value?.slice(0, r.value.indexOf("\0")))).toEqual(values);
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    expect(broker.metadataRequests).toBeGreaterThan(metadataBefore);
    expect(refused).toBeGreaterThanOrEqual(5);
  });

  it("carries a partition's queued batches in one send, appended together in order", async () => {
    const values = Array.from({ length: 50 }, (_, i) => `v${String(i).padStart(2, "0")}`);
    const valueOf = (value: string): Buffer => Buffer.concat([Buffer.from(value), Buffer.alloc(90)]);
    const recordBytes = encodeRecordBatch({ records: [{ value: valueOf(values[0]!), timestamp: T }] }).length - BATCH_HEADER_BYTES;
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { batchBytes: BATCH_HEADER_BYTES + 5 * recordBytes, lingerMs: 10_000 });
    const sent = values.map((value) => producer.send({ topic: "t", value: valueOf(value), timestamp: T }));
    await producer.flush();
    const results = await Promise.all(sent);
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    // Ten full batches, one partition entry of one request.
    expect(broker.produceRequests).toHaveLength(1);
    expect(broker.logs.get("t")![0]!.length).toBe(10);
  });

  it("fails records at once on a non-retriable error, with that error", async () => {
    const { broker, producer } = await setup();
    broker.faults.produce = () => new SluiceError("INVALID_RECORD", "refused by test");
    const error = await producer.send({ topic: "t", partition: 0, value: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).errorName).toBe("INVALID_RECORD");
    expect(broker.produceRequests).toHaveLength(1);
  });

  it("splits a batch the broker finds too large until the halves fit, preserving order", async () => {
    // Four ~3.5 KiB batches leave together in one send: refused, then one at a time, then halved.
    const { broker, producer } = await setup({ t: { partitions: 1, maxMessageBytes: 2_000 } }, { batchBytes: 4_000, lingerMs: 10_000 });
    const values = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(3, "0")}${"x".repeat(297)}`);
    const sent = values.map((value) => producer.send({ topic: "t", value }));
    await producer.flush();
    const results = await Promise.all(sent);
    expect(broker.produceRequests[0]!.topics[0]!.partitions[0]!.records.length).toBeGreaterThan(3 * 3_000);
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    expect(broker.records("t", 0).map((r) => r.value)).toEqual(values);
    for (const batch of broker.logs.get("t")![0]!) expect(batch.bytes.length).toBeLessThanOrEqual(2_000);
  });

  it("rejects a single record larger than the topic accepts with MESSAGE_TOO_LARGE", async () => {
    const { producer } = await setup({ t: { partitions: 1, maxMessageBytes: 1_000 } });
    const error = await producer.send({ topic: "t", value: Buffer.alloc(5_000) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).errorName).toBe("MESSAGE_TOO_LARGE");
  });

  it("survives a broken produce stream: in-flight batches are retried on a new stream", async () => {
    const { broker, producer } = await setup({ t: { partitions: 2 } });
    let requests = 0;
    broker.faults.produceAnswer = () => (requests++ === 0 ? "break" : "answer");
    const values = Array.from({ length: 50 }, (_, i) => `v${i}`);
    const results = await Promise.all(values.map((value, i) => producer.send({ topic: "t", partition: i % 2, value })));
    expect(results).toHaveLength(50);
    expect(requests).toBeGreaterThan(1);
    // At-least-once: the broken request may have been appended before the stream died.
    for (const p of [0, 1]) {
      const stored = broker.records("t", p).map((r) => r.value);
      const expected = values.filter((_, i) => i % 2 === p);
      const firstSeen = stored.filter((v, i) => stored.indexOf(v) === i);
      expect(firstSeen).toEqual(expected);
    }
  });

  it("retries a request whose answer never comes, after the request timeout", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { requestTimeoutMs: 300 });
    let requests = 0;
    broker.faults.produceAnswer = () => (requests++ === 0 ? "drop" : "answer");
    const result = await producer.send({ topic: "t", value: "once" });
    expect(requests).toBe(2);
    // The dropped request was appended, so the retry is a duplicate (no idempotence yet).
    expect(broker.records("t", 0).map((r) => r.value)).toEqual(["once", "once"]);
    expect(result.offset).toBe(1);
  });

  it("falls back to unary Produce when the broker has no ProduceStream", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } });
    broker.faults.produceStream = false;
    const results = await Promise.all([1, 2, 3].map((i) => producer.send({ topic: "t", value: `v${i}` })));
    expect(results.map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it("uses unary Produce when asked to", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { useProduceStream: false });
    broker.faults.produceStream = false;
    expect((await producer.send({ topic: "t", value: "v" })).offset).toBe(0);
  });

  it("applies back-pressure: enqueue waits for memory and fails with BufferExhaustedError after maxBlockMs", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { bufferMemoryBytes: 1_000, maxBlockMs: 300, lingerMs: 0 });
    let leaderless = true;
    broker.faults.leaderless = () => leaderless;
    const first = await producer.enqueue({ topic: "t", value: Buffer.alloc(600) });
    expect(producer.bufferedBytes).toBeGreaterThan(600);
    const blocked = producer.enqueue({ topic: "t", value: Buffer.alloc(600) });
    await expect(blocked).rejects.toBeInstanceOf(BufferExhaustedError);
    expect(producer.bufferedBytes).toBeLessThan(1_000);
    // Memory comes back once the first record is delivered; a waiting enqueue then goes through.
    const waiting = producer.enqueue({ topic: "t", value: Buffer.alloc(600) });
    leaderless = false;
    expect((await first.delivered).offset).toBe(0);
    expect((await (await waiting).delivered).offset).toBe(1);
  });

  it("rejects records that could not be delivered within deliveryTimeoutMs with TimeoutError", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { deliveryTimeoutMs: 300 });
    broker.faults.leaderless = () => true;
    const error = await producer.send({ topic: "t", value: "v" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(producer.bufferedBytes).toBe(0);
  });

  it("with acks=0 resolves without waiting for offsets (offset -1), and the records arrive", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { acks: 0 });
    const results = await Promise.all([1, 2, 3].map((i) => producer.send({ topic: "t", value: `v${i}` })));
    expect(results.map((r) => r.offset)).toEqual([-1, -1, -1]);
    await vi.waitFor(() => expect(broker.records("t", 0)).toHaveLength(3));
  });

  it.each(["gzip", "snappy", "lz4", "zstd"] as const)("compresses batches with %s", async (codec) => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { compression: codec });
    const values = Array.from({ length: 50 }, (_, i) => `compressible value ${i} `.repeat(20));
    await Promise.all(values.map((value) => producer.send({ topic: "t", value })));
    const batches = broker.logs.get("t")![0]!;
    for (const batch of batches) expect(decodeRecordBatch(batch.bytes).compression).toBe(CompressionCodec[codec]);
    expect(broker.records("t", 0).map((r) => r.value)).toEqual(values);
    const stored = batches.reduce((n, b) => n + b.bytes.length, 0);
    expect(stored).toBeLessThan(values.join("").length / 2);
  });

  it("holds a partial batch for lingerMs; flush() sends it at once", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { lingerMs: 10_000 });
    const delivered = producer.send({ topic: "t", value: "v" });
    await new Promise((r) => setTimeout(r, 100));
    expect(broker.produceRequests).toHaveLength(0);
    await producer.flush();
    expect(broker.produceRequests).toHaveLength(1);
    expect((await delivered).offset).toBe(0);
  });

  it("close() delivers what is buffered, then refuses new records with ClientClosedError", async () => {
    const { broker, producer } = await setup({ t: { partitions: 1 } }, { lingerMs: 10_000 });
    const delivered = producer.send({ topic: "t", value: "v" });
    await producer.close();
    expect((await delivered).offset).toBe(0);
    expect(broker.records("t", 0)).toHaveLength(1);
    await expect(producer.send({ topic: "t", value: "late" })).rejects.toBeInstanceOf(ClientClosedError);
  });

  it("rejects unknown topics and partitions with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const { producer } = await setup({ t: { partitions: 2 } }, { metadataWaitMs: 200 });
    const unknownTopic = await producer.send({ topic: "nope", value: "v" }).catch((e: unknown) => e);
    expect((unknownTopic as SluiceError).errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    const unknownPartition = await producer.send({ topic: "t", partition: 2, value: "v" }).catch((e: unknown) => e);
    expect((unknownPartition as SluiceError).errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("rejects bad records and bad options with typed errors", async () => {
    const { producer } = await setup();
    await expect(producer.send({ topic: "", value: "v" })).rejects.toMatchObject({ errorName: "INVALID_TOPIC_EXCEPTION" });
    await expect(producer.send({ topic: "t", value: "v", timestamp: -5 })).rejects.toMatchObject({ errorName: "INVALID_TIMESTAMP" });
    await expect(producer.send({ topic: "t", value: Buffer.alloc(17 * 1024 * 1024) })).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(() => new Producer({ bootstrap: "127.0.0.1:1", acks: 2 as never })).toThrow(ConfigError);
    expect(() => new Producer({ bootstrap: "127.0.0.1:1", compression: "brotli" as never })).toThrow(ConfigError);
    expect(() => new Producer({ bootstrap: "127.0.0.1:1", lingerMs: -1 })).toThrow(ConfigError);
    expect(() => new Producer({ bootstrap: "nohost" })).toThrow(ConfigError);
  });
});
