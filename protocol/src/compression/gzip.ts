/**
 * gzip (codec 1) through node:zlib, as Kafka's Java client writes it (GZIPOutputStream: RFC 1952
 * members). Decompression is bounded by zlib's own `maxOutputLength`, which stops inflating as
 * soon as the output would pass the limit, so a gzip bomb costs at most `maxBytes` of memory.
 */
import { constants as bufferConstants } from "node:buffer";
import { gunzipSync, gzipSync } from "node:zlib";
import { CompressionCodec } from "../record-batch/header.js";
import { CorruptRecordError, DecompressionLimitError } from "../errors.js";

export function gzipCompress(bytes: Uint8Array): Buffer {
  return gzipSync(bytes);
}

export function gzipDecompress(bytes: Uint8Array, maxBytes: number): Buffer {
  let out: Buffer;
  try {
    // zlib accepts maxOutputLength in [1, buffer.constants.MAX_LENGTH]; the length check below
    // covers a limit of 0.
    out = gunzipSync(bytes, { maxOutputLength: Math.min(Math.max(1, maxBytes), bufferConstants.MAX_LENGTH) });
  } catch (error) {
    if (error instanceof RangeError && (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new DecompressionLimitError(CompressionCodec.gzip, maxBytes);
    }
    throw new CorruptRecordError(`gzip: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (out.length > maxBytes) throw new DecompressionLimitError(CompressionCodec.gzip, maxBytes);
  return out;
}
