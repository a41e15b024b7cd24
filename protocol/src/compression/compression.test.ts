// Proves every codec round-trips arbitrary bytes, decodes what the native libraries' own
// encoders write, refuses output over the limit (decompression bombs) with a typed error, and
// turns malformed input into CorruptRecordError, never another exception.
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { compressSync as snappyRaw } from "snappy";
import { Compressor as ZstdCompressor, decompress as zstdOneShot } from "zstd-napi";
import { describe, expect, it } from "vitest";
import { CorruptRecordError, DecompressionLimitError, SluiceError, UnsupportedCompressionError } from "../errors.js";
import { CompressionCodec, type CompressionCodecId } from "../record-batch/header.js";
import { compress, decompress } from "./index.js";

const codecs: ReadonlyArray<readonly [string, CompressionCodecId]> = [
  ["none", CompressionCodec.none],
  ["gzip", CompressionCodec.gzip],
  ["snappy", CompressionCodec.snappy],
  ["lz4", CompressionCodec.lz4],
  ["zstd", CompressionCodec.zstd],
];

const MiB = 1024 * 1024;

/** Bytes that compress well but are not a single repeated byte. */
function compressible(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7) % 13 === 0 ? 0x41 : 0x20 + (i % 5);
  return out;
}

describe.each(codecs)("%s", (_name, codec) => {
  it("round-trips arbitrary bytes, including empty and multi-block inputs", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.constant(new Uint8Array(0))), (bytes) => {
        const back = decompress(codec, compress(codec, bytes), bytes.length);
        expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 150 },
    );
    const big = compressible(300 * 1024); // several 32 KiB snappy chunks and 64 KiB lz4 blocks
    expect(decompress(codec, compress(codec, big), big.length).equals(big)).toBe(true);
  });

  it("refuses output one byte over the limit and accepts it at the limit", () => {
    const data = compressible(200_000);
    const packed = compress(codec, data);
    expect(decompress(codec, packed, data.length).length).toBe(data.length);
    expect(() => decompress(codec, packed, data.length - 1)).toThrow(DecompressionLimitError);
  });

  it("throws only SluiceErrors on random and mutated input", () => {
    const valid = compress(codec, compressible(5000));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
            const copy = Buffer.from(valid);
            copy[at] = copy[at]! ^ xor;
            return copy;
          }),
          fc.nat(valid.length).map((length) => valid.subarray(0, length)),
        ),
        (bytes) => {
          try {
            decompress(codec, bytes, 64 * 1024);
          } catch (error) {
            expect(error).toBeInstanceOf(SluiceError);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe("decompression bombs", () => {
  // 64 MiB of zeros compresses to a few KiB (zstd, gzip, lz4) or ~3 MiB (snappy, ~21:1 at most).
  const zeros = Buffer.alloc(64 * MiB);

  it.each(codecs.filter(([, c]) => c !== CompressionCodec.none))("%s bomb is refused under a 1 MiB limit", (_name, codec) => {
    const bomb = compress(codec, zeros);
    expect(bomb.length).toBeLessThan(zeros.length / 20);
    expect(() => decompress(codec, bomb, MiB)).toThrow(DecompressionLimitError);
  });

  it("refuses a raw snappy block declaring 4 GiB before decoding it", () => {
    // preamble 0xffffffff (5-byte uvarint), then a one-byte literal
    const bomb = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41]);
    expect(() => decompress(CompressionCodec.snappy, bomb, MiB)).toThrow(/declares 4294967295 bytes/);
  });

  it("refuses a zstd stream without a declared size once output passes the limit", () => {
    const streaming = new ZstdCompressor();
    streaming.setParameters({ contentSizeFlag: false });
    const bomb = streaming.compress(Buffer.alloc(8 * MiB));
    expect(() => decompress(CompressionCodec.zstd, bomb, MiB)).toThrow(DecompressionLimitError);
    expect(decompress(CompressionCodec.zstd, bomb, 8 * MiB).length).toBe(8 * MiB);
  });
});

describe("interoperability with the libraries' own encoders", () => {
  it("gzip reads node:zlib output, including several members", () => {
    const a = Buffer.from("first member ");
    const b = Buffer.from("second member");
    const two = Buffer.concat([gzipSync(a), gzipSync(b)]);
    expect(decompress(CompressionCodec.gzip, two, 100).toString()).toBe("first member second member");
  });

  it("zstd reads several concatenated frames and frames without a content size", () => {
    const streaming = new ZstdCompressor();
    streaming.setParameters({ contentSizeFlag: false });
    const frames = Buffer.concat([compress(CompressionCodec.zstd, Buffer.from("one,")), streaming.compress(Buffer.from("two"))]);
    expect(decompress(CompressionCodec.zstd, frames, 100).toString()).toBe("one,two");
  });

  it("zstd output is readable by zstd-napi's own decoder", () => {
    const data = compressible(100_000);
    expect(zstdOneShot(compress(CompressionCodec.zstd, data)).equals(data)).toBe(true);
  });

  it("lz4 frames from lz4_flex (with and without checksums) decode, and ours decode with lz4_flex", () => {
    const data = compressible(500_000);
    for (const options of [undefined, { contentChecksum: true }, { blockChecksums: true }, { contentChecksum: true, blockChecksums: true }]) {
      const frame = compressFrameSync(data, options);
      expect(decompress(CompressionCodec.lz4, frame, data.length).equals(data)).toBe(true);
    }
    expect(decompressFrameSync(compress(CompressionCodec.lz4, data)).equals(data)).toBe(true);
    expect(decompressFrameSync(compress(CompressionCodec.lz4, Buffer.alloc(0))).length).toBe(0);
  });

  it("snappy reads raw blocks written by the snappy library", () => {
    const data = compressible(100_000);
    expect(decompress(CompressionCodec.snappy, snappyRaw(data), data.length).equals(data)).toBe(true);
  });
});

describe("unknown codecs", () => {
  it.each([5, 6, 7, -1])("codec %i is an UnsupportedCompressionError both ways", (codec) => {
    expect(() => compress(codec as CompressionCodecId, Buffer.from("x"))).toThrow(UnsupportedCompressionError);
    expect(() => decompress(codec as CompressionCodecId, Buffer.from("x"), 10)).toThrow(UnsupportedCompressionError);
  });

  it("CorruptRecordError is what malformed streams raise", () => {
    expect(() => decompress(CompressionCodec.gzip, Buffer.from("not gzip"), 100)).toThrow(CorruptRecordError);
    expect(() => decompress(CompressionCodec.zstd, Buffer.from("not zstd"), 100)).toThrow(CorruptRecordError);
    expect(() => decompress(CompressionCodec.lz4, Buffer.from("not lz4!"), 100)).toThrow(CorruptRecordError);
    expect(() => decompress(CompressionCodec.snappy, Buffer.from([0x05, 0xff]), 100)).toThrow(CorruptRecordError);
  });
});
