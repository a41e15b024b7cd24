/**
 * The compression codecs of RecordBatch v2, behind one pair of functions. Not a pure folder:
 * the codecs are native libraries and node:zlib (deterministic CPU work, no I/O).
 *
 * | id | codec  | module    | wire format                                                 |
 * | -- | ------ | --------- | ----------------------------------------------------------- |
 * | 0  | none   | -         | records as they are                                         |
 * | 1  | gzip   | gzip.ts   | RFC 1952 (node:zlib)                                        |
 * | 2  | snappy | snappy.ts | xerial snappy-java framing written; raw snappy also read    |
 * | 3  | lz4    | lz4.ts    | LZ4 frame format, parsed here, blocks decoded natively      |
 * | 4  | zstd   | zstd.ts   | zstd frames (zstd-napi)                                     |
 *
 * Invariants: `decompress` never returns more than `maxBytes` and never allocates much more
 * than that on the way (DecompressionLimitError); malformed input is a CorruptRecordError;
 * an unknown codec id is an UnsupportedCompressionError. Nothing here throws anything else
 * for bad input.
 */
import { CompressionCodec, type CompressionCodecId } from "../record-batch/header.js";
import { DecompressionLimitError, UnsupportedCompressionError } from "../errors.js";
import { assert } from "../assert.js";
import { gzipCompress, gzipDecompress } from "./gzip.js";
import { snappyCompress, snappyDecompress } from "./snappy.js";
import { lz4Compress, lz4Decompress } from "./lz4.js";
import { zstdCompress, zstdDecompress } from "./zstd.js";

/** Compresses `bytes` with `codec` (none returns the bytes as a Buffer view, uncopied). */
export function compress(codec: CompressionCodecId, bytes: Uint8Array): Buffer {
  switch (codec) {
    case CompressionCodec.none:
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    case CompressionCodec.gzip:
      return gzipCompress(bytes);
    case CompressionCodec.snappy:
      return snappyCompress(bytes);
    case CompressionCodec.lz4:
      return lz4Compress(bytes);
    case CompressionCodec.zstd:
      return zstdCompress(bytes);
    default:
      throw new UnsupportedCompressionError(codec as number);
  }
}

/** Decompresses `bytes`, refusing output larger than `maxBytes`. */
export function decompress(codec: CompressionCodecId, bytes: Uint8Array, maxBytes: number): Buffer {
  assert(Number.isSafeInteger(maxBytes) && maxBytes >= 0, `maxBytes ${maxBytes} must be a non-negative integer`);
  switch (codec) {
    case CompressionCodec.none:
      if (bytes.byteLength > maxBytes) throw new DecompressionLimitError(codec, maxBytes);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    case CompressionCodec.gzip:
      return gzipDecompress(bytes, maxBytes);
    case CompressionCodec.snappy:
      return snappyDecompress(bytes, maxBytes);
    case CompressionCodec.lz4:
      return lz4Decompress(bytes, maxBytes);
    case CompressionCodec.zstd:
      return zstdDecompress(bytes, maxBytes);
    default:
      throw new UnsupportedCompressionError(codec as number);
  }
}
