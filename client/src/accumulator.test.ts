// Proves the accumulator encodes records into batches as they arrive, filling a batch by exact
// encoded size (the same bytes encodeRecordBatch writes) and by linger time under an injected
// clock, keeps at most one batch per partition in flight (or up to the asked number of sends,
// none while the partition is blocked), puts retried batches back at the head (so order
// holds), that a batch's size bounds its encoding and its buffer stays within twice its size,
// and that a busy partition's next batch starts in an idle reusable buffer.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BATCH_HEADER_BYTES, CompressionCodec, decodeRecordBatch, encodeRecordBatch, type CompressionCodecId, type RecordInput } from "@sluice/protocol";
import { APPENDED_CLOSED_FULL, APPENDED_NEW_BATCH, estimateRecordBytes, ProducerBatch, RecordAccumulator, type AccumulatorOptions } from "./accumulator.js";
import { BatchBufferPool } from "./batch-buffer-pool.js";
import { RECORD_OVERHEAD_BYTES_MAX } from "./limits.js";

const record = (bytes: number, timestamp = 1_000): RecordInput => ({ key: null, value: Buffer.alloc(bytes, 1), timestamp });

/** Encoded bytes of record(100) in a batch (its timestamp delta and offset delta take a byte each). */
const R = encodeRecordBatch({ records: [record(100)] }).length - BATCH_HEADER_BYTES;
/** batchBytes that hold exactly `n` records of record(100). */
const holding = (n: number): number => BATCH_HEADER_BYTES + n * R;

const accumulator = (options: Partial<AccumulatorOptions> & { batchBytes: number; lingerMs: number }): RecordAccumulator =>
  new RecordAccumulator({ compression: CompressionCodec.none, ...options });

function appendRecord(acc: RecordAccumulator, topic: string, partition: number, r: RecordInput, nowMs: number): number {
  return acc.append(topic, partition, r.timestamp ?? nowMs, r.key, r.value, r.headers, estimateRecordBytes(r), nowMs);
}

function appendN(acc: RecordAccumulator, topic: string, partition: number, n: number, bytes: number, nowMs: number): void {
  for (let i = 0; i < n; i++) appendRecord(acc, topic, partition, record(bytes), nowMs);
}

const format = { compression: CompressionCodec.none, limitBytes: 10_000 } as const;

describe("RecordAccumulator", () => {
  it("fills a batch with as many records as their exact sizes allow, closing it as soon as the next would not fit", () => {
    const acc = accumulator({ batchBytes: 1000, lingerMs: 50 });
    const r = record(100);
    const perBatch = Math.floor((1000 - BATCH_HEADER_BYTES) / R);
    const flags = Array.from({ length: perBatch + 1 }, () => appendRecord(acc, "t", 0, r, 0));
    // The batch closes on its last record (another would not fit), not on the overflowing one.
    expect(flags.map((f) => (f & APPENDED_CLOSED_FULL) !== 0)).toEqual(flags.map((_, i) => i === perBatch - 1));
    expect(acc.size).toBe(2);
    const queue = acc.queue("t", 0);
    const [full, next] = queue.batches;
    expect(full!.recordCount).toBe(perBatch);
    expect(full!.closed).toBe(true);
    expect(next!.recordCount).toBe(1);
    expect(full!.sizeBytes).toBe(BATCH_HEADER_BYTES + perBatch * R);
    // Encoded on append: the same bytes the list encoder writes for those records.
    expect(full!.finish().equals(encodeRecordBatch({ records: Array.from({ length: perBatch }, () => r) }))).toBe(true);
  });

  it("holds a partial batch for lingerMs, then reports it ready", () => {
    const acc = accumulator({ batchBytes: 100_000, lingerMs: 20 });
    appendN(acc, "t", 3, 5, 10, 1000);
    expect(acc.ready(1000, false)).toEqual({ ready: [], nextReadyMs: 1020 });
    expect(acc.ready(1019, false).ready).toHaveLength(0);
    const atLinger = acc.ready(1020, false);
    expect(atLinger.ready.map((q) => q.partition)).toEqual([3]);
  });

  it("sends at once a full batch, a queue with several batches, or anything when told to", () => {
    const acc = accumulator({ batchBytes: 500, lingerMs: 1_000 });
    appendN(acc, "t", 0, 10, 100, 0); // several batches
    appendN(acc, "t", 1, 1, 10, 0); // small, lingering
    const now = acc.ready(0, false);
    expect(now.ready.map((q) => q.partition)).toEqual([0]);
    expect(now.nextReadyMs).toBe(1_000);
    expect(acc.ready(0, true).ready.map((q) => q.partition).sort()).toEqual([0, 1]);
  });

  it("puts a record larger than batchBytes in a batch of its own", () => {
    const acc = accumulator({ batchBytes: 200, lingerMs: 1_000 });
    appendN(acc, "t", 0, 1, 10, 0);
    const flags = appendRecord(acc, "t", 0, record(1_000), 0);
    expect(flags).toBe(APPENDED_NEW_BATCH | APPENDED_CLOSED_FULL);
    expect(acc.queue("t", 0).batches.map((b) => b.recordCount)).toEqual([1, 1]);
  });

  it("keeps one send per partition in flight and hands out batches in creation order", () => {
    const acc = accumulator({ batchBytes: holding(2), lingerMs: 0 });
    appendN(acc, "t", 0, 6, 100, 0); // 3 batches of 2 records
    const queue = acc.queue("t", 0);
    const all = [...queue.batches];
    const first = acc.drain(queue, 1); // budget below one batch: still takes one
    expect(first).toEqual([all[0]]);
    expect(acc.ready(10, true).ready).toHaveLength(0); // partition 0 is in flight
    expect(acc.complete(queue)).toEqual(first);
    const rest = acc.drain(acc.ready(10, true).ready[0]!, 10_000);
    expect(rest).toEqual([all[1], all[2]]);
    acc.complete(queue);
    expect(acc.size).toBe(0);
  });

  it("drains as many head batches as fit the byte budget", () => {
    const acc = accumulator({ batchBytes: holding(2), lingerMs: 0 });
    appendN(acc, "t", 0, 8, 100, 0); // 4 batches of holding(2) bytes
    const queue = acc.queue("t", 0);
    expect(acc.drain(queue, 2 * holding(2) + 1)).toHaveLength(2);
    acc.giveBack(queue);
    expect(queue.batches).toHaveLength(4);
    expect(acc.drain(queue, 10_000)).toHaveLength(4);
  });

  it("puts a retried send back at the head, whole and in order, ready only after its backoff", () => {
    const acc = accumulator({ batchBytes: holding(2), lingerMs: 0 });
    appendN(acc, "t", 0, 6, 100, 0);
    const queue = acc.queue("t", 0);
    const sent = acc.drain(queue, 2 * holding(2) + 1);
    expect(sent).toHaveLength(2);
    appendN(acc, "t", 0, 1, 100, 5);
    acc.retry(queue, sent, 500);
    expect(queue.batches.slice(0, 2)).toEqual(sent);
    expect(acc.ready(499, true)).toEqual({ ready: [], nextReadyMs: 500 });
    expect(acc.ready(500, false).ready).toEqual([queue]);
    expect(acc.drain(queue, 2 * holding(2) + 1)).toEqual(sent);
  });

  it("sends one batch at a time while singleBatchSends lasts, and replaces a batch by its split halves", () => {
    const acc = accumulator({ batchBytes: 10_000, lingerMs: 0 });
    appendN(acc, "t", 0, 4, 10, 0);
    const queue = acc.queue("t", 0);
    const [batch] = acc.drain(queue, 100_000);
    const a = new ProducerBatch("t", 0, 0, format);
    const b = new ProducerBatch("t", 0, 0, format);
    acc.retry(queue, [a, b], 0, 2);
    expect(queue.batches).toEqual([a, b]);
    expect(acc.size).toBe(2);
    expect(batch).toBeDefined();
    expect(acc.drain(queue, 100_000)).toEqual([a]);
    acc.complete(queue);
    expect(acc.drain(queue, 100_000)).toEqual([b]);
    acc.complete(queue);
    expect(acc.size).toBe(0);
  });

  it("lets up to maxInFlight sends per partition leave, none while blocked, and re-queues them all in order", () => {
    const acc = accumulator({ batchBytes: holding(2), lingerMs: 0 });
    appendN(acc, "t", 0, 8, 100, 0); // four full batches (the last one closes on the eighth record)
    const queue = acc.queue("t", 0);
    const all = [...queue.batches];
    const sends = [];
    for (let i = 0; i < 3; i++) {
      expect(acc.ready(0, true, 3).ready).toEqual([queue]);
      sends.push(acc.drain(queue, 1)); // one batch per send
    }
    expect(acc.ready(0, true, 3).ready).toEqual([]); // three in flight: the cap
    expect(acc.ready(0, true, 4).ready).toEqual([queue]);
    queue.blocked = true;
    expect(acc.ready(0, true, 4).ready).toEqual([]);
    expect(queue.inFlight).toEqual(sends);
    acc.retry(queue, sends.flat(), 0);
    expect(queue.blocked).toBe(false);
    expect(queue.inFlight).toEqual([]);
    expect(queue.batches).toEqual(all);
    expect(acc.size).toBe(all.length);
  });

  it("expires queued batches older than the cut-off, never in-flight ones", () => {
    const acc = accumulator({ batchBytes: holding(2), lingerMs: 0 });
    appendN(acc, "t", 0, 2, 100, 100); // batch created at 100, full
    appendN(acc, "t", 0, 1, 100, 200); // batch created at 200
    appendN(acc, "t", 1, 1, 100, 100);
    const [inFlight] = acc.drain(acc.queue("t", 1), 10_000);
    expect(acc.oldestQueuedMs()).toBe(100);
    const expired = acc.expire(150);
    expect(expired.map((b) => [b.partition, b.createdMs])).toEqual([[0, 100]]);
    expect(acc.size).toBe(2);
    expect([...acc.all()]).toContain(inFlight);
  });

  it("bounds the encoded size by sizeBytes and keeps records within batchBytes, with and without compression", () => {
    const recordArb = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 2_000 }), { nil: null }),
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: fc.option(fc.uint8Array({ maxLength: 50 }), { nil: null }) }), { maxLength: 4 }),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 30 }),
        fc.constantFrom<CompressionCodecId>(CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.lz4),
        fc.integer({ min: 2_000, max: 20_000 }),
        (raw, compression, batchBytes) => {
          const records: RecordInput[] = raw.map((r) => ({
            key: r.key === null ? null : Buffer.from(r.key),
            value: r.value === null ? null : Buffer.from(r.value),
            headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
            timestamp: r.timestamp,
          }));
          const acc = accumulator({ batchBytes, lingerMs: 0, compression });
          for (const r of records) appendRecord(acc, "t", 0, r, 0);
          const batches = acc.queue("t", 0).batches;
          expect(batches.reduce((n, b) => n + b.recordCount, 0)).toBe(records.length);
          let next = 0;
          for (const batch of batches) {
            const bound = batch.sizeBytes;
            const ownRecords = records.slice(next, (next += batch.recordCount));
            if (batch.recordCount > 1) expect(bound).toBeLessThanOrEqual(batchBytes);
            const encoded = batch.finish();
            expect(encoded.length).toBeLessThanOrEqual(bound);
            expect(decodeRecordBatch(encoded).records.map((d) => d.value?.toString("hex") ?? null)).toEqual(ownRecords.map((r) => r.value?.toString("hex") ?? null));
            expect(batch.reservedBytes).toBe(ownRecords.reduce((n, r) => n + estimateRecordBytes(r), 0));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("grows a batch in buffers of its own, at most twice its bytes, then moves it into a reusable buffer", () => {
    const buffers = new BatchBufferPool(holding(64), 4);
    const acc = accumulator({ batchBytes: holding(64), lingerMs: 1_000, buffers });
    const queue = acc.queue("t", 0);
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) {
      appendRecord(acc, "t", 0, record(100), 0);
      const batch = queue.batches[0]!;
      seen.add(batch.bufferBytes);
      expect(batch.bufferBytes).toBeLessThanOrEqual(2 * (batch.sizeBytes + RECORD_OVERHEAD_BYTES_MAX));
      if (batch.pooledBuffer !== undefined) expect(batch.sizeBytes * 2).toBeGreaterThan(buffers.bufferBytes);
    }
    const full = queue.batches[0]!;
    expect(full.closed).toBe(true);
    expect(seen.size).toBeGreaterThan(2);
    expect(full.pooledBuffer).toBeDefined();
    expect(full.finish().buffer).toBe(full.pooledBuffer!.buffer);
  });

  it("starts a busy partition's next batch in a reusable buffer (within the early bound), and a quiet one's in a buffer of its own", () => {
    const buffers = new BatchBufferPool(holding(8), 2);
    const acc = accumulator({ batchBytes: holding(8), lingerMs: 1_000, buffers });
    appendN(acc, "t", 0, 8, 100, 0); // one full batch (in a reusable buffer from half full on)
    const idle = buffers.take();
    buffers.give(idle);
    appendN(acc, "t", 0, 1, 100, 0); // a second batch: starts in the idle buffer
    const queue = acc.queue("t", 0);
    expect(queue.batches).toHaveLength(2);
    expect(queue.batches[1]!.pooledBuffer).toBe(idle);
    expect(buffers.heldEarly).toBe(1);
    // Half full, it holds its buffer as any batch would: no longer early.
    appendN(acc, "t", 0, 4, 100, 0);
    expect(buffers.heldEarly).toBe(0);
    // Early buffers are bounded (pooledMax, 2 here): a third warm partition starts small.
    for (const p of [1, 2, 3]) appendN(acc, "t", p, 9, 100, 0);
    expect([1, 2, 3].map((p) => acc.queue("t", p).batches[1]!.pooledBuffer !== undefined)).toEqual([true, true, false]);
    expect(buffers.heldEarly).toBe(2);
    // A partition whose last batch left by linger (not full) starts small again.
    appendN(acc, "t", 4, 1, 100, 0);
    acc.drain(acc.queue("t", 4), 100_000);
    appendN(acc, "t", 4, 1, 100, 0);
    expect(acc.queue("t", 4).batches[0]!.pooledBuffer).toBeUndefined();
  });
});
