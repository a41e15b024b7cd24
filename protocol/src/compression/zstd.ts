/**
 * zstd (codec 4) through zstd-napi. Compression is single-shot at zstd's default level 3 (the
 * Java client's default too), which records the content size in the frame header.
 *
 * Decompression is bounded: when every frame declares its content size, the sizes are summed
 * and checked against the limit before anything is allocated, then decoded in one call into a
 * buffer of exactly that size (a lying size makes zstd fail, never overflow). Frames without a
 * declared size (streaming producers) are decoded in chunks and refused as soon as the output
 * passes the limit. zstd's own window limit (2^27 bytes by default) bounds its internal memory.
 */
import { compress } from "zstd-napi";
import binding from "zstd-napi/binding.js";
import { CompressionCodec } from "../record-batch/header.js";
import { CorruptRecordError, DecompressionLimitError } from "../errors.js";

/** Output chunk for frames of unknown size: zstd's recommended streaming output size. */
const STREAM_CHUNK_BYTES = binding.dStreamOutSize();

let context: InstanceType<typeof binding.DCtx> | undefined;

export function zstdCompress(bytes: Uint8Array): Buffer {
  return compress(bytes);
}

function corrupt(error: unknown): CorruptRecordError {
  return new CorruptRecordError(`zstd: ${(error as Error).message}`, undefined, { cause: error });
}

/** Sum of the frames' declared content sizes, or undefined if any frame does not declare one. */
function declaredSize(bytes: Uint8Array): number | undefined {
  let total = 0;
  let rest = bytes;
  while (rest.length > 0) {
    let size: number | null;
    let frameBytes: number;
    try {
      size = binding.getFrameContentSize(rest);
      frameBytes = binding.findFrameCompressedSize(rest);
    } catch (error) {
      throw corrupt(error);
    }
    if (size === null) return undefined;
    total += size;
    rest = rest.subarray(frameBytes);
  }
  return total;
}

export function zstdDecompress(bytes: Uint8Array, maxBytes: number): Buffer {
  if (bytes.length === 0) throw new CorruptRecordError("zstd: empty input");
  context ??= new binding.DCtx();
  const dctx = context;
  dctx.reset(binding.ResetDirective.sessionOnly);
  const declared = declaredSize(bytes);
  if (declared !== undefined) {
    if (declared > maxBytes) {
      throw new DecompressionLimitError(CompressionCodec.zstd, maxBytes, `frames declare ${declared} bytes`);
    }
    const out = Buffer.allocUnsafe(declared);
    let written: number;
    try {
      written = dctx.decompress(out, bytes);
    } catch (error) {
      throw corrupt(error);
    }
    if (written !== declared) throw new CorruptRecordError(`zstd: frames declare ${declared} bytes but hold ${written}`);
    return out;
  }
  const parts: Buffer[] = [];
  let total = 0;
  let rest = bytes;
  let pending = 1;
  while (rest.length > 0 || pending !== 0) {
    const chunk = Buffer.allocUnsafe(Math.min(STREAM_CHUNK_BYTES, maxBytes - total + 1));
    let produced: number;
    let consumed: number;
    try {
      [pending, produced, consumed] = dctx.decompressStream(chunk, rest);
    } catch (error) {
      throw corrupt(error);
    }
    if (produced === 0 && consumed === 0) throw new CorruptRecordError("zstd: truncated frame");
    total += produced;
    if (total > maxBytes) throw new DecompressionLimitError(CompressionCodec.zstd, maxBytes);
    parts.push(chunk.subarray(0, produced));
    rest = rest.subarray(consumed);
  }
  return Buffer.concat(parts, total);
}
