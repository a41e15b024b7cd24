// Proves the accumulator batches by size and by linger time under an injected clock, keeps at
// most one batch per partition in flight (or up to the asked number of sends, none while the
// partition is blocked), puts retried batches back at the head (so order holds), and that its
// size estimate bounds the real encoded size.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BATCH_HEADER_BYTES, CompressionCodec, encodeRecordBatch, type RecordInput } from "@sluice/protocol";
import { APPENDED_CLOSED_FULL, APPENDED_NEW_BATCH, estimateRecordBytes, ProducerBatch, RecordAccumulator } from "./accumulator.js";

const record = (bytes: number, timestamp = 1_000): RecordInput => ({ key: null, value: Buffer.alloc(bytes, 1), timestamp });

function appendN(acc: RecordAccumulator, topic: string, partition: number, n: number, bytes: number, nowMs: number): void {
  for (let i = 0; i < n; i++) {
    const r = record(bytes);
    acc.append(topic, partition, r, estimateRecordBytes(r), nowMs);
  }
}

describe("RecordAccumulator", () => {
  it("fills a batch up to batchBytes and closes it when the next record would not fit", () => {
    const acc = new RecordAccumulator({ batchBytes: 1000, lingerMs: 50, compressed: false });
    const r = record(100);
    const size = estimateRecordBytes(r); // 140
    const perBatch = Math.floor((1000 - BATCH_HEADER_BYTES) / size); // 6
    let closedFull = 0;
    for (let i = 0; i < perBatch + 1; i++) {
      if ((acc.append("t", 0, r, size, 0) & APPENDED_CLOSED_FULL) !== 0) closedFull++;
    }
    expect(closedFull).toBe(1);
    expect(acc.size).toBe(2);
    const queue = acc.queue("t", 0);
    expect(queue.batches[0]!.recordCount).toBe(perBatch);
    expect(queue.batches[0]!.closed).toBe(true);
    expect(queue.batches[1]!.recordCount).toBe(1);
    expect(queue.batches[0]!.estimatedBytes).toBeLessThanOrEqual(1000);
  });

  it("holds a partial batch for lingerMs, then reports it ready", () => {
    const acc = new RecordAccumulator({ batchBytes: 100_000, lingerMs: 20, compressed: false });
    appendN(acc, "t", 3, 5, 10, 1000);
    expect(acc.ready(1000, false)).toEqual({ ready: [], nextReadyMs: 1020 });
    expect(acc.ready(1019, false).ready).toHaveLength(0);
    const atLinger = acc.ready(1020, false);
    expect(atLinger.ready.map((q) => q.partition)).toEqual([3]);
  });

  it("sends at once a full batch, a queue with several batches, or anything when told to", () => {
    const acc = new RecordAccumulator({ batchBytes: 500, lingerMs: 1_000, compressed: false });
    appendN(acc, "t", 0, 10, 100, 0); // several batches
    appendN(acc, "t", 1, 1, 10, 0); // small, lingering
    const now = acc.ready(0, false);
    expect(now.ready.map((q) => q.partition)).toEqual([0]);
    expect(now.nextReadyMs).toBe(1_000);
    expect(acc.ready(0, true).ready.map((q) => q.partition).sort()).toEqual([0, 1]);
  });

  it("puts a record larger than batchBytes in a batch of its own", () => {
    const acc = new RecordAccumulator({ batchBytes: 200, lingerMs: 1_000, compressed: false });
    appendN(acc, "t", 0, 1, 10, 0);
    const big = record(1_000);
    const flags = acc.append("t", 0, big, estimateRecordBytes(big), 0);
    expect(flags).toBe(APPENDED_NEW_BATCH | APPENDED_CLOSED_FULL);
    expect(acc.queue("t", 0).batches.map((b) => b.recordCount)).toEqual([1, 1]);
  });

  it("keeps one send per partition in flight and hands out batches in creation order", () => {
    const acc = new RecordAccumulator({ batchBytes: 400, lingerMs: 0, compressed: false });
    appendN(acc, "t", 0, 6, 100, 0); // 3 batches of 2 records (61 + 2 × 140 bytes each)
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
    const acc = new RecordAccumulator({ batchBytes: 400, lingerMs: 0, compressed: false });
    appendN(acc, "t", 0, 8, 100, 0); // 4 batches of 341 bytes
    const queue = acc.queue("t", 0);
    expect(acc.drain(queue, 700)).toHaveLength(2);
    acc.giveBack(queue);
    expect(queue.batches).toHaveLength(4);
    expect(acc.drain(queue, 10_000)).toHaveLength(4);
  });

  it("puts a retried send back at the head, whole and in order, ready only after its backoff", () => {
    const acc = new RecordAccumulator({ batchBytes: 400, lingerMs: 0, compressed: false });
    appendN(acc, "t", 0, 6, 100, 0);
    const queue = acc.queue("t", 0);
    const sent = acc.drain(queue, 700);
    expect(sent).toHaveLength(2);
    appendN(acc, "t", 0, 1, 100, 5);
    acc.retry(queue, sent, 500);
    expect(queue.batches.slice(0, 2)).toEqual(sent);
    expect(acc.ready(499, true)).toEqual({ ready: [], nextReadyMs: 500 });
    expect(acc.ready(500, false).ready).toEqual([queue]);
    expect(acc.drain(queue, 700)).toEqual(sent);
  });

  it("sends one batch at a time while singleBatchSends lasts, and replaces a batch by its split halves", () => {
    const acc = new RecordAccumulator({ batchBytes: 10_000, lingerMs: 0, compressed: false });
    appendN(acc, "t", 0, 4, 10, 0);
    const queue = acc.queue("t", 0);
    const [batch] = acc.drain(queue, 100_000);
    const a = new ProducerBatch("t", 0, 0, false);
    const b = new ProducerBatch("t", 0, 0, false);
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
    const acc = new RecordAccumulator({ batchBytes: 400, lingerMs: 0, compressed: false });
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
    const acc = new RecordAccumulator({ batchBytes: 400, lingerMs: 0, compressed: false });
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

  it("estimates an upper bound of the encoded batch size, with and without compression", () => {
    const recordArb = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 2_000 }), { nil: null }),
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: fc.option(fc.uint8Array({ maxLength: 50 }), { nil: null }) }), { maxLength: 4 }),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 30 }), fc.constantFrom(CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.lz4), (raw, codec) => {
        const records: RecordInput[] = raw.map((r) => ({
          key: r.key === null ? null : Buffer.from(r.key),
          value: r.value === null ? null : Buffer.from(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
          timestamp: r.timestamp,
        }));
        const acc = new RecordAccumulator({ batchBytes: 16 * 1024 * 1024, lingerMs: 0, compressed: codec !== CompressionCodec.none });
        for (const r of records) acc.append("t", 0, r, estimateRecordBytes(r), 0);
        const encoded = encodeRecordBatch({ records, compression: codec });
        expect(encoded.length).toBeLessThanOrEqual(acc.queue("t", 0).batches[0]!.estimatedBytes);
      }),
      { numRuns: 200 },
    );
  });
});
