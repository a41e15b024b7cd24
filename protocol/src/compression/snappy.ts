/**
 * snappy (codec 2). Two framings exist in Kafka data:
 *
 * - raw snappy: one block, `uncompressedLength uvarint, elements...` (librdkafka, kafkajs
 *   plugins);
 * - xerial snappy-java framing, which Kafka's Java client writes (SnappyOutputStream):
 *
 *     offset  size  field
 *     0       8     magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *     8       4     version              int32 BE (1)
 *     12      4     compatibleVersion    int32 BE (1)
 *     16      ...   chunks: length int32 BE, then `length` bytes of raw snappy
 *
 * Decoding accepts both (the magic tells them apart, as snappy-java itself does). Encoding
 * writes the xerial framing in 32 KiB chunks, like the Java client: every Kafka client reads
 * it, while old Java consumers (snappy-java before 1.1.x) cannot read raw snappy.
 *
 * Invariant: every raw block's declared length is checked against the remaining budget
 * before the native decoder allocates it, so a bomb is refused without allocating.
 */
import { compressSync, uncompressSync } from "snappy";
import { CompressionCodec } from "../record-batch/header.js";
import { CorruptRecordError, DecompressionLimitError } from "../errors.js";

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size, which Kafka's Java producer uses. */
export const XERIAL_CHUNK_BYTES = 32 * 1024;
/**
 * The snappy package hands results back in "external" buffers by default, which measured ~5x
 * slower per call here than letting it copy into an ordinary Buffer (bench/codec.ts).
 */
const COPY_OUTPUT = { copyOutputData: true } as const;
/**
 * A snappy element turns at most 3 input bytes into 64 output bytes (a copy with a 2-byte
 * offset), so a valid block never declares more than ~21.4x its compressed size. A larger
 * claim is corrupt, and is refused before the native decoder allocates it.
 */
const SNAPPY_EXPANSION_MAX = 22;
/** A raw block's length preamble is a uvarint of at most 32 bits. */
const PREAMBLE_BYTES_MAX = 5;

export function snappyCompress(bytes: Uint8Array): Buffer {
  const chunks: Buffer[] = [];
  let total = XERIAL_HEADER_BYTES;
  for (let at = 0; at < bytes.length; at += XERIAL_CHUNK_BYTES) {
    const chunk = compressSync(bytes.subarray(at, Math.min(bytes.length, at + XERIAL_CHUNK_BYTES)), COPY_OUTPUT);
    chunks.push(chunk);
    total += 4 + chunk.length;
  }
  const out = Buffer.allocUnsafe(total);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  let pos = XERIAL_HEADER_BYTES;
  for (const chunk of chunks) {
    out.writeInt32BE(chunk.length, pos);
    chunk.copy(out, pos + 4);
    pos += 4 + chunk.length;
  }
  return out;
}

export function isXerialFramed(bytes: Uint8Array): boolean {
  if (bytes.length < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (bytes[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** The uncompressed length a raw snappy block declares in its preamble. */
export function rawSnappyLength(block: Uint8Array): number {
  return rawSnappyPreamble(block).length;
}

function rawSnappyPreamble(block: Uint8Array): { readonly length: number; readonly bytes: number } {
  let value = 0;
  for (let i = 0; i < PREAMBLE_BYTES_MAX; i++) {
    if (i >= block.length) throw new CorruptRecordError("snappy: truncated length preamble");
    const byte = block[i]!;
    if (i === PREAMBLE_BYTES_MAX - 1 && byte > 0x0f) throw new CorruptRecordError("snappy: length preamble over 32 bits");
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return { length: value, bytes: i + 1 };
  }
  throw new CorruptRecordError("snappy: length preamble over 5 bytes");
}

function decompressRaw(block: Uint8Array, budget: number, maxBytes: number): Buffer {
  const { length, bytes } = rawSnappyPreamble(block);
  if (length > budget) {
    throw new DecompressionLimitError(CompressionCodec.snappy, maxBytes, `a block declares ${length} bytes`);
  }
  if (length > SNAPPY_EXPANSION_MAX * (block.length - bytes)) {
    throw new CorruptRecordError(`snappy: a block of ${block.length} bytes declares ${length} bytes, more than it can hold`);
  }
  let out: Buffer;
  try {
    out = uncompressSync(block, COPY_OUTPUT) as Buffer;
  } catch (error) {
    throw new CorruptRecordError(`snappy: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (out.length !== length) {
    throw new CorruptRecordError(`snappy: block declared ${length} bytes but produced ${out.length}`);
  }
  return out;
}

export function snappyDecompress(bytes: Uint8Array, maxBytes: number): Buffer {
  if (!isXerialFramed(bytes)) return decompressRaw(bytes, maxBytes, maxBytes);
  if (bytes.length < XERIAL_HEADER_BYTES) throw new CorruptRecordError("snappy: truncated xerial header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < bytes.length) {
    if (bytes.length - pos < 4) throw new CorruptRecordError(`snappy: truncated xerial chunk length at byte ${pos}`);
    const length = view.getInt32(pos);
    pos += 4;
    if (length < 0 || length > bytes.length - pos) {
      throw new CorruptRecordError(`snappy: xerial chunk length ${length} at byte ${pos - 4} overruns the data`);
    }
    const part = decompressRaw(bytes.subarray(pos, pos + length), maxBytes - total, maxBytes);
    parts.push(part);
    total += part.length;
    pos += length;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}
