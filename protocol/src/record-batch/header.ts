/**
 * Kafka RecordBatch v2 ("magic 2") header: the 61 bytes in front of every batch.
 *
 *   offset  size  field
 *   0       8     baseOffset            int64   stamped by the partition leader
 *   8       4     batchLength           int32   bytes after this field (total = 12 + batchLength)
 *   12      4     partitionLeaderEpoch  int32   stamped by the partition leader
 *   16      1     magic                 int8    always 2
 *   17      4     crc                   uint32  CRC-32C of bytes [21, end)
 *   21      2     attributes            int16   bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control,
 *                                                6 delete horizon (KIP-534: baseTimestamp holds it)
 *   23      4     lastOffsetDelta       int32
 *   27      8     baseTimestamp         int64
 *   35      8     maxTimestamp          int64
 *   43      8     producerId            int64
 *   51      2     producerEpoch         int16
 *   53      4     baseSequence          int32
 *   57      4     recordCount           int32
 *   61      ...   records (possibly compressed)
 *
 * baseOffset and partitionLeaderEpoch sit outside the CRC, which is what lets a broker stamp
 * them in place without decoding or re-checksumming the records.
 *
 * Invariants: every function here reads only header bytes and the CRC range; none allocates a
 * copy of record bytes.
 */
import { crc32c } from "@node-rs/crc32";
import { CorruptRecordError, MessageTooLargeError } from "../errors.js";
import { assert } from "../assert.js";

export const BATCH_HEADER_BYTES = 61;
/** Bytes before the batchLength field's count starts (baseOffset + batchLength). */
export const BATCH_LENGTH_PREFIX_BYTES = 12;
export const MAGIC_V2 = 2;

export const HeaderOffset = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

export const Attributes = {
  codecMask: 0x07,
  timestampTypeLogAppend: 0x08,
  transactional: 0x10,
  control: 0x20,
  /**
   * KIP-534: the batch went through log compaction holding tombstones, and `baseTimestamp` is
   * the delete horizon (the time after which the compactor may drop them). Record timestamps
   * stay baseTimestamp + timestampDelta, so readers that ignore the bit decode them unchanged.
   */
  deleteHorizon: 0x40,
} as const;

export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodecId = (typeof CompressionCodec)[keyof typeof CompressionCodec];

export interface BatchHeader {
  readonly baseOffset: number;
  /** Bytes following the batchLength field; the whole batch is `batchLength + 12` bytes. */
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

/** Reads an int64 that must be a safe integer (offsets, timestamps, producer ids). */
export function readInt64(buf: Uint8Array, at: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hi = view.getInt32(at);
  const lo = view.getUint32(at + 4);
  const value = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(value)) throw new CorruptRecordError(`int64 ${hi}:${lo} is not a safe integer`, at);
  return value;
}

export function writeInt64(buf: Uint8Array, at: number, value: number): void {
  assert(Number.isSafeInteger(value), `int64 ${value} is not a safe integer`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hi = Math.floor(value / 0x1_0000_0000);
  view.setInt32(at, hi);
  view.setUint32(at + 4, value - hi * 0x1_0000_0000);
}

/** Parses the 61-byte header at `at`. Checks only that the bytes exist; see `validateBatch`. */
export function readBatchHeader(buf: Uint8Array, at = 0): BatchHeader {
  if (at < 0 || buf.byteLength - at < BATCH_HEADER_BYTES) {
    throw new CorruptRecordError(`truncated header: ${buf.byteLength - at} bytes < ${BATCH_HEADER_BYTES}`, at);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    baseOffset: readInt64(buf, at + HeaderOffset.baseOffset),
    batchLength: view.getInt32(at + HeaderOffset.batchLength),
    partitionLeaderEpoch: view.getInt32(at + HeaderOffset.partitionLeaderEpoch),
    magic: view.getInt8(at + HeaderOffset.magic),
    crc: view.getUint32(at + HeaderOffset.crc),
    attributes: view.getInt16(at + HeaderOffset.attributes),
    lastOffsetDelta: view.getInt32(at + HeaderOffset.lastOffsetDelta),
    baseTimestamp: readInt64(buf, at + HeaderOffset.baseTimestamp),
    maxTimestamp: readInt64(buf, at + HeaderOffset.maxTimestamp),
    producerId: readInt64(buf, at + HeaderOffset.producerId),
    producerEpoch: view.getInt16(at + HeaderOffset.producerEpoch),
    baseSequence: view.getInt32(at + HeaderOffset.baseSequence),
    recordCount: view.getInt32(at + HeaderOffset.recordCount),
  };
}

/** Total bytes of the batch starting at `at` (header included), from its batchLength field. */
export function batchSizeAt(buf: Uint8Array, at = 0): number {
  if (buf.byteLength - at < BATCH_LENGTH_PREFIX_BYTES) {
    throw new CorruptRecordError("truncated batch length", at);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return view.getInt32(at + HeaderOffset.batchLength) + BATCH_LENGTH_PREFIX_BYTES;
}

/** CRC-32C over [attributes, end) of the batch at `at` with total size `sizeBytes`. */
export function computeBatchCrc(buf: Uint8Array, at: number, sizeBytes: number): number {
  const start = at + HeaderOffset.attributes;
  const end = at + sizeBytes;
  const region = Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
  return crc32c(region) >>> 0;
}

/**
 * Checks one whole batch at `at` without decoding records: sizes, magic, CRC, offset delta
 * against record count. Returns its header. Throws CorruptRecordError or MessageTooLargeError.
 */
export function validateBatch(buf: Uint8Array, at: number, maxBatchBytes: number): BatchHeader {
  const header = readBatchHeader(buf, at);
  const sizeBytes = header.batchLength + BATCH_LENGTH_PREFIX_BYTES;
  if (header.batchLength < BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES) {
    throw new CorruptRecordError(`batchLength ${header.batchLength} is smaller than a header`, at);
  }
  if (sizeBytes > maxBatchBytes) throw new MessageTooLargeError(sizeBytes, maxBatchBytes);
  if (buf.byteLength - at < sizeBytes) {
    throw new CorruptRecordError(`truncated batch: ${buf.byteLength - at} of ${sizeBytes} bytes`, at);
  }
  if (header.magic !== MAGIC_V2) throw new CorruptRecordError(`magic ${header.magic}, expected ${MAGIC_V2}`, at);
  const crc = computeBatchCrc(buf, at, sizeBytes);
  if (crc !== header.crc) {
    throw new CorruptRecordError(`CRC mismatch: stored ${header.crc.toString(16)}, computed ${crc.toString(16)}`, at);
  }
  if (header.recordCount < 0 || header.lastOffsetDelta < 0) {
    throw new CorruptRecordError(`negative recordCount ${header.recordCount} or lastOffsetDelta ${header.lastOffsetDelta}`, at);
  }
  if ((header.attributes & Attributes.codecMask) > CompressionCodec.zstd) {
    throw new CorruptRecordError(`unknown compression codec ${header.attributes & Attributes.codecMask}`, at);
  }
  return header;
}

/**
 * Writes baseOffset and partitionLeaderEpoch into the batch at `at`. Both fields are outside
 * the CRC, so the batch stays valid and its records are untouched.
 */
export function stampBatch(buf: Uint8Array, at: number, baseOffset: number, leaderEpoch: number): void {
  writeInt64(buf, at + HeaderOffset.baseOffset, baseOffset);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setInt32(at + HeaderOffset.partitionLeaderEpoch, leaderEpoch);
}

export function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}
