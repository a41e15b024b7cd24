// Proves the producer's hand-written ProduceRequest encoder produces bytes that protobufjs
// (the broker's decoder) reads back as the same request, for arbitrary field values, including
// negative acks and several batches per partition; and that `onEncoded` runs only once the
// batches are copied (the producer reuses their buffers after it).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadProtos } from "@sluice/protocol";
import { encodeProduceFrame, type ProduceFrame } from "./produce-request.js";

const service = loadProtos().sluice.Sluice.service;

describe("encodeProduceFrame", () => {
  it("decodes with protobufjs to the same request", () => {
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
