// Proves each kind of bad batch named in the format's rules (truncation, oversize, wrong magic,
// wrong CRC, negative or overrunning lengths, overflowing varints, lying counts, bombs) is a
// typed SluiceError naming the problem; CRCs are recomputed so the record parser is reached.
import { describe, expect, it } from "vitest";
import { CorruptRecordError, DecompressionLimitError, MessageTooLargeError, SluiceError } from "../errors.js";
import { compress } from "../compression/index.js";
import { ByteList, fixCrc, rawBatch, rawRecord } from "../testing/batch-bytes.js";
import { decodeRecordBatch, decodeRecordBatches } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { BATCH_HEADER_BYTES, CompressionCodec, HeaderOffset } from "./header.js";

const NOW = 1_700_000_000_000;
const good = encodeRecordBatch({
  records: [
    { key: Buffer.from("key"), value: Buffer.from("value"), headers: [{ key: "h", value: Buffer.from("x") }] },
    { key: null, value: null },
  ],
  now: NOW,
});

function expectCorrupt(batch: Uint8Array, message: RegExp): void {
  expect(() => decodeRecordBatch(batch)).toThrow(CorruptRecordError);
  expect(() => decodeRecordBatch(batch)).toThrow(message);
}

describe("header-level faults", () => {
  it("every truncation of a batch is a CorruptRecordError", () => {
    for (let length = 0; length < good.length; length++) {
      expect(() => decodeRecordBatch(good.subarray(0, length))).toThrow(CorruptRecordError);
    }
  });

  it("wrong magic", () => {
    const batch = Buffer.from(good);
    batch[HeaderOffset.magic] = 1;
    expectCorrupt(batch, /magic 1/);
  });

  it("wrong CRC, and a flipped bit anywhere under the CRC", () => {
    const batch = Buffer.from(good);
    batch.writeUInt32BE((batch.readUInt32BE(HeaderOffset.crc) ^ 1) >>> 0, HeaderOffset.crc);
    expectCorrupt(batch, /CRC mismatch/);
    for (let at = HeaderOffset.attributes; at < good.length; at++) {
      const flipped = Buffer.from(good);
      flipped[at] = flipped[at]! ^ 0x10;
      // A flip in the top of an int64 header field is caught as unsafe before the CRC is read.
      expectCorrupt(flipped, /CRC mismatch|not a safe integer/);
    }
  });

  it("batchLength smaller than a header, negative, or past the end", () => {
    for (const batchLength of [0, -1, 48, -0x8000_0000]) {
      const batch = Buffer.from(good);
      batch.writeInt32BE(batchLength, HeaderOffset.batchLength);
      expectCorrupt(batch, /smaller than a header/);
    }
    const long = Buffer.from(good);
    long.writeInt32BE(good.length, HeaderOffset.batchLength);
    expectCorrupt(long, /truncated batch/);
  });

  it("oversized batch is a MessageTooLargeError", () => {
    expect(() => decodeRecordBatch(good, 0, { maxBatchBytes: good.length - 1 })).toThrow(MessageTooLargeError);
    expect(decodeRecordBatch(good, 0, { maxBatchBytes: good.length }).records).toHaveLength(2);
  });

  it("negative recordCount and lastOffsetDelta", () => {
    expectCorrupt(rawBatch({ recordCount: -1, lastOffsetDelta: 0 }, rawRecord({ offsetDelta: 0 })), /negative recordCount/);
    expectCorrupt(rawBatch({ recordCount: 1, lastOffsetDelta: -1 }, rawRecord({ offsetDelta: 0 })), /negative recordCount/);
  });

  it("codec ids 5-7", () => {
    for (const codec of [5, 6, 7]) expectCorrupt(rawBatch({ attributes: codec }, rawRecord({ offsetDelta: 0 })), /unknown compression codec/);
  });

  it("int64 fields outside the safe range", () => {
    const batch = Buffer.from(good);
    batch.writeUInt32BE(0x7fff_ffff, HeaderOffset.baseTimestamp);
    fixCrc(batch);
    expectCorrupt(batch, /not a safe integer/);
  });
});

describe("record-level faults (CRC valid)", () => {
  it("a record count that claims more records than the bytes can hold", () => {
    expectCorrupt(rawBatch({ recordCount: 0x7fff_ffff }, rawRecord({ offsetDelta: 0 })), /cannot fit/);
  });

  it("a record count larger than the records present", () => {
    const key = "k".repeat(30); // large enough that 3 records would fit the byte-count check
    const two = Buffer.concat([rawRecord({ offsetDelta: 0, key }), rawRecord({ offsetDelta: 1, key })]);
    expectCorrupt(rawBatch({ recordCount: 3, lastOffsetDelta: 2 }, two), /truncated varint/);
  });

  it("a record count smaller than the records present", () => {
    const two = Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 1 })]);
    expectCorrupt(rawBatch({ recordCount: 1, lastOffsetDelta: 1 }, two), /bytes follow the 1 records/);
  });

  it("a record length past the end, too small, or negative", () => {
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, length: 200 })), /record 0 length 200/);
    expectCorrupt(rawBatch({}, Buffer.concat([rawRecord({ offsetDelta: 0, length: 3 }), Buffer.alloc(20)])), /record 0 length 3/);
    expectCorrupt(rawBatch({}, Buffer.concat([new ByteList().varint(-5).build(), Buffer.alloc(20)])), /record 0 length -5/);
  });

  it("a record whose fields do not use exactly its length", () => {
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, extra: [0, 0] })), /declares \d+ bytes but its fields use/);
  });

  it("negative key, value and header lengths", () => {
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, key: -2 })), /key length -2 is negative/);
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, value: -7 })), /value length -7 is negative/);
    const negativeHeaderKey = new ByteList().raw(0, 0, 0).varint(-1).varint(-1).varint(1).varint(-1).varint(-1);
    const record = Buffer.concat([new ByteList().varint(negativeHeaderKey.length).build(), negativeHeaderKey.build()]);
    expectCorrupt(rawBatch({}, record), /header 0 key length -1/);
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, headers: [["h", "v"]], headerCount: -1 })), /headersCount -1/);
  });

  it("key, value and header lengths pointing past the record's end", () => {
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, key: 1000 })), /key length 1000 runs past/);
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, key: null, value: 50 })), /value length 50 runs past/);
    expectCorrupt(rawBatch({}, rawRecord({ offsetDelta: 0, headers: [["h", "v"]], headerCount: 1000 })), /headersCount 1000/);
  });

  it("a varint that overflows 32 bits inside a record", () => {
    const body = new ByteList().raw(0, 0).raw(0xff, 0xff, 0xff, 0xff, 0x7f).raw(1, 1, 0);
    const record = Buffer.concat([new ByteList().varint(body.length).build(), body.build()]);
    expectCorrupt(rawBatch({}, record), /varint longer than 32 bits/);
  });

  it("a timestampDelta outside the safe integer range", () => {
    const body = new ByteList().raw(0).raw(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20).raw(0, 1, 1, 0);
    const record = Buffer.concat([new ByteList().varint(body.length).build(), body.build()]);
    expectCorrupt(rawBatch({}, record), /safe integer/);
  });

  it("offset deltas that repeat, go backwards, or pass lastOffsetDelta", () => {
    const twice = Buffer.concat([rawRecord({ offsetDelta: 1 }), rawRecord({ offsetDelta: 1 })]);
    expectCorrupt(rawBatch({ recordCount: 2, lastOffsetDelta: 3 }, twice), /record 1 offsetDelta 1/);
    expectCorrupt(rawBatch({ recordCount: 1, lastOffsetDelta: 0 }, rawRecord({ offsetDelta: 2 })), /record 0 offsetDelta 2/);
    expectCorrupt(rawBatch({ recordCount: 1, lastOffsetDelta: 0 }, rawRecord({ offsetDelta: -1 })), /record 0 offsetDelta -1/);
  });

  it("an offset or timestamp that leaves the safe range once the delta is added", () => {
    const batch = rawBatch({ baseOffset: Number.MAX_SAFE_INTEGER, lastOffsetDelta: 5 }, rawRecord({ offsetDelta: 3 }));
    expectCorrupt(batch, /not a safe integer/);
  });

  it("a compressed section with garbage, extra records, or fields in error points at the batch", () => {
    const garbage = rawBatch({ attributes: CompressionCodec.gzip }, Buffer.from("definitely not gzip"));
    expectCorrupt(garbage, /gzip/);
    const inner = compress(CompressionCodec.zstd, rawRecord({ offsetDelta: 0, key: -3 }));
    const batch = rawBatch({ attributes: CompressionCodec.zstd, baseOffset: 0 }, inner);
    const error = (() => {
      try {
        decodeRecordBatch(Buffer.concat([Buffer.alloc(5), batch]), 5);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as CorruptRecordError).position).toBe(5);
    expect((error as CorruptRecordError).message).toMatch(/key length -3 is negative \(decompressed byte \d+\)/);
  });
});

describe("decompression bombs inside batches", () => {
  const plain = Buffer.concat(Array.from({ length: 200 }, (_, i) => rawRecord({ offsetDelta: i, value: "z".repeat(5000) })));
  it.each([CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd])(
    "codec %i is refused past maxUncompressedBytes",
    (codec) => {
      const batch = rawBatch({ attributes: codec, recordCount: 200, lastOffsetDelta: 199 }, compress(codec, plain));
      expect(batch.length).toBeLessThan(plain.length / 10);
      expect(decodeRecordBatch(batch, 0, { maxUncompressedBytes: plain.length }).records).toHaveLength(200);
      expect(() => decodeRecordBatch(batch, 0, { maxUncompressedBytes: plain.length - 1 })).toThrow(DecompressionLimitError);
      expect(() => decodeRecordBatches(batch, { maxUncompressedBytes: 100_000 })).toThrow(DecompressionLimitError);
    },
  );
});

describe("all of the above are SluiceErrors", () => {
  it("holds for a sample of header positions set to extreme values", () => {
    for (let at = 0; at < BATCH_HEADER_BYTES; at++) {
      for (const value of [0x00, 0x7f, 0x80, 0xff]) {
        const batch = Buffer.from(good);
        batch[at] = value;
        if (at >= HeaderOffset.attributes) fixCrc(batch);
        try {
          decodeRecordBatch(batch);
        } catch (error) {
          expect(error).toBeInstanceOf(SluiceError);
        }
      }
    }
  });
});
