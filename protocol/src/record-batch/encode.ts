/**
 * Encodes a list of records into one Kafka RecordBatch v2 (layout: header.ts for the 61-byte
 * header, record.ts for each record), through RecordBatchBuilder (builder.ts).
 *
 * How the header is filled:
 *   baseTimestamp  the smallest record timestamp (deltas are then never negative, as kafkajs
 *                  writes them; Kafka's Java client uses the first record's, and readers only
 *                  ever add the delta, so both decode the same); the delete horizon instead
 *                  when `deleteHorizonMs` is given (KIP-534; deltas may then be negative)
 *   maxTimestamp   the largest record timestamp
 *   offsetDelta    the record's index, or `RecordInput.offsetDelta` (strictly increasing: a
 *                  compacted batch keeps each record's offset); lastOffsetDelta = the last
 *                  record's delta, or `BatchInput.lastOffsetDelta` (>= it)
 *   attributes     codec | 0x08 log-append | 0x10 transactional | 0x20 control | 0x40 delete horizon
 *   crc            CRC-32C of [attributes, end), written last
 *
 * The whole list is known here, so sizes are computed first: an uncompressed batch is written
 * into its one output buffer of the exact size; a compressed batch writes its records into one
 * scratch buffer, compresses, then copies into the output. Every input field is checked
 * against its wire range first: a bad input is an InvalidRecordError (or MessageTooLargeError)
 * and nothing is written. Keys, values and header values must be bytes here (RecordInput);
 * the builder also takes strings.
 */
import { assert } from "../assert.js";
import { InvalidRecordError, MessageTooLargeError } from "../errors.js";
import { checkBatchOptions, checkInt, checkRecordInt, recordBodyBytes, RecordBatchBuilder } from "./builder.js";
import { BATCH_HEADER_BYTES, CompressionCodec } from "./header.js";
import { ENCODED_BATCH_BYTES_MAX } from "./limits.js";
import type { BatchInput, RecordInput } from "./record.js";
import { sizeOfVarint } from "./varint.js";

const INT32_MAX = 0x7fff_ffff;

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** `bytes` bytes at the start of `output` when it has room, else a new buffer. */
function outputOf(bytes: number, output: Buffer | undefined): Buffer {
  return output !== undefined && output.length >= bytes ? output.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
}

/** Checks that the record's fields are bytes (RecordInput takes no strings). */
function checkBytesFields(index: number, record: RecordInput): void {
  const key = record.key ?? null;
  if (key !== null && !isBytes(key)) throw new InvalidRecordError(`record ${index} key is not a Buffer or null`);
  if (record.value !== null && !isBytes(record.value)) throw new InvalidRecordError(`record ${index} value is not a Buffer or null`);
  const headers = record.headers;
  if (headers === undefined) return;
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    if (typeof header.key !== "string") throw new InvalidRecordError(`record ${index} header ${h} key is not a string`);
    if (header.value !== null && !isBytes(header.value)) throw new InvalidRecordError(`record ${index} header ${h} value is not a Buffer or null`);
  }
}

/**
 * Encodes one RecordBatch v2. Synchronous; compression runs inline. With `output` large enough
 * for the batch, the batch is written at its start and the result is a view of it; otherwise
 * the result is a new buffer.
 */
export function encodeRecordBatch(input: BatchInput, output?: Buffer): Buffer {
  const records = input.records;
  if (!Array.isArray(records) || records.length === 0) throw new InvalidRecordError("a batch needs at least one record");
  checkInt("record count", records.length, 1, INT32_MAX);
  const count = records.length;
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const timestamp = records[i]!.timestamp ?? input.now;
    if (timestamp === undefined) throw new InvalidRecordError(`record ${i} has no timestamp and the batch input has no 'now'`);
    checkRecordInt(i, "timestamp", timestamp, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    if (timestamp < minTimestamp) minTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
  }
  const baseTimestamp = input.deleteHorizonMs ?? minTimestamp;
  for (const edge of [minTimestamp, maxTimestamp]) {
    if (!Number.isSafeInteger(edge - baseTimestamp)) {
      throw new InvalidRecordError(`timestamp ${edge} is too far from the base timestamp ${baseTimestamp} to encode as a delta`);
    }
  }
  // The builder checks the header fields (and the codec) before the records are measured.
  const options = {
    compression: input.compression,
    baseOffset: input.baseOffset,
    partitionLeaderEpoch: input.partitionLeaderEpoch,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: input.baseSequence,
    timestampType: input.timestampType,
    transactional: input.transactional,
    control: input.control,
    deleteHorizonMs: input.deleteHorizonMs,
    baseTimestamp,
    lastOffsetDelta: input.lastOffsetDelta,
  };
  checkBatchOptions(options);
  let recordsBytes = 0;
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const offsetDelta = record.offsetDelta ?? i;
    checkRecordInt(i, "offsetDelta", offsetDelta, previousDelta + 1, INT32_MAX);
    previousDelta = offsetDelta;
    if (record.attributes !== undefined) checkRecordInt(i, "attributes", record.attributes, -128, 127);
    checkBytesFields(i, record);
    const body = recordBodyBytes(i, (record.timestamp ?? input.now!) - baseTimestamp, offsetDelta, record.key, record.value, record.headers);
    recordsBytes += sizeOfVarint(body) + body;
    if (recordsBytes > ENCODED_BATCH_BYTES_MAX) throw new MessageTooLargeError(recordsBytes, ENCODED_BATCH_BYTES_MAX);
  }
  if (input.lastOffsetDelta !== undefined) checkInt("lastOffsetDelta", input.lastOffsetDelta, previousDelta, INT32_MAX);
  checkInt("baseOffset", input.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER - (input.lastOffsetDelta ?? previousDelta));

  const plain = (input.compression ?? CompressionCodec.none) === CompressionCodec.none;
  const batchBytes = BATCH_HEADER_BYTES + recordsBytes;
  // Uncompressed: straight into the output. Compressed: a scratch buffer, compressed into the output.
  const builder = new RecordBatchBuilder(options, plain ? outputOf(batchBytes, output) : Buffer.allocUnsafe(batchBytes));
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    builder.append(record.timestamp ?? input.now!, record.key, record.value, record.headers, record.offsetDelta, record.attributes);
  }
  assert(builder.sizeBytes === batchBytes, `records end at ${builder.sizeBytes}, measured ${batchBytes}`);
  return builder.finish(plain ? undefined : output);
}
