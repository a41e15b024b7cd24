/**
 * RecordBatchBuilder: one Kafka RecordBatch v2 encoded while its records arrive (layout:
 * header.ts for the 61-byte header, record.ts for each record).
 *
 * Why: a producer that keeps records as objects until their batch closes pays for them twice:
 * the objects survive young-generation collections while they wait, and a measuring pass walks
 * them all again before the writing pass. Here `append` measures one record (its exact size is
 * known as soon as the base timestamp is, i.e. from the first record on) and writes it at once,
 * straight from the caller's key, value and headers (bytes or UTF-8 strings), behind a 61-byte
 * gap left for the header. `finish` writes the header, compresses the records section when the
 * codec is not none, and computes the CRC.
 *
 * How the header is filled (encode.ts's rules, except where the base timestamp comes from):
 *   baseTimestamp  the `baseTimestamp` option, else the delete horizon, else the first
 *                  record's timestamp (as Kafka's Java producer does: a later record with an
 *                  earlier timestamp gets a negative delta, which every reader adds alike)
 *   maxTimestamp   the largest record timestamp
 *   offsetDelta    the record's index, or the `offsetDelta` argument (strictly increasing);
 *                  lastOffsetDelta = the last record's, or the `lastOffsetDelta` option (>= it)
 *   attributes     codec | 0x08 log-append | 0x10 transactional | 0x20 control | 0x40 delete horizon
 *   crc            CRC-32C of [attributes, end), written last
 *
 * Memory: the records go into the buffer given (or one of BUILDER_BUFFER_BYTES_DEFAULT); when
 * they outgrow it, `grow` (an option: the producer hands out reused buffers there) or doubling
 * supplies a larger one and the bytes written so far are copied over once.
 *
 * Invariants: an `append` that throws (InvalidRecordError, MessageTooLargeError) or refuses a
 * record (returns 0: the batch would pass `limitBytes`) leaves the builder as it was; bytes
 * [BATCH_HEADER_BYTES, sizeBytes) of `buffer` are the records appended, in order; `finish` runs
 * once, and nothing is appended after it.
 */
import { assert } from "../assert.js";
import { compress } from "../compression/index.js";
import { InvalidRecordError, MessageTooLargeError, UnsupportedCompressionError } from "../errors.js";
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
} from "./header.js";
import { BUILDER_BUFFER_BYTES_DEFAULT, ENCODED_BATCH_BYTES_MAX } from "./limits.js";
import type { BatchHeaderInput } from "./record.js";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "./varint.js";

const INT32_MAX = 0x7fff_ffff;

/** A key, value or header value as the builder takes it: bytes, or a string written as UTF-8. */
export type RecordBytes = Uint8Array | string;

export interface RecordHeaderInput {
  readonly key: string;
  readonly value: RecordBytes | null;
}

/** Headers as a list (keys may repeat) or as an object (its own enumerable keys, in order). */
export type RecordHeadersInput = readonly RecordHeaderInput[] | Readonly<Record<string, RecordBytes | null>>;

export interface BatchBuilderOptions extends BatchHeaderInput {
  /** The header's baseTimestamp, deltas being relative to it; default: the first record's timestamp. */
  readonly baseTimestamp?: number;
  /**
   * KIP-534 delete horizon: sets the deleteHorizon attribute and is the base timestamp (unless
   * `baseTimestamp` is given too). Set by log compaction only.
   */
  readonly deleteHorizonMs?: number;
  /** The header's lastOffsetDelta; default the last record's offset delta (it may not be smaller). */
  readonly lastOffsetDelta?: number;
  /**
   * `append` refuses (returns 0) a record that would make the uncompressed batch, header
   * included, larger than this, unless the batch is empty. Default ENCODED_BATCH_BYTES_MAX.
   */
  readonly limitBytes?: number;
  /**
   * Returns a buffer of at least `neededBytes` when the records outgrow `current` (the builder
   * copies its bytes over and stops using `current`). Default: a new buffer, twice as large.
   */
  readonly grow?: (neededBytes: number, current: Buffer) => Buffer;
}

export function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRecordError(`${name} ${value} is not an integer in [${min}, ${max}]`);
  }
}

/** checkInt for a field of record `index`: its name is built only on failure (this runs per record). */
export function checkRecordInt(index: number, field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) checkInt(`record ${index} ${field}`, value, min, max);
}

/** What `bytesLength` returns for a value that is neither bytes nor a string. */
const NOT_BYTES = -2;

/** Encoded length of a non-null key, value or header value; NOT_BYTES when it is neither bytes nor a string. */
function bytesLength(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  return NOT_BYTES;
}

function nullableSize(length: number): number {
  return length < 0 ? 1 : sizeOfVarint(length) + length;
}

/** Writes a nullable bytes field whose length (`length`, -1 for null) was measured. */
function writeField(out: Buffer, at: number, value: RecordBytes | null, length: number): number {
  const pos = writeVarint(out, at, length);
  if (value === null) return pos;
  if (typeof value === "string") out.write(value, pos, length, "utf8");
  else out.set(value, pos);
  return pos + length;
}

/** Measured header value: its length, checking its type. */
function headerValueLength(index: number, h: number, value: unknown): number {
  if (value === null) return -1;
  const length = bytesLength(value);
  if (length === NOT_BYTES) throw new InvalidRecordError(`record ${index} header ${h} value is not bytes, a string or null`);
  return length;
}

/** Bytes of the headers count and every header of record `index`, checking their types. */
function headersSize(index: number, headers: RecordHeadersInput): number {
  if (Array.isArray(headers)) {
    const list = headers as readonly RecordHeaderInput[];
    let bytes = sizeOfVarint(list.length);
    for (let h = 0; h < list.length; h++) {
      const header = list[h];
      if (typeof header !== "object" || header === null || typeof header.key !== "string") {
        throw new InvalidRecordError(`record ${index} header ${h} key is not a string`);
      }
      const keyBytes = Buffer.byteLength(header.key, "utf8");
      bytes += sizeOfVarint(keyBytes) + keyBytes + nullableSize(headerValueLength(index, h, header.value));
    }
    return bytes;
  }
  if (typeof headers !== "object" || headers === null) throw new InvalidRecordError(`record ${index} headers are neither a list nor an object`);
  const keys = Object.keys(headers);
  const map = headers as Readonly<Record<string, RecordBytes | null>>;
  let bytes = sizeOfVarint(keys.length);
  for (let h = 0; h < keys.length; h++) {
    const key = keys[h]!;
    const keyBytes = Buffer.byteLength(key, "utf8");
    bytes += sizeOfVarint(keyBytes) + keyBytes + nullableSize(headerValueLength(index, h, map[key]));
  }
  return bytes;
}

function writeHeader(out: Buffer, at: number, key: string, value: RecordBytes | null): number {
  const keyBytes = Buffer.byteLength(key, "utf8");
  let pos = writeVarint(out, at, keyBytes);
  pos += out.write(key, pos, keyBytes, "utf8");
  return writeField(out, pos, value, value === null ? -1 : bytesLength(value));
}

/** Writes headers `headersSize` measured (and checked). */
function writeHeaders(out: Buffer, at: number, headers: RecordHeadersInput): number {
  if (Array.isArray(headers)) {
    const list = headers as readonly RecordHeaderInput[];
    let pos = writeVarint(out, at, list.length);
    for (const header of list) pos = writeHeader(out, pos, header.key, header.value);
    return pos;
  }
  const map = headers as Readonly<Record<string, RecordBytes | null>>;
  const keys = Object.keys(map);
  let pos = writeVarint(out, at, keys.length);
  for (const key of keys) pos = writeHeader(out, pos, key, map[key]!);
  return pos;
}

/** Length of a record's key (undefined: null) or value, -1 for null; checks its type. */
function fieldLength(index: number, what: "key" | "value", field: unknown): number {
  if (field === null || (field === undefined && what === "key")) return -1;
  const length = bytesLength(field);
  if (length === NOT_BYTES) throw new InvalidRecordError(`record ${index} ${what} is not bytes, a string or null`);
  return length;
}

/** Body bytes of a record whose key and value lengths (-1: null) are measured. */
function bodyBytes(index: number, timestampDelta: number, offsetDelta: number, keyLength: number, valueLength: number, headers: RecordHeadersInput | undefined): number {
  const body =
    1 + // attributes
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    nullableSize(keyLength) +
    nullableSize(valueLength) +
    (headers === undefined ? 1 : headersSize(index, headers));
  if (body > INT32_MAX) throw new MessageTooLargeError(body, INT32_MAX);
  return body;
}

/**
 * Exact bytes of one record's body (everything after its length prefix) with these deltas,
 * checking the types of its key, value and headers. `key` undefined counts as null; `value`
 * must be given. The whole record is `sizeOfVarint(body) + body` bytes.
 */
export function recordBodyBytes(index: number, timestampDelta: number, offsetDelta: number, key: unknown, value: unknown, headers: RecordHeadersInput | undefined): number {
  return bodyBytes(index, timestampDelta, offsetDelta, fieldLength(index, "key", key), fieldLength(index, "value", value), headers);
}

/**
 * Checks a batch's header fields against their wire ranges: InvalidRecordError, or
 * UnsupportedCompressionError for an unknown codec. (The builder's constructor runs it.)
 */
export function checkBatchOptions(options: BatchBuilderOptions): void {
  const codec = options.compression ?? CompressionCodec.none;
  if (!Number.isInteger(codec) || codec < CompressionCodec.none || codec > CompressionCodec.zstd) {
    throw new UnsupportedCompressionError(codec);
  }
  checkInt("partitionLeaderEpoch", options.partitionLeaderEpoch ?? -1, -1, INT32_MAX);
  checkInt("producerId", options.producerId ?? -1, -1, Number.MAX_SAFE_INTEGER);
  checkInt("producerEpoch", options.producerEpoch ?? -1, -1, 0x7fff);
  checkInt("baseSequence", options.baseSequence ?? -1, -1, INT32_MAX);
  checkInt("baseOffset", options.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  if (options.deleteHorizonMs !== undefined) checkInt("deleteHorizonMs", options.deleteHorizonMs, 0, Number.MAX_SAFE_INTEGER);
  if (options.baseTimestamp !== undefined) checkInt("baseTimestamp", options.baseTimestamp, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (options.lastOffsetDelta !== undefined) checkInt("lastOffsetDelta", options.lastOffsetDelta, 0, INT32_MAX);
}

export class RecordBatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;
  private count = 0;
  private base: number;
  private readonly baseFixed: boolean;
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  private lastDelta = -1;
  private finished = false;
  private readonly codec: CompressionCodecId;
  private readonly attributes: number;
  private readonly baseOffset: number;
  private readonly partitionLeaderEpoch: number;
  private readonly producerId: number;
  private readonly producerEpoch: number;
  private readonly baseSequence: number;
  private readonly lastOffsetDeltaOption: number | undefined;
  private readonly limitBytes: number;
  private readonly grow: ((neededBytes: number, current: Buffer) => Buffer) | undefined;

  /** Checks every header field (InvalidRecordError, UnsupportedCompressionError) before anything is written. */
  constructor(options: BatchBuilderOptions = {}, buffer?: Buffer) {
    checkBatchOptions(options);
    const codec: CompressionCodecId = options.compression ?? CompressionCodec.none;
    this.codec = codec;
    this.baseOffset = options.baseOffset ?? 0;
    this.partitionLeaderEpoch = options.partitionLeaderEpoch ?? -1;
    this.producerId = options.producerId ?? -1;
    this.producerEpoch = options.producerEpoch ?? -1;
    this.baseSequence = options.baseSequence ?? -1;
    this.lastOffsetDeltaOption = options.lastOffsetDelta;
    const base = options.baseTimestamp ?? options.deleteHorizonMs;
    this.baseFixed = base !== undefined;
    this.base = base ?? 0;
    let attributes: number = codec;
    if (options.timestampType === "log-append") attributes |= Attributes.timestampTypeLogAppend;
    if (options.transactional === true) attributes |= Attributes.transactional;
    if (options.control === true) attributes |= Attributes.control;
    if (options.deleteHorizonMs !== undefined) attributes |= Attributes.deleteHorizon;
    this.attributes = attributes;
    this.limitBytes = options.limitBytes ?? ENCODED_BATCH_BYTES_MAX;
    assert(Number.isSafeInteger(this.limitBytes) && this.limitBytes > BATCH_HEADER_BYTES, `limitBytes ${this.limitBytes} must exceed a batch header`);
    this.grow = options.grow;
    assert(buffer === undefined || buffer.length >= BATCH_HEADER_BYTES, "a batch buffer holds at least the header");
    this.buf = buffer ?? Buffer.allocUnsafe(BUILDER_BUFFER_BYTES_DEFAULT);
  }

  get recordCount(): number {
    return this.count;
  }

  /** Bytes of the batch so far before compression: the header plus every record appended. */
  get sizeBytes(): number {
    return this.pos;
  }

  /** The buffer the records are written into (it changes when they outgrow it). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** The header's baseTimestamp (meaningful once a record was appended or when it was fixed). */
  get baseTimestamp(): number {
    return this.base;
  }

  /**
   * Encodes one record at the end of the batch; returns its size in bytes, or 0 (nothing
   * written) when it would take a non-empty batch past `limitBytes`. `key` undefined is a null
   * key; `offsetDelta` defaults to the record's index, `attributes` to 0. Bad fields throw
   * InvalidRecordError (MessageTooLargeError for sizes past the format's bounds), with the
   * builder unchanged.
   */
  append(
    timestamp: number,
    key: RecordBytes | null | undefined,
    value: RecordBytes | null,
    headers?: RecordHeadersInput,
    offsetDelta?: number,
    attributes?: number,
  ): number {
    assert(!this.finished, "append to a finished record batch");
    const index = this.count;
    checkRecordInt(index, "timestamp", timestamp, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const base = index === 0 && !this.baseFixed ? timestamp : this.base;
    const timestampDelta = timestamp - base;
    if (!Number.isSafeInteger(timestampDelta)) {
      throw new InvalidRecordError(`timestamp ${timestamp} is too far from the base timestamp ${base} to encode as a delta`);
    }
    const delta = offsetDelta ?? index;
    checkRecordInt(index, "offsetDelta", delta, this.lastDelta + 1, INT32_MAX);
    if (attributes !== undefined) checkRecordInt(index, "attributes", attributes, -128, 127);
    if (index === INT32_MAX) throw new InvalidRecordError(`a batch holds at most ${INT32_MAX} records`);
    const keyLength = fieldLength(index, "key", key);
    const valueLength = fieldLength(index, "value", value);
    const body = bodyBytes(index, timestampDelta, delta, keyLength, valueLength, headers);
    const size = sizeOfVarint(body) + body;
    const end = this.pos + size;
    if (end > this.limitBytes && index > 0) return 0;
    if (end > ENCODED_BATCH_BYTES_MAX) throw new MessageTooLargeError(end, ENCODED_BATCH_BYTES_MAX);
    if (end > this.buf.length) this.growTo(end);

    const out = this.buf;
    let pos = writeVarint(out, this.pos, body);
    out[pos++] = (attributes ?? 0) & 0xff; // unused by Kafka so far
    pos = writeVarlong(out, pos, timestampDelta);
    pos = writeVarint(out, pos, delta);
    pos = writeField(out, pos, key ?? null, keyLength);
    pos = writeField(out, pos, value, valueLength);
    if (headers === undefined) out[pos++] = 0; // no headers
    else pos = writeHeaders(out, pos, headers);
    // The message is built only on failure: this runs for every record.
    if (pos !== end) assert(false, `record ${index} wrote ${pos - this.pos} bytes, measured ${size}`);

    this.pos = end;
    this.count = index + 1;
    this.lastDelta = delta;
    this.base = base;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    return size;
  }

  /**
   * Completes the batch: header, compression, CRC. The result is written at the start of
   * `output` when that has room, else of the builder's buffer when that has room (a compressed
   * records section replaces the plain one there), else into a new buffer; it is a view, so
   * whoever owns that buffer must keep it unchanged while the batch is in use.
   */
  finish(output?: Buffer): Buffer {
    assert(!this.finished, "a record batch is finished once");
    if (this.count === 0) throw new InvalidRecordError("a batch needs at least one record");
    const lastOffsetDelta = this.lastOffsetDeltaOption ?? this.lastDelta;
    checkInt("lastOffsetDelta", lastOffsetDelta, this.lastDelta, INT32_MAX);
    checkInt("baseOffset", this.baseOffset, 0, Number.MAX_SAFE_INTEGER - lastOffsetDelta);
    let out: Buffer;
    if (this.codec === CompressionCodec.none) {
      const size = this.pos;
      if (output !== undefined && output.length >= size && output !== this.buf) {
        out = output.subarray(0, size);
        out.set(this.buf.subarray(BATCH_HEADER_BYTES, size), BATCH_HEADER_BYTES);
      } else {
        out = this.buf.subarray(0, size);
      }
    } else {
      const compressed = compress(this.codec, this.buf.subarray(BATCH_HEADER_BYTES, this.pos));
      const size = BATCH_HEADER_BYTES + compressed.length;
      if (size > ENCODED_BATCH_BYTES_MAX) throw new MessageTooLargeError(size, ENCODED_BATCH_BYTES_MAX);
      const target = output !== undefined && output.length >= size ? output : this.buf.length >= size ? this.buf : Buffer.allocUnsafe(size);
      out = target.subarray(0, size);
      out.set(compressed, BATCH_HEADER_BYTES);
    }
    this.finished = true;
    writeInt64(out, HeaderOffset.baseOffset, this.baseOffset);
    out.writeInt32BE(out.length - BATCH_LENGTH_PREFIX_BYTES, HeaderOffset.batchLength);
    out.writeInt32BE(this.partitionLeaderEpoch, HeaderOffset.partitionLeaderEpoch);
    out.writeInt8(MAGIC_V2, HeaderOffset.magic);
    out.writeInt16BE(this.attributes, HeaderOffset.attributes);
    out.writeInt32BE(lastOffsetDelta, HeaderOffset.lastOffsetDelta);
    writeInt64(out, HeaderOffset.baseTimestamp, this.base);
    writeInt64(out, HeaderOffset.maxTimestamp, this.maxTimestamp);
    writeInt64(out, HeaderOffset.producerId, this.producerId);
    out.writeInt16BE(this.producerEpoch, HeaderOffset.producerEpoch);
    out.writeInt32BE(this.baseSequence, HeaderOffset.baseSequence);
    out.writeInt32BE(this.count, HeaderOffset.recordCount);
    out.writeUInt32BE(computeBatchCrc(out, 0, out.length), HeaderOffset.crc);
    return out;
  }

  private growTo(neededBytes: number): void {
    const current = this.buf;
    const next = this.grow?.(neededBytes, current) ?? Buffer.allocUnsafe(Math.max(neededBytes, Math.min(2 * current.length, ENCODED_BATCH_BYTES_MAX)));
    assert(next.length >= neededBytes && next !== current, `grow returned ${next.length} bytes, ${neededBytes} needed`);
    next.set(current.subarray(BATCH_HEADER_BYTES, this.pos), BATCH_HEADER_BYTES);
    this.buf = next;
  }
}
