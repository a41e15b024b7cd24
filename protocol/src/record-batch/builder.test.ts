// Proves RecordBatchBuilder writes the same bytes as the reference (two-pass) encoder for the
// same records under every codec, round-trips through decodeRecordBatch (headers as a list or
// an object, null keys and values, strings as UTF-8, out-of-order timestamps), refuses a record
// past its limit and bad fields while staying unchanged, and grows through its `grow` hook.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AssertionError } from "../assert.js";
import { InvalidRecordError, UnsupportedCompressionError } from "../errors.js";
import { RecordBatchBuilder, type RecordBytes, type RecordHeadersInput } from "./builder.js";
import { decodeRecordBatch } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { BATCH_HEADER_BYTES, CompressionCodec, type CompressionCodecId } from "./header.js";
import type { BatchInput, RecordInput } from "./record.js";
import { referenceEncodeRecordBatch } from "./testing/reference-encoder.js";
import { allCodecs, headerFieldsArb, nullableBytesArb as nullableBytes, recordArb as recordArbFor } from "../testing/record-arbitraries.js";

const NOW = 1_700_000_000_000;
const codecs = allCodecs;
const recordArb = recordArbFor({ maxValueBytes: 300, minTimestamp: 0, timestampRequired: true });

function build(records: readonly RecordInput[], options: ConstructorParameters<typeof RecordBatchBuilder>[0], buffer?: Buffer): Buffer {
  const builder = new RecordBatchBuilder(options, buffer);
  for (const r of records) expect(builder.append(r.timestamp!, r.key, r.value, r.headers, r.offsetDelta, r.attributes)).toBeGreaterThan(0);
  return builder.finish();
}

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString("hex"));

describe("RecordBatchBuilder", () => {
  it("writes the reference encoder's bytes for the same records, every codec and header field", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 15 }), fc.constantFrom<CompressionCodecId>(...codecs), headerFieldsArb, (raw, compression, fields) => {
        // Non-decreasing timestamps: the first record's is then the smallest, as the reference takes it.
        const sorted = [...raw].sort((a, b) => a.timestamp! - b.timestamp!);
        const input: BatchInput = { records: sorted, compression, ...fields };
        const expected = referenceEncodeRecordBatch(input);
        expect(hex(build(sorted, { compression, ...fields }))).toBe(hex(expected));
        // Any order, with the base fixed at the smallest timestamp: the same bytes again.
        const baseTimestamp = Math.min(...raw.map((r) => r.timestamp!));
        expect(hex(build(raw, { compression, ...fields, baseTimestamp }))).toBe(hex(referenceEncodeRecordBatch({ ...input, records: raw })));
        // encodeRecordBatch, now written through the builder, too.
        expect(hex(encodeRecordBatch({ ...input, records: raw }))).toBe(hex(referenceEncodeRecordBatch({ ...input, records: raw })));
      }),
      { numRuns: 300 },
    );
  });

  it("matches the reference for compacted batches (offset gaps, lastOffsetDelta, delete horizon)", () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 10, maxLength: 10 }),
        fc.integer({ min: 0, max: 20 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 46 }), { nil: undefined }),
        fc.constantFrom<CompressionCodecId>(...codecs),
        (records, gaps, extra, deleteHorizonMs, compression) => {
          let delta = -1;
          const compacted = records.map((r, i) => ({ ...r, offsetDelta: (delta += gaps[i]!) }));
          const input: BatchInput = { records: compacted, compression, lastOffsetDelta: delta + extra, deleteHorizonMs, producerId: 7, producerEpoch: 2, baseSequence: 40 };
          expect(hex(encodeRecordBatch(input))).toBe(hex(referenceEncodeRecordBatch(input)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("round-trips through decodeRecordBatch: headers as a list or an object, null keys and values, strings as UTF-8", () => {
    type Field = RecordBytes | null;
    const fieldArb: fc.Arbitrary<Field> = fc.oneof(nullableBytes(50), fc.string({ unit: "grapheme", maxLength: 20 }));
    const headerListArb = fc.array(fc.record({ key: fc.string({ unit: "grapheme", maxLength: 8 }), value: fieldArb }), { maxLength: 3 });
    const headerObjectArb = fc.dictionary(fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }), fieldArb, { maxKeys: 3 });
    const anyRecordArb = fc.record({
      key: fc.oneof(fieldArb, fc.constant(undefined)),
      value: fieldArb,
      headers: fc.oneof(fc.constant(undefined), headerListArb, headerObjectArb),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    const asHex = (f: Field | undefined): string | null => (f === null || f === undefined ? null : typeof f === "string" ? Buffer.from(f, "utf8").toString("hex") : hex(f));
    const headerPairs = (headers: RecordHeadersInput | undefined): [string, string | null][] => {
      if (headers === undefined) return [];
      if (Array.isArray(headers)) return (headers as readonly { key: string; value: Field }[]).map((h) => [h.key, asHex(h.value)]);
      return Object.entries(headers as Record<string, Field>).map(([k, v]) => [k, asHex(v)]);
    };
    fc.assert(
      fc.property(fc.array(anyRecordArb, { minLength: 1, maxLength: 12 }), fc.constantFrom<CompressionCodecId>(...codecs), (records, compression) => {
        const builder = new RecordBatchBuilder({ compression }, Buffer.allocUnsafe(BATCH_HEADER_BYTES + 8));
        for (const r of records) builder.append(r.timestamp, r.key, r.value, r.headers);
        const decoded = decodeRecordBatch(builder.finish());
        expect(decoded.compression).toBe(compression);
        expect(decoded.header.baseTimestamp).toBe(records[0]!.timestamp);
        expect(decoded.header.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp)));
        expect(
          decoded.records.map((d) => ({ offset: d.offset, timestamp: d.timestamp, key: hex(d.key), value: hex(d.value), headers: d.headers.map((h) => [h.key, hex(h.value)]) })),
        ).toEqual(records.map((r, i) => ({ offset: i, timestamp: r.timestamp, key: asHex(r.key), value: asHex(r.value), headers: headerPairs(r.headers) })));
      }),
      { numRuns: 300 },
    );
  });

  it("gives a later record with an earlier timestamp a negative delta that decodes to its timestamp", () => {
    const builder = new RecordBatchBuilder();
    builder.append(NOW, null, "a");
    builder.append(NOW - 5_000, null, "b");
    builder.append(NOW + 7, null, "c");
    const decoded = decodeRecordBatch(builder.finish());
    expect(decoded.header.baseTimestamp).toBe(NOW);
    expect(decoded.header.maxTimestamp).toBe(NOW + 7);
    expect(decoded.records.map((r) => r.timestamp)).toEqual([NOW, NOW - 5_000, NOW + 7]);
  });

  it("refuses a record that would pass limitBytes unless the batch is empty, and stays unchanged", () => {
    const limitBytes = BATCH_HEADER_BYTES + 250;
    const builder = new RecordBatchBuilder({ limitBytes });
    expect(builder.append(NOW, null, Buffer.alloc(100, 1))).toBeGreaterThan(100);
    const sizeBefore = builder.sizeBytes;
    expect(builder.append(NOW, null, Buffer.alloc(200, 2))).toBe(0);
    expect(builder.sizeBytes).toBe(sizeBefore);
    expect(builder.recordCount).toBe(1);
    expect(hex(builder.finish())).toBe(hex(referenceEncodeRecordBatch({ records: [{ value: Buffer.alloc(100, 1), timestamp: NOW }] })));
    // The first record of a batch is always taken, whatever its size.
    const alone = new RecordBatchBuilder({ limitBytes });
    expect(alone.append(NOW, null, Buffer.alloc(1_000))).toBeGreaterThan(1_000);
    expect(alone.sizeBytes).toBeGreaterThan(limitBytes);
  });

  it("refuses bad fields with InvalidRecordError and stays unchanged", () => {
    const builder = new RecordBatchBuilder();
    builder.append(NOW, "k", "v");
    const bad: (() => number)[] = [
      () => builder.append(1.5, null, "v"),
      () => builder.append(NOW, 5 as unknown as string, "v"),
      () => builder.append(NOW, null, undefined as unknown as null),
      () => builder.append(NOW, null, "v", [{ key: 1 as unknown as string, value: null }]),
      () => builder.append(NOW, null, "v", { h: 7 as unknown as string }),
      () => builder.append(NOW, null, "v", undefined, 0), // offsetDelta not above the previous one
      () => builder.append(NOW, null, "v", undefined, undefined, 300),
      () => builder.append(-Number.MAX_SAFE_INTEGER, null, "v"), // too far from the base to be a delta
    ];
    for (const append of bad) expect(append).toThrow(InvalidRecordError);
    builder.append(NOW + 1, null, "w");
    expect(hex(builder.finish())).toBe(
      hex(referenceEncodeRecordBatch({ records: [{ key: Buffer.from("k"), value: Buffer.from("v"), timestamp: NOW }, { value: Buffer.from("w"), timestamp: NOW + 1 }] })),
    );
  });

  it("checks header fields when built, and refuses to finish an empty batch or to finish twice", () => {
    expect(() => new RecordBatchBuilder({ compression: 9 as CompressionCodecId })).toThrow(UnsupportedCompressionError);
    expect(() => new RecordBatchBuilder({ producerEpoch: 40_000 })).toThrow(InvalidRecordError);
    expect(() => new RecordBatchBuilder().finish()).toThrow(InvalidRecordError);
    const builder = new RecordBatchBuilder({ lastOffsetDelta: 0 });
    builder.append(NOW, null, "a");
    builder.append(NOW, null, "b");
    expect(() => builder.finish()).toThrow(InvalidRecordError); // lastOffsetDelta below the last record's
    const done = new RecordBatchBuilder();
    done.append(NOW, null, "a");
    done.finish();
    expect(() => done.finish()).toThrow(AssertionError);
    expect(() => done.append(NOW, null, "b")).toThrow(AssertionError);
  });

  it("asks `grow` for room as records arrive, copying what was written, with the same bytes in the end", () => {
    const records: RecordInput[] = Array.from({ length: 40 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(97, i), timestamp: NOW + i }));
    const asked: number[] = [];
    const builder = new RecordBatchBuilder(
      {
        grow: (neededBytes, current) => {
          asked.push(neededBytes);
          expect(neededBytes).toBeGreaterThan(current.length);
          return Buffer.alloc(neededBytes + 10, 0xee);
        },
      },
      Buffer.allocUnsafe(100),
    );
    for (const r of records) builder.append(r.timestamp!, r.key, r.value);
    expect(asked.length).toBeGreaterThan(1);
    expect(hex(builder.finish())).toBe(hex(referenceEncodeRecordBatch({ records })));
  });

  it("finishes a compressed batch into its own buffer when it fits, else into `output` or a new buffer", () => {
    const buffer = Buffer.allocUnsafe(4_096);
    const builder = new RecordBatchBuilder({ compression: CompressionCodec.lz4 }, buffer);
    for (let i = 0; i < 20; i++) builder.append(NOW, null, "compressible ".repeat(10));
    const out = builder.finish();
    expect(out.buffer).toBe(buffer.buffer);
    expect(decodeRecordBatch(out).records).toHaveLength(20);
    const output = Buffer.alloc(4_096);
    const into = new RecordBatchBuilder({ compression: CompressionCodec.gzip });
    into.append(NOW, null, "x");
    expect(into.finish(output).buffer).toBe(output.buffer);
  });
});
