/**
 * fast-check arbitraries shared by the codec's property tests (codec.test.ts, builder.test.ts):
 * every codec, byte strings with nulls, records with headers, and the batch header fields a
 * caller may set (BatchHeaderInput).
 */
import fc from "fast-check";
import { CompressionCodec, type CompressionCodecId } from "../record-batch/header.js";
import type { BatchHeaderInput, RecordInput } from "../record-batch/record.js";

export const allCodecs = [CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd] as const;

export const bytesArb = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
export const nullableBytesArb = (maxLength: number): fc.Arbitrary<Buffer | null> => fc.option(bytesArb(maxLength), { nil: null, freq: 4 });

/** Records with up to 4 headers; `minTimestamp` -1 also yields records whose timestamp is unset. */
export function recordArb(options: { readonly maxValueBytes: number; readonly minTimestamp: number; readonly timestampRequired: boolean }): fc.Arbitrary<RecordInput> {
  return fc.record(
    {
      key: nullableBytesArb(40),
      value: nullableBytesArb(options.maxValueBytes),
      headers: fc.array(fc.record({ key: fc.string({ unit: "grapheme", maxLength: 12 }), value: nullableBytesArb(30) }), { maxLength: 4 }),
      timestamp: fc.integer({ min: options.minTimestamp, max: 2 ** 45 }),
    },
    { requiredKeys: options.timestampRequired ? ["value", "timestamp"] : ["value"] },
  );
}

/** An arbitrary per batch header field a caller may set, compression excepted (for fc.record). */
export const headerFieldArbs = {
  baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fff_ffff }),
  producerId: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  baseSequence: fc.integer({ min: -1, max: 0x7fff_ffff }),
  timestampType: fc.constantFrom<"create" | "log-append">("create", "log-append"),
  transactional: fc.boolean(),
  control: fc.boolean(),
} satisfies { [K in keyof Omit<Required<BatchHeaderInput>, "compression">]: fc.Arbitrary<Required<BatchHeaderInput>[K]> };

/** All of those fields set. */
export const headerFieldsArb = fc.record(headerFieldArbs);

export const codecArb: fc.Arbitrary<CompressionCodecId> = fc.constantFrom<CompressionCodecId>(...allCodecs);
