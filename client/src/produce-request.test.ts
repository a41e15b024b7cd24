// Proves the producer's hand-written ProduceRequest encoder produces bytes that protobufjs
// (the broker's decoder) reads back as the same request, for arbitrary field values, including
// negative acks and several batches per partition; that `onEncoded` runs only once the
// batches are copied (the producer reuses their buffers after it); and that the piece-wise form
// (the data listener's) is the same bytes, with the batches passed through uncopied.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadProtos } from "@sluice/protocol";
import { encodeProduceFrame, encodeProducePieces, type ProduceFrame } from "./produce-request.js";

const service = loadProtos().sluice.Sluice.service;

const frameArb: fc.Arbitrary<ProduceFrame> = fc.record({
  correlationId: fc.maxSafeNat(),
  acks: fc.constantFrom(-1, 0, 1, -2147483648, 2147483647),
  timeoutMs: fc.integer({ min: -2147483648, max: 2147483647 }),
  topics: fc.array(
    fc.record({
      topic: fc.string({ maxLength: 30 }),
      partitions: fc.array(
        fc.record({
          partition: fc.integer({ min: -5, max: 2147483647 }),
          batches: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }),
        }),
        { maxLength: 4 },
      ),
    }),
    { maxLength: 3 },
  ),
});

describe("encodeProduceFrame", () => {
  it("decodes with protobufjs to the same request", () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const decoded = service.ProduceStream.requestDeserialize(encodeProduceFrame(frame));
        expect(decoded.correlationId).toBe(frame.correlationId);
        expect(decoded.acks).toBe(frame.acks);
        expect(decoded.timeoutMs).toBe(frame.timeoutMs);
        expect(decoded.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, records: [...p.records] })) }))).toEqual(
          frame.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, records: [...Buffer.concat(p.batches)] })) })),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("writes the same bytes protobufjs would for a typical request", () => {
    const frame: ProduceFrame = { correlationId: 7, acks: -1, timeoutMs: 30_000, topics: [{ topic: "t", partitions: [{ partition: 2, batches: [Buffer.from([1, 2]), Buffer.from([3])] }] }] };
    const reference = service.ProduceStream.requestSerialize({ correlationId: 7, acks: -1, timeoutMs: 30_000, topics: [{ topic: "t", partitions: [{ partition: 2, records: Buffer.from([1, 2, 3]) }] }] });
    expect(encodeProduceFrame(frame)).toEqual(reference);
  });

  it("calls onEncoded once the batches are copied: overwriting them then changes nothing encoded", () => {
    const batches = [Buffer.from([1, 2]), Buffer.from([3])];
    let calls = 0;
    const frame: ProduceFrame = {
      correlationId: 7,
      acks: -1,
      timeoutMs: 30_000,
      topics: [{ topic: "t", partitions: [{ partition: 2, batches }] }],
      onEncoded: () => {
        calls++;
        for (const batch of batches) batch.fill(0xff);
      },
    };
    const decoded = service.ProduceStream.requestDeserialize(encodeProduceFrame(frame));
    expect(calls).toBe(1);
    expect([...decoded.topics[0]!.partitions[0]!.records]).toEqual([1, 2, 3]);
  });
});

describe("encodeProducePieces", () => {
  it("concatenated after the headroom, equals encodeProduceFrame's output, passing every non-empty batch through as is", () => {
    fc.assert(
      fc.property(frameArb, fc.constantFrom(0, 1, 9), (frame, headroomBytes) => {
        const { prefix, pieces, messageBytes } = encodeProducePieces(frame, headroomBytes);
        const joined = Buffer.concat(pieces);
        expect(joined.length).toBe(headroomBytes + messageBytes);
        expect(joined.subarray(headroomBytes)).toEqual(encodeProduceFrame(frame));
        // The headroom is the start of the first piece, which is the prefix buffer itself.
        expect(pieces[0]!.buffer).toBe(prefix.buffer);
        expect(pieces[0]!.byteOffset).toBe(prefix.byteOffset);
        const batches = frame.topics.flatMap((t) => t.partitions.flatMap((p) => p.batches)).filter((b) => b.length > 0);
        const passedThrough = pieces.filter((piece) => piece.buffer !== prefix.buffer);
        expect(passedThrough.length).toBe(batches.length);
        passedThrough.forEach((piece, i) => expect(piece).toBe(batches[i]));
        expect(prefix.length).toBe(headroomBytes + messageBytes - batches.reduce((n, b) => n + b.length, 0));
      }),
      { numRuns: 300 },
    );
  });

  it("leaves onEncoded to its caller", () => {
    let calls = 0;
    encodeProducePieces({ correlationId: 1, acks: 1, timeoutMs: 1, topics: [], onEncoded: () => calls++ }, 9);
    expect(calls).toBe(0);
  });
});
