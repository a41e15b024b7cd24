// Proves our codec and kafkajs 2.2.4 (an implementation we did not write) agree on every field
// in both directions, for random records, under every codec: kafkajs-encoded batches decode
// with ours, ours decode with kafkajs, and kafkajs's own CRC-32C accepts our checksums.
//
// What each codec's agreement proves (see src/testing/kafkajs.ts for the plugins):
//   none, gzip  kafkajs's own code end to end (gzip through its built-in zlib codec)
//   lz4         our LZ4 frame reader/writer against lz4_flex's frame implementation
//   zstd        framing of the batch; both sides call the same zstd library
//   snappy      raw snappy from the library decodes with ours; our xerial framing only against
//               the test plugin's second reading of the same format (framing only)
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  kafkajsCrc32c,
  kafkajsDecodeBatch,
  kafkajsEncodeBatch,
  registerKafkajsCodecs,
  type KafkajsDecodedBatch,
  type KafkajsMessage,
} from "../testing/kafkajs.js";
import { decodeRecordBatch } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { CompressionCodec, HeaderOffset, type CompressionCodecId } from "./header.js";
import type { DecodedBatch, RecordHeader, RecordInput } from "./record.js";
import { headerFieldsArb } from "../testing/record-arbitraries.js";

beforeAll(() => registerKafkajsCodecs());

const codecs: ReadonlyArray<readonly [string, CompressionCodecId]> = [
  ["none", CompressionCodec.none],
  ["gzip", CompressionCodec.gzip],
  ["snappy", CompressionCodec.snappy],
  ["lz4", CompressionCodec.lz4],
  ["zstd", CompressionCodec.zstd],
];

const buf = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
// kafkajs folds headers into a plain object, so keys that name Object.prototype members
// ("__proto__", "constructor", ...) come out wrong there; that is not a fault of either codec.
const headerKey = fc.string({ unit: "grapheme", maxLength: 8 }).filter((k) => !(k in {}));
// kafkajs sorts timestamps as strings and treats 0 as "none": keep them 13 digits long.
const timestamp = fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 });

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString("hex"));

type HeaderList = Array<[string, string | null]>;

/**
 * Headers in the order kafkajs's header object yields them: kafkajs folds headers into a plain
 * object (repeated keys become arrays), so keys come out in object-key order.
 */
function groupedHeaders(headers: readonly RecordHeader[]): HeaderList {
  const groups: Record<string, Array<string | null>> = {};
  for (const { key, value } of headers) (groups[key] ??= []).push(hex(value));
  return Object.keys(groups).flatMap((key) => groups[key]!.map((v): [string, string | null] => [key, v]));
}

function kafkajsHeaders(headers: Readonly<Record<string, Buffer | null | ReadonlyArray<Buffer | null>>>): HeaderList {
  return Object.keys(headers).flatMap((key) => {
    const value = headers[key]!;
    return (Array.isArray(value) ? value : [value as Buffer | null]).map((v): [string, string | null] => [key, hex(v)]);
  });
}

/** Every field both decoders report, in kafkajs's vocabulary. */
function compare(ours: DecodedBatch, theirs: KafkajsDecodedBatch): void {
  expect(theirs.firstOffset).toBe(String(ours.header.baseOffset));
  expect(theirs.partitionLeaderEpoch).toBe(ours.header.partitionLeaderEpoch);
  expect(theirs.lastOffsetDelta).toBe(ours.header.lastOffsetDelta);
  expect(theirs.firstTimestamp).toBe(String(ours.header.baseTimestamp));
  expect(theirs.maxTimestamp).toBe(String(ours.header.maxTimestamp));
  expect(theirs.producerId).toBe(String(ours.header.producerId));
  expect(theirs.producerEpoch).toBe(ours.header.producerEpoch);
  expect(theirs.firstSequence).toBe(ours.header.baseSequence);
  expect(theirs.inTransaction).toBe(ours.isTransactional);
  expect(theirs.isControlBatch).toBe(ours.isControl);
  expect(theirs.timestampType).toBe(ours.timestampType === "log-append" ? 1 : 0);
  expect(theirs.records).toHaveLength(ours.records.length);
  ours.records.forEach((record, i) => {
    const other = theirs.records[i]!;
    expect(other.offset).toBe(String(record.offset));
    expect(other.timestamp).toBe(String(record.timestamp));
    expect(other.attributes).toBe(record.attributes);
    expect(hex(other.key)).toBe(hex(record.key));
    expect(hex(other.value)).toBe(hex(record.value));
    expect(kafkajsHeaders(other.headers)).toEqual(groupedHeaders(record.headers));
  });
}

describe.each(codecs)("kafkajs -> ours (%s)", (_name, codec) => {
  const message: fc.Arbitrary<KafkajsMessage> = fc.record({
    key: fc.option(buf(30), { nil: null }),
    value: fc.option(buf(300), { nil: null }),
    headers: fc.dictionary(headerKey, fc.oneof(buf(20), fc.array(buf(10), { minLength: 1, maxLength: 3 })), { maxKeys: 3 }),
    timestamp,
  });

  it("decodes every field kafkajs's producer wrote", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.option(fc.string({ minLength: 1, maxLength: 5 }), { nil: null }),
        fc.integer({ min: -1, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 0x7fff }),
        fc.integer({ min: 0, max: 0x7fff_ffff }),
        async (messages, transactionalId, producerId, producerEpoch, firstSequence) => {
          const batch = await kafkajsEncodeBatch({ compression: codec, messages, transactionalId, producerId, producerEpoch, firstSequence });
          const ours = decodeRecordBatch(batch);
          expect(ours.sizeBytes).toBe(batch.length);
          expect(ours.compression).toBe(codec);
          expect(ours.header).toMatchObject({ producerId, producerEpoch, baseSequence: firstSequence, baseOffset: 0 });
          expect(ours.isTransactional).toBe(transactionalId !== null);
          ours.records.forEach((record, i) => {
            const sent = messages[i]!;
            expect(record.offset).toBe(i);
            expect(record.timestamp).toBe(sent.timestamp);
            expect(hex(record.key)).toBe(hex((sent.key as Buffer | null) ?? null));
            expect(hex(record.value)).toBe(hex(sent.value as Buffer | null));
            const expected = kafkajsHeaders((sent.headers ?? {}) as Record<string, Buffer | readonly Buffer[]>);
            expect(record.headers.map((h): [string, string | null] => [h.key, hex(h.value)])).toEqual(expected);
          });
          compare(ours, await kafkajsDecodeBatch(batch));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe.each(codecs)("ours -> kafkajs (%s)", (_name, codec) => {
  const record: fc.Arbitrary<RecordInput> = fc.record({
    key: fc.option(buf(30), { nil: null }),
    value: fc.option(buf(300), { nil: null }),
    headers: fc.array(fc.record({ key: headerKey, value: fc.option(buf(20), { nil: null }) }), { maxLength: 4 }),
    timestamp,
  });

  it("kafkajs decodes every field we wrote and accepts our CRC", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 8 }),
        headerFieldsArb,
        async (records, fields) => {
          const batch = encodeRecordBatch({ ...fields, records, compression: codec });
          expect(kafkajsCrc32c(batch.subarray(HeaderOffset.attributes))).toBe(batch.readUInt32BE(HeaderOffset.crc));
          compare(decodeRecordBatch(batch), await kafkajsDecodeBatch(batch));
        },
      ),
      { numRuns: 60 },
    );
  });
});
