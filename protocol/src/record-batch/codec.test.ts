// Proves encodeRecordBatch -> decodeRecordBatch(es) preserves every record field and header
// field for arbitrary records under every codec, fills the header as documented (defaults,
// timestamps, attributes), rejects bad encoder input with typed errors, and decodes
// concatenations with Kafka's fetch semantics.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidRecordError, MessageTooLargeError, CorruptRecordError, UnsupportedCompressionError } from "../errors.js";
import { RECORD_BATCH_BYTES_MAX } from "../grpc.js";
import { rawBatch, rawRecord } from "../testing/batch-bytes.js";
import { decodeRecordBatch, decodeRecordBatches } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { Attributes, BATCH_HEADER_BYTES, CompressionCodec, stampBatch, validateBatch, type CompressionCodecId } from "./header.js";
import { BATCH_BYTES_MAX_DEFAULT } from "./limits.js";
import type { BatchInput, RecordInput } from "./record.js";
import { allCodecs, headerFieldArbs, recordArb as recordArbFor } from "../testing/record-arbitraries.js";

const NOW = 1_700_000_000_000;
const codecs = allCodecs;
const recordArb = recordArbFor({ maxValueBytes: 200, minTimestamp: -1, timestampRequired: false });

const batchArb: fc.Arbitrary<BatchInput> = fc.record(
  {
    records: fc.array(recordArb, { minLength: 1, maxLength: 12 }),
    compression: fc.constantFrom<CompressionCodecId>(...codecs),
    ...headerFieldArbs,
    now: fc.integer({ min: 0, max: 2 ** 45 }),
  },
  { requiredKeys: ["records", "now"] },
);

function expectSameBytes(actual: Buffer | null, expected: Buffer | null | undefined): void {
  if (expected === null || expected === undefined) expect(actual).toBeNull();
  else expect(actual === null ? null : actual.toString("hex")).toBe(expected.toString("hex"));
}

describe("encode -> decode round trip", () => {
  it("preserves every field for arbitrary records, headers, codecs and header fields", () => {
    fc.assert(
      fc.property(batchArb, (input) => {
        const batch = encodeRecordBatch(input);
        const decoded = decodeRecordBatch(batch);
        const timestamps = input.records.map((r) => r.timestamp ?? input.now!);
        const logAppend = input.timestampType === "log-append";
        const baseOffset = input.baseOffset ?? 0;

        expect(decoded.sizeBytes).toBe(batch.length);
        expect(decoded.compression).toBe(input.compression ?? CompressionCodec.none);
        expect(decoded.isControl).toBe(input.control === true);
        expect(decoded.isTransactional).toBe(input.transactional === true);
        expect(decoded.timestampType).toBe(logAppend ? "log-append" : "create");
        expect(decoded.header).toMatchObject({
          baseOffset,
          batchLength: batch.length - 12,
          magic: 2,
          partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
          producerId: input.producerId ?? -1,
          producerEpoch: input.producerEpoch ?? -1,
          baseSequence: input.baseSequence ?? -1,
          lastOffsetDelta: input.records.length - 1,
          recordCount: input.records.length,
          baseTimestamp: Math.min(...timestamps),
          maxTimestamp: Math.max(...timestamps),
        });
        expect(decoded.records).toHaveLength(input.records.length);
        decoded.records.forEach((record, i) => {
          const original = input.records[i]!;
          expect(record.offset).toBe(baseOffset + i);
          expect(record.timestamp).toBe(logAppend ? Math.max(...timestamps) : timestamps[i]);
          expect(record.attributes).toBe(0);
          expectSameBytes(record.key, original.key);
          expectSameBytes(record.value, original.value);
          const headers = original.headers ?? [];
          expect(record.headers.map((h) => h.key)).toEqual(headers.map((h) => h.key));
          record.headers.forEach((h, j) => expectSameBytes(h.value, headers[j]!.value));
        });
      }),
      { numRuns: 400 },
    );
  });

  it("decodes a concatenation of arbitrary batches in order", () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 5 }), (inputs) => {
        const encoded = inputs.map((input) => encodeRecordBatch(input));
        const decoded = decodeRecordBatches(Buffer.concat(encoded));
        expect(decoded.map((b) => b.sizeBytes)).toEqual(encoded.map((b) => b.length));
        expect(decoded.map((b) => b.records.length)).toEqual(inputs.map((i) => i.records.length));
      }),
      { numRuns: 60 },
    );
  });
});

describe("encoded header", () => {
  it("uses Kafka's defaults and the documented attribute bits", () => {
    const batch = encodeRecordBatch({ records: [{ value: Buffer.from("v") }], now: NOW });
    const header = validateBatch(batch, 0, 1 << 20);
    expect(header).toMatchObject({
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      attributes: 0,
      baseTimestamp: NOW,
      maxTimestamp: NOW,
    });
    const flagged = encodeRecordBatch({
      records: [{ value: null }],
      now: NOW,
      compression: CompressionCodec.zstd,
      timestampType: "log-append",
      transactional: true,
      control: true,
    });
    expect(validateBatch(flagged, 0, 1 << 20).attributes).toBe(
      CompressionCodec.zstd | Attributes.timestampTypeLogAppend | Attributes.transactional | Attributes.control,
    );
  });

  it("takes the smallest timestamp as base so deltas are never negative", () => {
    const batch = encodeRecordBatch({
      records: [{ value: null, timestamp: NOW + 50 }, { value: null, timestamp: NOW }, { value: null }],
      now: NOW + 20,
    });
    const decoded = decodeRecordBatch(batch);
    expect(decoded.header.baseTimestamp).toBe(NOW);
    expect(decoded.header.maxTimestamp).toBe(NOW + 50);
    expect(decoded.records.map((r) => r.timestamp)).toEqual([NOW + 50, NOW, NOW + 20]);
  });

  it("gives log-append records the batch's maxTimestamp, as Kafka does", () => {
    const batch = encodeRecordBatch({ records: [{ value: null, timestamp: 5 }, { value: null, timestamp: 9 }], timestampType: "log-append" });
    expect(decodeRecordBatch(batch).records.map((r) => r.timestamp)).toEqual([9, 9]);
  });

  it("keeps a valid CRC after the leader stamps offset and epoch", () => {
    const batch = encodeRecordBatch({ records: [{ value: null }, { value: Buffer.from("x") }], now: NOW });
    stampBatch(batch, 0, 1_000_000, 12);
    const decoded = decodeRecordBatch(batch);
    expect(decoded.records.map((r) => r.offset)).toEqual([1_000_000, 1_000_001]);
    expect(decoded.header.partitionLeaderEpoch).toBe(12);
  });

  it("writes an uncompressed batch as 61 header bytes plus exactly the records", () => {
    const batch = encodeRecordBatch({ records: [{ key: Buffer.from("k"), value: Buffer.from("v") }], now: 0 });
    // length 8, attrs 0, tsDelta 0, offsetDelta 0, key len 1 "k", value len 1 "v", 0 headers
    expect(batch.subarray(BATCH_HEADER_BYTES).toString("hex")).toBe("10" + "000000" + "02" + "6b" + "02" + "76" + "00");
  });
});

describe("encoding into a given output buffer", () => {
  const input = (compression: CompressionCodecId): BatchInput => ({
    records: Array.from({ length: 20 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(100, i), timestamp: NOW + i })),
    compression,
    now: NOW,
  });

  it("writes the same bytes at the start of an output with room, as a view of it", () => {
    for (const codec of codecs) {
      const expected = encodeRecordBatch(input(codec));
      const output = Buffer.alloc(expected.length + 100, 0xee);
      const encoded = encodeRecordBatch(input(codec), output);
      expect(encoded.equals(expected)).toBe(true);
      expect(encoded.buffer).toBe(output.buffer);
      expect(encoded.byteOffset).toBe(output.byteOffset);
      expect(output[expected.length]).toBe(0xee); // nothing written past the batch
    }
  });

  it("allocates a new buffer when the output is too small, leaving the output untouched", () => {
    const expected = encodeRecordBatch(input(CompressionCodec.none));
    const output = Buffer.alloc(expected.length - 1, 0xee);
    const encoded = encodeRecordBatch(input(CompressionCodec.none), output);
    expect(encoded.equals(expected)).toBe(true);
    expect(encoded.buffer).not.toBe(output.buffer);
    expect(output.every((b) => b === 0xee)).toBe(true);
  });
});

describe("encoder input checks", () => {
  const ok: RecordInput = { value: Buffer.from("v") };
  it.each<[string, BatchInput]>([
    ["no records", { records: [], now: NOW }],
    ["no timestamp and no now", { records: [ok] }],
    ["fractional timestamp", { records: [{ value: null, timestamp: 1.5 }] }],
    ["negative baseOffset", { records: [ok], now: NOW, baseOffset: -1 }],
    ["producerEpoch over int16", { records: [ok], now: NOW, producerEpoch: 40_000 }],
    ["baseSequence over int32", { records: [ok], now: NOW, baseSequence: 2 ** 31 }],
    ["partitionLeaderEpoch below -1", { records: [ok], now: NOW, partitionLeaderEpoch: -2 }],
    ["unsafe producerId", { records: [ok], now: NOW, producerId: 2 ** 60 }],
    ["timestamps too far apart", { records: [{ value: null, timestamp: -(2 ** 53 - 1) }, { value: null, timestamp: 2 ** 53 - 1 }] }],
    ["a string value", { records: [{ value: "text" as unknown as Buffer }], now: NOW }],
    ["a numeric header key", { records: [{ value: null, headers: [{ key: 1 as unknown as string, value: null }] }], now: NOW }],
  ])("refuses %s with InvalidRecordError", (_name, input) => {
    expect(() => encodeRecordBatch(input)).toThrow(InvalidRecordError);
  });

  it("refuses an unknown codec with UnsupportedCompressionError", () => {
    expect(() => encodeRecordBatch({ records: [ok], now: NOW, compression: 5 as CompressionCodecId })).toThrow(UnsupportedCompressionError);
  });
});

describe("decodeRecordBatches (fetch semantics)", () => {
  const a = encodeRecordBatch({ records: [{ value: Buffer.from("a") }], now: NOW, baseOffset: 0 });
  const b = encodeRecordBatch({ records: [{ value: Buffer.from("b") }, { value: null }], now: NOW, baseOffset: 1, compression: CompressionCodec.gzip });

  it("ignores a partial batch at the end, whatever its cut", () => {
    for (let cut = 0; cut < b.length; cut++) {
      const decoded = decodeRecordBatches(Buffer.concat([a, b.subarray(0, cut)]));
      expect(decoded.map((d) => d.header.baseOffset)).toEqual([0]);
    }
    expect(decodeRecordBatches(Buffer.alloc(0))).toEqual([]);
  });

  it("throws for a corrupt whole batch after good ones", () => {
    const broken = Buffer.from(b);
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 1;
    expect(() => decodeRecordBatches(Buffer.concat([a, broken]))).toThrow(/CRC mismatch/);
  });

  it("throws for a batch over maxBatchBytes even when only its start arrived", () => {
    const big = encodeRecordBatch({ records: [{ value: Buffer.alloc(5000) }], now: NOW });
    expect(() => decodeRecordBatches(big.subarray(0, 100), { maxBatchBytes: 1000 })).toThrow(MessageTooLargeError);
    expect(() => decodeRecordBatch(big, 0, { maxBatchBytes: 1000 })).toThrow(MessageTooLargeError);
  });

  it("throws for a length field smaller than a header", () => {
    const bad = Buffer.from(a);
    bad.writeInt32BE(10, 8);
    expect(() => decodeRecordBatches(bad)).toThrow(CorruptRecordError);
  });

  it("decodes a batch at an offset inside a larger buffer, with absolute error positions", () => {
    const input = Buffer.concat([Buffer.alloc(7), a]);
    expect(decodeRecordBatch(input, 7).records[0]!.value!.toString()).toBe("a");
    const corrupt = Buffer.from(input);
    corrupt[7 + 16] = 1; // magic
    expect(() => decodeRecordBatch(corrupt, 7)).toThrow(expect.objectContaining({ position: 7 }));
  });
});

describe("batches Kafka writes that Sluice does not", () => {
  it("decodes an empty batch left by compaction, even with a codec bit and no stream", () => {
    for (const codec of codecs) {
      const empty = rawBatch({ attributes: codec, recordCount: 0, lastOffsetDelta: 4, baseOffset: 10 }, new Uint8Array(0));
      const decoded = decodeRecordBatch(empty);
      expect(decoded.records).toEqual([]);
      expect(decoded.header.lastOffsetDelta).toBe(4);
    }
  });

  it("decodes offset gaps left by compaction", () => {
    const records = Buffer.concat([0, 2, 5].map((offsetDelta) => rawRecord({ offsetDelta, key: "k" })));
    const batch = rawBatch({ baseOffset: 100, recordCount: 3, lastOffsetDelta: 7 }, records);
    expect(decodeRecordBatch(batch).records.map((r) => r.offset)).toEqual([100, 102, 105]);
  });
});

describe("limits", () => {
  it("defaults maxBatchBytes to the project's largest batch", () => {
    expect(BATCH_BYTES_MAX_DEFAULT).toBe(RECORD_BATCH_BYTES_MAX);
  });
});
