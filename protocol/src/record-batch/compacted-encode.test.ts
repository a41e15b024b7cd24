// Proves the encoder inputs log compaction uses to rebuild a batch (per-record offset deltas with gaps, the original lastOffsetDelta, record attributes, a KIP-534 delete horizon in baseTimestamp) round-trip through our decoder and kafkajs's with every record's offset and timestamp unchanged, and that out-of-range values are refused.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidRecordError } from "../errors.js";
import { kafkajsDecodeBatch, registerKafkajsCodecs } from "../testing/kafkajs.js";
import { decodeRecordBatch } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { Attributes, CompressionCodec, readBatchHeader, type CompressionCodecId } from "./header.js";
import type { RecordInput } from "./record.js";

beforeAll(() => registerKafkajsCodecs());

const codecs: readonly CompressionCodecId[] = [CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd];

describe("encoding a compacted batch", () => {
  it("keeps gapped offset deltas, the original last offset, record attributes and timestamps under a delete horizon (ours and kafkajs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 5 }),
            // kafkajs treats 0 as "no timestamp": keep 13 digits.
            timestamp: fc.integer({ min: 1_000_000_000_000, max: 9_000_000_000_000 }),
            key: fc.option(fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u)), { nil: null }),
            value: fc.option(fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u)), { nil: null }),
            attributes: fc.integer({ min: -128, max: 127 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer({ min: 0, max: 7 }),
        fc.option(fc.integer({ min: 1_000_000_000_000, max: 9_000_000_000_000 }), { nil: undefined }),
        fc.constantFrom(...codecs),
        fc.integer({ min: 0, max: 1_000_000 }),
        async (specs, tail, horizon, codec, baseOffset) => {
          let delta = -1;
          const records: RecordInput[] = specs.map((s) => {
            delta += 1 + s.gap;
            return { key: s.key, value: s.value, timestamp: s.timestamp, offsetDelta: delta, attributes: s.attributes };
          });
          const lastOffsetDelta = delta + tail;
          const bytes = encodeRecordBatch({ records, compression: codec, baseOffset, lastOffsetDelta, deleteHorizonMs: horizon, producerId: 7, producerEpoch: 2, baseSequence: 40 });
          const header = readBatchHeader(bytes);
          expect(header.lastOffsetDelta).toBe(lastOffsetDelta);
          expect(header.recordCount).toBe(records.length);
          expect((header.attributes & Attributes.deleteHorizon) !== 0).toBe(horizon !== undefined);
          if (horizon !== undefined) expect(header.baseTimestamp).toBe(horizon);
          expect(header.maxTimestamp).toBe(Math.max(...specs.map((s) => s.timestamp)));

          const ours = decodeRecordBatch(bytes);
          expect(ours.records.map((r) => [r.offset, r.timestamp, r.attributes, r.key?.toString("hex") ?? null, r.value?.toString("hex") ?? null])).toEqual(
            records.map((r) => [baseOffset + (r.offsetDelta as number), r.timestamp, r.attributes, r.key?.toString("hex") ?? null, r.value?.toString("hex") ?? null]),
          );
          const theirs = await kafkajsDecodeBatch(bytes);
          expect(theirs.lastOffsetDelta).toBe(lastOffsetDelta);
          expect(theirs.records.map((r) => [Number(r.offset), Number(r.timestamp)])).toEqual(records.map((r) => [baseOffset + (r.offsetDelta as number), r.timestamp]));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("refuses offset deltas that do not increase, a lastOffsetDelta below the last record's, bad attributes or horizons", () => {
    const bad = [
      { records: [{ value: null, offsetDelta: 2 }, { value: null, offsetDelta: 2 }] },
      { records: [{ value: null, offsetDelta: -1 }] },
      { records: [{ value: null, offsetDelta: 5 }], lastOffsetDelta: 4 },
      { records: [{ value: null, offsetDelta: 0x8000_0000 }] },
      { records: [{ value: null, attributes: 128 }] },
      { records: [{ value: null }], deleteHorizonMs: -5 },
      { records: [{ value: null }], baseOffset: Number.MAX_SAFE_INTEGER - 3, lastOffsetDelta: 4 },
    ];
    for (const input of bad) expect(() => encodeRecordBatch({ now: 1_700_000_000_000, ...input }), JSON.stringify(input)).toThrow(InvalidRecordError);
  });

  it("without the new inputs encodes exactly as before (deltas are indexes, baseTimestamp is the smallest timestamp)", () => {
    const bytes = encodeRecordBatch({ records: [{ value: Buffer.from("a"), timestamp: 20 }, { value: Buffer.from("b"), timestamp: 10 }] });
    const header = readBatchHeader(bytes);
    expect(header.lastOffsetDelta).toBe(1);
    expect(header.baseTimestamp).toBe(10);
    expect(header.attributes & Attributes.deleteHorizon).toBe(0);
    expect(decodeRecordBatch(bytes).records.map((r) => r.offset)).toEqual([0, 1]);
  });
});
