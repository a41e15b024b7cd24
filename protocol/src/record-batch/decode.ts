/**
 * Decodes Kafka RecordBatch v2 batches (layout: header.ts, record.ts).
 *
 * Order of checks for one batch: header fields exist, batch length within bounds and present,
 * magic 2, CRC-32C, then (decompressing with a bounded output if needed) every record. A
 * record must use exactly the bytes its length says; offset deltas must increase and stay
 * within lastOffsetDelta (compaction leaves gaps, never reorders); the records must fill the
 * records section exactly. Anything else is a CorruptRecordError naming where it went wrong,
 * too-large inputs are MessageTooLargeError / DecompressionLimitError. recordCount is checked
 * against the bytes available before any per-record allocation.
 *
 * No copies: keys, values and header values are subarray views of the input (uncompressed
 * batches) or of the one decompressed buffer.
 */
import { assert } from "../assert.js";
import { CorruptRecordError, MessageTooLargeError } from "../errors.js";
import { decompress } from "../compression/index.js";
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  CompressionCodec,
  batchSizeAt,
  validateBatch,
  type BatchHeader,
  type CompressionCodecId,
} from "./header.js";
import { BATCH_BYTES_MAX_DEFAULT, RECORD_BYTES_MIN, RECORD_HEADER_BYTES_MIN, UNCOMPRESSED_BYTES_MAX_DEFAULT } from "./limits.js";
import type { DecodeOptions, DecodedBatch, DecodedRecord, RecordHeader } from "./record.js";
import { readVarint, readVarlong, type Cursor } from "./varint.js";

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

interface Limits {
  readonly maxBatchBytes: number;
  readonly maxUncompressedBytes: number;
}

function limitsOf(options: DecodeOptions | undefined): Limits {
  const maxBatchBytes = options?.maxBatchBytes ?? BATCH_BYTES_MAX_DEFAULT;
  const maxUncompressedBytes = options?.maxUncompressedBytes ?? UNCOMPRESSED_BYTES_MAX_DEFAULT;
  assert(Number.isSafeInteger(maxBatchBytes) && maxBatchBytes >= BATCH_HEADER_BYTES, `maxBatchBytes ${maxBatchBytes}`);
  assert(Number.isSafeInteger(maxUncompressedBytes) && maxUncompressedBytes >= 0, `maxUncompressedBytes ${maxUncompressedBytes}`);
  return { maxBatchBytes, maxUncompressedBytes };
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

function corrupt(detail: string, pos: number): CorruptRecordError {
  return new CorruptRecordError(detail, pos);
}

function readBytesField(bytes: Buffer, cursor: Cursor, what: string): Buffer | null {
  const at = cursor.pos;
  const length = readVarint(cursor);
  if (length === -1) return null;
  if (length < -1) throw corrupt(`${what} length ${length} is negative`, at);
  if (length > cursor.end - cursor.pos) {
    throw corrupt(`${what} length ${length} runs past the record's end (${cursor.end - cursor.pos} bytes left)`, at);
  }
  const start = cursor.pos;
  cursor.pos += length;
  return bytes.subarray(start, start + length);
}

/**
 * Parses `header.recordCount` records filling `bytes[start, end)` exactly. Errors carry
 * positions in `bytes`.
 */
function parseRecords(bytes: Buffer, start: number, end: number, header: BatchHeader, logAppend: boolean): DecodedRecord[] {
  const count = header.recordCount;
  if (count > (end - start) / RECORD_BYTES_MIN) {
    throw corrupt(`recordCount ${count} cannot fit in ${end - start} bytes of records`, start);
  }
  const records = new Array<DecodedRecord>(count);
  const outer: Cursor = { buf: bytes, pos: start, end };
  const inner: Cursor = { buf: bytes, pos: start, end };
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const recordAt = outer.pos;
    const length = readVarint(outer);
    if (length < RECORD_BYTES_MIN - 1 || length > end - outer.pos) {
      throw corrupt(`record ${i} length ${length} is invalid with ${end - outer.pos} bytes left`, recordAt);
    }
    inner.pos = outer.pos;
    inner.end = outer.pos + length;
    outer.pos = inner.end;

    const attributes = (bytes[inner.pos++]! << 24) >> 24;
    const timestampDelta = readVarlong(inner);
    const deltaAt = inner.pos;
    const offsetDelta = readVarint(inner);
    if (offsetDelta <= previousDelta || offsetDelta > header.lastOffsetDelta) {
      throw corrupt(
        `record ${i} offsetDelta ${offsetDelta} is not between the previous ${previousDelta} and lastOffsetDelta ${header.lastOffsetDelta}`,
        deltaAt,
      );
    }
    previousDelta = offsetDelta;
    const key = readBytesField(bytes, inner, `record ${i} key`);
    const value = readBytesField(bytes, inner, `record ${i} value`);
    const countAt = inner.pos;
    const headerCount = readVarint(inner);
    if (headerCount < 0 || headerCount > (inner.end - inner.pos) / RECORD_HEADER_BYTES_MIN) {
      throw corrupt(`record ${i} headersCount ${headerCount} is invalid with ${inner.end - inner.pos} bytes left`, countAt);
    }
    let headers = NO_HEADERS;
    if (headerCount > 0) {
      const list = new Array<RecordHeader>(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const keyAt = inner.pos;
        const keyLength = readVarint(inner);
        if (keyLength < 0 || keyLength > inner.end - inner.pos) {
          throw corrupt(`record ${i} header ${h} key length ${keyLength} is invalid`, keyAt);
        }
        const headerKey = bytes.toString("utf8", inner.pos, inner.pos + keyLength);
        inner.pos += keyLength;
        list[h] = { key: headerKey, value: readBytesField(bytes, inner, `record ${i} header ${h} value`) };
      }
      headers = list;
    }
    if (inner.pos !== inner.end) {
      throw corrupt(`record ${i} declares ${length} bytes but its fields use ${inner.pos - (inner.end - length)}`, recordAt);
    }
    const offset = header.baseOffset + offsetDelta;
    const timestamp = logAppend ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(timestamp)) {
      throw corrupt(`record ${i} offset ${offset} or timestamp ${timestamp} is not a safe integer`, recordAt);
    }
    records[i] = { offset, timestamp, key, value, headers, attributes };
  }
  if (outer.pos !== end) {
    throw corrupt(`${end - outer.pos} bytes follow the ${count} records the batch declares`, outer.pos);
  }
  return records;
}

function decodeValidated(buf: Buffer, at: number, header: BatchHeader, limits: Limits): DecodedBatch {
  const sizeBytes = header.batchLength + BATCH_LENGTH_PREFIX_BYTES;
  const compression = (header.attributes & Attributes.codecMask) as CompressionCodecId;
  const logAppend = (header.attributes & Attributes.timestampTypeLogAppend) !== 0;
  const recordsStart = at + BATCH_HEADER_BYTES;
  const recordsEnd = at + sizeBytes;
  let records: DecodedRecord[];
  if (compression === CompressionCodec.none) {
    records = parseRecords(buf, recordsStart, recordsEnd, header, logAppend);
  } else if (header.recordCount === 0 && recordsStart === recordsEnd) {
    // An empty batch (all records compacted away) keeps its codec bit but has no stream.
    records = [];
  } else {
    const plain = decompress(compression, buf.subarray(recordsStart, recordsEnd), limits.maxUncompressedBytes);
    try {
      records = parseRecords(plain, 0, plain.length, header, logAppend);
    } catch (error) {
      // Positions inside the decompressed bytes mean nothing in the input: point at the batch.
      if (error instanceof CorruptRecordError) {
        throw new CorruptRecordError(`${error.detail} (decompressed byte ${error.position})`, at, { cause: error });
      }
      throw error;
    }
  }
  return {
    header,
    sizeBytes,
    compression,
    isControl: (header.attributes & Attributes.control) !== 0,
    isTransactional: (header.attributes & Attributes.transactional) !== 0,
    timestampType: logAppend ? "log-append" : "create",
    records,
  };
}

/**
 * Decodes the one batch starting at `at`. The whole batch must be present; its CRC is checked
 * before any record is read.
 */
export function decodeRecordBatch(buf: Uint8Array, at = 0, options?: DecodeOptions): DecodedBatch {
  assert(Number.isSafeInteger(at) && at >= 0, `batch position ${at} must be a non-negative integer`);
  const limits = limitsOf(options);
  const header = validateBatch(buf, at, limits.maxBatchBytes);
  return decodeValidated(asBuffer(buf), at, header, limits);
}

/**
 * Decodes a concatenation of batches, as a Fetch response carries them. A partial batch at the
 * end (the fetch size cut it) is ignored, as Kafka clients do; a whole batch that is corrupt
 * throws, as does one (even partial) whose declared size is over `maxBatchBytes`, since no
 * later fetch could return it whole.
 */
export function decodeRecordBatches(buf: Uint8Array, options?: DecodeOptions): DecodedBatch[] {
  const limits = limitsOf(options);
  const bytes = asBuffer(buf);
  const batches: DecodedBatch[] = [];
  let at = 0;
  while (bytes.length - at >= BATCH_LENGTH_PREFIX_BYTES) {
    const sizeBytes = batchSizeAt(bytes, at);
    if (sizeBytes < BATCH_HEADER_BYTES) {
      throw new CorruptRecordError(`batchLength ${sizeBytes - BATCH_LENGTH_PREFIX_BYTES} is smaller than a header`, at);
    }
    if (sizeBytes > limits.maxBatchBytes) throw new MessageTooLargeError(sizeBytes, limits.maxBatchBytes);
    if (bytes.length - at < sizeBytes) break;
    const header = validateBatch(bytes, at, limits.maxBatchBytes);
    batches.push(decodeValidated(bytes, at, header, limits));
    at += sizeBytes;
  }
  return batches;
}
