/**
 * The reference encoder: encodeRecordBatch as it was before RecordBatchBuilder (a measuring
 * pass over every record, then a writing pass). Kept only as the naive model that the builder's
 * property tests compare against byte for byte (builder.test.ts); nothing else imports it.
 *
 * How the header is filled: see encode.ts (same rules, same checks).
 */
import { assert } from "../../assert.js";
import { InvalidRecordError, MessageTooLargeError, UnsupportedCompressionError } from "../../errors.js";
import { compress } from "../../compression/index.js";
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  CompressionCodec,
  HeaderOffset,
  MAGIC_V2,
  computeBatchCrc,
  writeInt64,
  type CompressionCodecId,
} from "../header.js";
import { ENCODED_BATCH_BYTES_MAX } from "../limits.js";
import type { BatchInput, RecordInput } from "../record.js";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "../varint.js";

const INT32_MAX = 0x7fff_ffff;

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRecordError(`${name} ${value} is not an integer in [${min}, ${max}]`);
  }
}

/** checkInt for a field of record `index`: its name is built only on failure (this runs per record). */
function checkRecordInt(index: number, field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) checkInt(`record ${index} ${field}`, value, min, max);
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Per-record sizes from the measuring pass, reused by the writing pass. */
interface Measured {
  readonly timestamps: Float64Array;
  readonly bodyBytes: Int32Array;
  /** UTF-8 byte length of every header key, all records' headers in order. */
  readonly headerKeyBytes: Int32Array;
  readonly offsetDeltas: Int32Array;
  readonly recordsBytes: number;
  /** What the header's baseTimestamp holds: deltas are relative to it. */
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
}

/** `bytes` bytes at the start of `output` when it has room, else a new buffer. */
function outputOf(bytes: number, output: Buffer | undefined): Buffer {
  return output !== undefined && output.length >= bytes ? output.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
}

function nullableBytesSize(value: Uint8Array | null): number {
  return value === null ? 1 : sizeOfVarint(value.byteLength) + value.byteLength;
}

function measure(records: readonly RecordInput[], now: number | undefined, deleteHorizonMs: number | undefined): Measured {
  const count = records.length;
  const timestamps = new Float64Array(count);
  const offsetDeltas = new Int32Array(count);
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  let headerCount = 0;
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp ?? now;
    if (timestamp === undefined) {
      throw new InvalidRecordError(`record ${i} has no timestamp and the batch input has no 'now'`);
    }
    checkRecordInt(i, "timestamp", timestamp, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    timestamps[i] = timestamp;
    if (timestamp < minTimestamp) minTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = record.offsetDelta ?? i;
    checkRecordInt(i, "offsetDelta", offsetDelta, previousDelta + 1, INT32_MAX);
    offsetDeltas[i] = offsetDelta;
    previousDelta = offsetDelta;
    if (record.attributes !== undefined) checkRecordInt(i, "attributes", record.attributes, -128, 127);
    headerCount += record.headers?.length ?? 0;
  }
  const baseTimestamp = deleteHorizonMs ?? minTimestamp;
  for (const edge of [minTimestamp, maxTimestamp]) {
    if (!Number.isSafeInteger(edge - baseTimestamp)) {
      throw new InvalidRecordError(`timestamp ${edge} is too far from the base timestamp ${baseTimestamp} to encode as a delta`);
    }
  }
  const bodyBytes = new Int32Array(count);
  const headerKeyBytes = new Int32Array(headerCount);
  let headerIndex = 0;
  let recordsBytes = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const key = record.key ?? null;
    const value = record.value;
    if (key !== null && !isBytes(key)) throw new InvalidRecordError(`record ${i} key is not a Buffer or null`);
    if (value !== null && !isBytes(value)) throw new InvalidRecordError(`record ${i} value is not a Buffer or null`);
    let body =
      1 + // attributes
      sizeOfVarlong(timestamps[i]! - baseTimestamp) +
      sizeOfVarint(offsetDeltas[i]!) +
      nullableBytesSize(key) +
      nullableBytesSize(value);
    const headers = record.headers ?? [];
    body += sizeOfVarint(headers.length);
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h]!;
      if (typeof header.key !== "string") throw new InvalidRecordError(`record ${i} header ${h} key is not a string`);
      if (header.value !== null && !isBytes(header.value)) {
        throw new InvalidRecordError(`record ${i} header ${h} value is not a Buffer or null`);
      }
      const keyBytes = Buffer.byteLength(header.key, "utf8");
      headerKeyBytes[headerIndex++] = keyBytes;
      body += sizeOfVarint(keyBytes) + keyBytes + nullableBytesSize(header.value);
    }
    if (body > INT32_MAX) throw new MessageTooLargeError(body, INT32_MAX);
    bodyBytes[i] = body;
    recordsBytes += sizeOfVarint(body) + body;
    if (recordsBytes > ENCODED_BATCH_BYTES_MAX) throw new MessageTooLargeError(recordsBytes, ENCODED_BATCH_BYTES_MAX);
  }
  return { timestamps, bodyBytes, headerKeyBytes, offsetDeltas, recordsBytes, baseTimestamp, maxTimestamp };
}

function writeNullableBytes(out: Buffer, at: number, value: Uint8Array | null): number {
  if (value === null) return writeVarint(out, at, -1);
  const pos = writeVarint(out, at, value.byteLength);
  out.set(value, pos);
  return pos + value.byteLength;
}

/** Writes every record into `out` from `at`; returns the position after the last. */
function writeRecords(out: Buffer, at: number, records: readonly RecordInput[], measured: Measured): number {
  let pos = at;
  let headerIndex = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const start = pos;
    pos = writeVarint(out, pos, measured.bodyBytes[i]!);
    const bodyStart = pos;
    out[pos++] = (record.attributes ?? 0) & 0xff; // unused by Kafka so far
    pos = writeVarlong(out, pos, measured.timestamps[i]! - measured.baseTimestamp);
    pos = writeVarint(out, pos, measured.offsetDeltas[i]!);
    pos = writeNullableBytes(out, pos, record.key ?? null);
    pos = writeNullableBytes(out, pos, record.value);
    const headers = record.headers ?? [];
    pos = writeVarint(out, pos, headers.length);
    for (const header of headers) {
      const keyBytes = measured.headerKeyBytes[headerIndex++]!;
      pos = writeVarint(out, pos, keyBytes);
      pos += out.write(header.key, pos, keyBytes, "utf8");
      pos = writeNullableBytes(out, pos, header.value);
    }
    // The message is built only on failure: this runs for every record.
    if (pos - bodyStart !== measured.bodyBytes[i]) assert(false, `record ${i} wrote ${pos - bodyStart} bytes, measured ${measured.bodyBytes[i]}`);
    assert(pos > start);
  }
  return pos;
}

/**
 * Encodes one RecordBatch v2. Synchronous; compression runs inline. With `output` large enough
 * for the batch, the batch is written at its start and the result is a view of it (a producer
 * reusing batch buffers); otherwise the result is a new buffer.
 */
export function referenceEncodeRecordBatch(input: BatchInput, output?: Buffer): Buffer {
  const records = input.records;
  if (!Array.isArray(records) || records.length === 0) throw new InvalidRecordError("a batch needs at least one record");
  const codec: CompressionCodecId = input.compression ?? CompressionCodec.none;
  if (!Number.isInteger(codec) || codec < CompressionCodec.none || codec > CompressionCodec.zstd) {
    throw new UnsupportedCompressionError(codec);
  }
  const baseOffset = input.baseOffset ?? 0;
  const partitionLeaderEpoch = input.partitionLeaderEpoch ?? -1;
  const producerId = input.producerId ?? -1;
  const producerEpoch = input.producerEpoch ?? -1;
  const baseSequence = input.baseSequence ?? -1;
  checkInt("partitionLeaderEpoch", partitionLeaderEpoch, -1, INT32_MAX);
  checkInt("producerId", producerId, -1, Number.MAX_SAFE_INTEGER);
  checkInt("producerEpoch", producerEpoch, -1, 0x7fff);
  checkInt("baseSequence", baseSequence, -1, INT32_MAX);
  checkInt("record count", records.length, 1, INT32_MAX);
  if (input.deleteHorizonMs !== undefined) checkInt("deleteHorizonMs", input.deleteHorizonMs, 0, Number.MAX_SAFE_INTEGER);

  const measured = measure(records, input.now, input.deleteHorizonMs);
  const lastRecordDelta = measured.offsetDeltas[records.length - 1]!;
  const lastOffsetDelta = input.lastOffsetDelta ?? lastRecordDelta;
  checkInt("lastOffsetDelta", lastOffsetDelta, lastRecordDelta, INT32_MAX);
  checkInt("baseOffset", baseOffset, 0, Number.MAX_SAFE_INTEGER - lastOffsetDelta);
  let out: Buffer;
  if (codec === CompressionCodec.none) {
    out = outputOf(BATCH_HEADER_BYTES + measured.recordsBytes, output);
    const end = writeRecords(out, BATCH_HEADER_BYTES, records, measured);
    assert(end === out.length, `records end at ${end}, batch is ${out.length} bytes`);
  } else {
    const scratch = Buffer.allocUnsafe(measured.recordsBytes);
    const end = writeRecords(scratch, 0, records, measured);
    assert(end === scratch.length, `records end at ${end}, scratch is ${scratch.length} bytes`);
    const compressed = compress(codec, scratch);
    if (BATCH_HEADER_BYTES + compressed.length > ENCODED_BATCH_BYTES_MAX) {
      throw new MessageTooLargeError(BATCH_HEADER_BYTES + compressed.length, ENCODED_BATCH_BYTES_MAX);
    }
    out = outputOf(BATCH_HEADER_BYTES + compressed.length, output);
    out.set(compressed, BATCH_HEADER_BYTES);
  }

  let attributes: number = codec;
  if (input.timestampType === "log-append") attributes |= Attributes.timestampTypeLogAppend;
  if (input.transactional === true) attributes |= Attributes.transactional;
  if (input.control === true) attributes |= Attributes.control;
  if (input.deleteHorizonMs !== undefined) attributes |= Attributes.deleteHorizon;

  writeInt64(out, HeaderOffset.baseOffset, baseOffset);
  out.writeInt32BE(out.length - BATCH_LENGTH_PREFIX_BYTES, HeaderOffset.batchLength);
  out.writeInt32BE(partitionLeaderEpoch, HeaderOffset.partitionLeaderEpoch);
  out.writeInt8(MAGIC_V2, HeaderOffset.magic);
  out.writeInt16BE(attributes, HeaderOffset.attributes);
  out.writeInt32BE(lastOffsetDelta, HeaderOffset.lastOffsetDelta);
  writeInt64(out, HeaderOffset.baseTimestamp, measured.baseTimestamp);
  writeInt64(out, HeaderOffset.maxTimestamp, measured.maxTimestamp);
  writeInt64(out, HeaderOffset.producerId, producerId);
  out.writeInt16BE(producerEpoch, HeaderOffset.producerEpoch);
  out.writeInt32BE(baseSequence, HeaderOffset.baseSequence);
  out.writeInt32BE(records.length, HeaderOffset.recordCount);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), HeaderOffset.crc);
  return out;
}
