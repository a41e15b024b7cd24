/**
 * lz4 (codec 3): the LZ4 *frame* format (lz4 spec "LZ4 Frame Format Description" v1.6), which
 * Kafka has used since message format v1. Layout:
 *
 *   offset  size  field
 *   0       4     magic 0x184D2204 (little endian)
 *   4       1     FLG  bits 7-6 version (01), 5 block independence, 4 block checksum,
 *                      3 content size, 2 content checksum, 1 reserved (0), 0 dictionary id
 *   5       1     BD   bits 6-4 block max size (4: 64 KiB, 5: 256 KiB, 6: 1 MiB, 7: 4 MiB)
 *   6       0/8   content size (uint64 LE), if FLG bit 3
 *   ...     1     HC   (xxh32(FLG .. content size) >> 8) & 0xFF
 *   then blocks: size uint32 LE (bit 31 set = stored uncompressed), data, [xxh32 if FLG bit 4];
 *   a size of 0 ends the frame, followed by [xxh32 of the content if FLG bit 2].
 *
 * The frame is parsed here and each block is decoded by lz4-napi's native block decoder, so
 * the output can be bounded block by block: the decoder is never asked for more than the
 * remaining budget (plus one byte), nor for more than the block's compressed size can hold,
 * so neither a bomb nor a frame of many tiny blocks makes it allocate past those bounds. Linked blocks (independence bit clear) are decoded with the previous 64 KiB
 * as dictionary, per the spec. Dictionary ids and skippable frames are refused, as Kafka does.
 *
 * Encoding writes what Kafka's Java client writes: one frame, version 01, independent blocks,
 * 64 KiB maximum block size, no checksums besides HC (the batch CRC covers the bytes), blocks
 * that do not shrink stored uncompressed.
 */
import { compressSync, uncompressSync } from "lz4-napi";
import { CompressionCodec } from "../record-batch/header.js";
import { CorruptRecordError, DecompressionLimitError } from "../errors.js";
import { xxhash32 } from "./xxhash32.js";

const FRAME_MAGIC = 0x184d2204;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_64KB = 0x40;
const BLOCK_UNCOMPRESSED = 0x8000_0000;
/** Kafka's Java client writes 64 KiB blocks; so do we. */
export const LZ4_BLOCK_BYTES = 64 * 1024;
/** Linked blocks may refer back this far (the LZ4 window). */
const LZ4_WINDOW_BYTES = 64 * 1024;
/** magic + FLG + BD + HC */
const FRAME_HEADER_BYTES_MIN = 7;


export function lz4Compress(bytes: Uint8Array): Buffer {
  const blocks: Array<{ readonly data: Uint8Array; readonly stored: boolean }> = [];
  let total = FRAME_HEADER_BYTES_MIN + 4;
  for (let at = 0; at < bytes.length; at += LZ4_BLOCK_BYTES) {
    const chunk = bytes.subarray(at, Math.min(bytes.length, at + LZ4_BLOCK_BYTES));
    // compressSync prefixes the block with its uncompressed size (uint32 LE); skip it.
    const compressed = compressSync(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)).subarray(4);
    const stored = compressed.length >= chunk.length;
    blocks.push({ data: stored ? chunk : compressed, stored });
    total += 4 + (stored ? chunk.length : compressed.length);
  }
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out[4] = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE;
  out[5] = BD_64KB;
  out[6] = (xxhash32(out, 4, 6) >>> 8) & 0xff;
  let pos = FRAME_HEADER_BYTES_MIN;
  for (const block of blocks) {
    out.writeUInt32LE((block.stored ? BLOCK_UNCOMPRESSED : 0) + block.data.length, pos);
    out.set(block.data, pos + 4);
    pos += 4 + block.data.length;
  }
  out.writeUInt32LE(0, pos);
  return out;
}

function corrupt(detail: string): CorruptRecordError {
  return new CorruptRecordError(`lz4: ${detail}`);
}

/**
 * An LZ4 sequence turns at most one input byte into 255 output bytes (match-length extension
 * bytes), so a block of `n` compressed bytes holds under 256n bytes. Asking the native decoder
 * for no more than that keeps its allocation proportional to the input: a frame of many tiny
 * blocks under a 4 MiB block maximum cannot make it allocate 4 MiB per block.
 */
const LZ4_EXPANSION_MAX = 256;

interface Block {
  /** Position of the block's size word in the frame. */
  readonly at: number;
  readonly data: Buffer;
  readonly stored: boolean;
}

/**
 * Walks the block size words from `pos` to the end mark, checking framing and block
 * checksums. Returns the blocks and the position after the end mark.
 */
function scanBlocks(input: Buffer, start: number, blockMax: number, blockChecksums: boolean): { blocks: Block[]; end: number } {
  const blocks: Block[] = [];
  let pos = start;
  for (;;) {
    if (input.length - pos < 4) throw corrupt(`truncated block size at byte ${pos}`);
    const word = input.readUInt32LE(pos);
    if (word === 0) return { blocks, end: pos + 4 };
    const stored = word >= BLOCK_UNCOMPRESSED;
    const size = stored ? word - BLOCK_UNCOMPRESSED : word;
    if (size > blockMax) throw corrupt(`block of ${size} bytes exceeds the frame's maximum ${blockMax}`);
    if (input.length - pos - 4 < size + (blockChecksums ? 4 : 0)) throw corrupt(`truncated block at byte ${pos}`);
    const data = input.subarray(pos + 4, pos + 4 + size);
    if (blockChecksums && xxhash32(data) !== input.readUInt32LE(pos + 4 + size)) {
      throw corrupt(`block checksum mismatch at byte ${pos}`);
    }
    blocks.push({ at: pos, data, stored });
    pos += 4 + size + (blockChecksums ? 4 : 0);
  }
}

/** Decodes one compressed block natively; fails if it holds more than `capacity` bytes. */
function decodeBlock(data: Buffer, capacity: number, dictionary: Buffer | undefined): Buffer {
  // lz4-napi takes the output size as a uint32 LE prefix, allocates it, and fails if the block
  // would exceed it.
  const prefixed = Buffer.allocUnsafe(4 + data.length);
  prefixed.writeUInt32LE(capacity, 0);
  data.copy(prefixed, 4);
  return dictionary === undefined ? uncompressSync(prefixed) : uncompressSync(prefixed, dictionary);
}

/** After a failure under the budget: does the block decode at all within its own capacity? */
function fitsIn(data: Buffer, capacity: number, dictionary: Buffer | undefined): boolean {
  try {
    decodeBlock(data, capacity, dictionary);
    return true;
  } catch {
    return false;
  }
}

/** Most bytes a block can decode to: stored blocks exactly, compressed ones within bounds. */
function blockCapacity(block: Block, blockMax: number): number {
  return block.stored ? block.data.length : Math.min(blockMax, LZ4_EXPANSION_MAX * block.data.length);
}

export function lz4Decompress(bytes: Uint8Array, maxBytes: number): Buffer {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (input.length < FRAME_HEADER_BYTES_MIN) throw corrupt(`frame of ${input.length} bytes is shorter than a header`);
  const magic = input.readUInt32LE(0);
  if (magic !== FRAME_MAGIC) throw corrupt(`magic ${magic.toString(16)}, expected ${FRAME_MAGIC.toString(16)}`);
  const flg = input[4]!;
  const bd = input[5]!;
  if ((flg & 0xc0) !== FLG_VERSION_01) throw corrupt(`frame version ${flg >> 6}, expected 1`);
  if ((flg & FLG_RESERVED) !== 0 || (bd & 0x8f) !== 0) throw corrupt("reserved descriptor bits are set");
  if ((flg & FLG_DICT_ID) !== 0) throw corrupt("frames with a dictionary id are not supported");
  const sizeCode = (bd >> 4) & 0x07;
  if (sizeCode < 4) throw corrupt(`block max size code ${sizeCode} is not 4..7`);
  const blockMax = 1 << (2 * sizeCode + 8);
  let pos = 6;
  let contentSize: number | undefined;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    if (input.length < pos + 9) throw corrupt("truncated content size");
    const hi = input.readUInt32LE(pos + 4);
    contentSize = hi * 0x1_0000_0000 + input.readUInt32LE(pos);
    pos += 8;
    if (contentSize > maxBytes) {
      throw new DecompressionLimitError(CompressionCodec.lz4, maxBytes, `the frame declares ${contentSize} bytes`);
    }
  }
  const hc = (xxhash32(input, 4, pos) >>> 8) & 0xff;
  if (input[pos] !== hc) throw corrupt(`header checksum ${input[pos]}, computed ${hc}`);
  pos++;
  const linked = (flg & FLG_BLOCK_INDEPENDENCE) === 0;
  const { blocks, end } = scanBlocks(input, pos, blockMax, (flg & FLG_BLOCK_CHECKSUM) !== 0);
  pos = end;
  // One output buffer, sized by what the blocks can hold (exact for Kafka's frames, whose
  // blocks are full but the last), never past the limit.
  let bound = 0;
  for (const block of blocks) bound += blockCapacity(block, blockMax);
  const out = Buffer.allocUnsafe(Math.min(bound, maxBytes, contentSize ?? Number.POSITIVE_INFINITY));
  // Running out of room means passing the limit, unless the room was a declared content size.
  const overflow = (at: number): Error =>
    contentSize !== undefined && out.length === contentSize && contentSize < maxBytes
      ? corrupt(`content passes the declared ${contentSize} bytes in the block at byte ${at}`)
      : new DecompressionLimitError(CompressionCodec.lz4, maxBytes, `the block at byte ${at} does not fit`);
  let total = 0;
  for (const block of blocks) {
    const budget = out.length - total;
    if (block.stored) {
      if (block.data.length > budget) throw overflow(block.at);
      block.data.copy(out, total);
      total += block.data.length;
      continue;
    }
    const capacity = blockCapacity(block, blockMax);
    const dictionary = linked && total > 0 ? out.subarray(Math.max(0, total - LZ4_WINDOW_BYTES), total) : undefined;
    let part: Buffer;
    try {
      part = decodeBlock(block.data, Math.min(capacity, budget), dictionary);
    } catch (error) {
      if (budget < capacity && fitsIn(block.data, capacity, dictionary)) throw overflow(block.at);
      throw new CorruptRecordError(`lz4: block at byte ${block.at}: ${(error as Error).message}`, undefined, { cause: error });
    }
    part.copy(out, total);
    total += part.length;
  }
  const content = out.subarray(0, total);
  if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
    if (input.length - pos < 4) throw corrupt("truncated content checksum");
    const sum = input.readUInt32LE(pos);
    pos += 4;
    if (xxhash32(content) !== sum) throw corrupt("content checksum mismatch");
  }
  if (pos !== input.length) throw corrupt(`${input.length - pos} bytes after the end of the frame`);
  if (contentSize !== undefined && contentSize !== total) {
    throw corrupt(`frame declares ${contentSize} bytes of content but holds ${total}`);
  }
  return content;
}
