/**
 * Test-only builders for raw RecordBatch v2 bytes, valid or deliberately broken: a header with
 * any field values, a records section of any bytes, and a correct CRC (unless told otherwise)
 * so that tests reach the record parser rather than stopping at the checksum.
 */
import { BATCH_HEADER_BYTES, HeaderOffset, computeBatchCrc, writeInt64 } from "../record-batch/header.js";
import { writeVarint, writeVarlong } from "../record-batch/varint.js";

export interface RawHeader {
  readonly baseOffset?: number;
  /** Defaults to the real length. */
  readonly batchLength?: number;
  readonly partitionLeaderEpoch?: number;
  readonly magic?: number;
  readonly attributes?: number;
  readonly lastOffsetDelta?: number;
  readonly baseTimestamp?: number;
  readonly maxTimestamp?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly recordCount?: number;
  /** Defaults to the correct CRC-32C. */
  readonly crc?: number;
}

/** A batch from header fields and a records section taken as is. */
export function rawBatch(header: RawHeader, records: Uint8Array): Buffer {
  const out = Buffer.alloc(BATCH_HEADER_BYTES + records.length);
  writeInt64(out, HeaderOffset.baseOffset, header.baseOffset ?? 0);
  out.writeInt32BE(header.batchLength ?? out.length - 12, HeaderOffset.batchLength);
  out.writeInt32BE(header.partitionLeaderEpoch ?? -1, HeaderOffset.partitionLeaderEpoch);
  out.writeInt8(header.magic ?? 2, HeaderOffset.magic);
  out.writeInt16BE(header.attributes ?? 0, HeaderOffset.attributes);
  out.writeInt32BE(header.lastOffsetDelta ?? Math.max(0, (header.recordCount ?? 1) - 1), HeaderOffset.lastOffsetDelta);
  writeInt64(out, HeaderOffset.baseTimestamp, header.baseTimestamp ?? 1_000);
  writeInt64(out, HeaderOffset.maxTimestamp, header.maxTimestamp ?? 1_000);
  writeInt64(out, HeaderOffset.producerId, header.producerId ?? -1);
  out.writeInt16BE(header.producerEpoch ?? -1, HeaderOffset.producerEpoch);
  out.writeInt32BE(header.baseSequence ?? -1, HeaderOffset.baseSequence);
  out.writeInt32BE(header.recordCount ?? 1, HeaderOffset.recordCount);
  out.set(records, BATCH_HEADER_BYTES);
  out.writeUInt32BE(header.crc ?? computeBatchCrc(out, 0, out.length), HeaderOffset.crc);
  return out;
}

/** Rewrites the CRC of the batch at `at` (of `sizeBytes`) so it matches its bytes. */
export function fixCrc(batch: Buffer, at = 0, sizeBytes = batch.length - at): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch, at, sizeBytes), at + HeaderOffset.crc);
  return batch;
}

/** Appends wire fields to a byte list; `raw` for anything the helpers cannot express. */
export class ByteList {
  readonly bytes: number[] = [];

  varint(value: number): this {
    const scratch = new Uint8Array(5);
    this.bytes.push(...scratch.subarray(0, writeVarint(scratch, 0, value)));
    return this;
  }

  varlong(value: number): this {
    const scratch = new Uint8Array(10);
    this.bytes.push(...scratch.subarray(0, writeVarlong(scratch, 0, value)));
    return this;
  }

  raw(...values: number[]): this {
    this.bytes.push(...values);
    return this;
  }

  text(value: string): this {
    this.bytes.push(...Buffer.from(value, "utf8"));
    return this;
  }

  get length(): number {
    return this.bytes.length;
  }

  build(): Buffer {
    return Buffer.from(this.bytes);
  }
}

export interface RawRecord {
  readonly attributes?: number;
  readonly timestampDelta?: number;
  readonly offsetDelta: number;
  /** A string is written as UTF-8 with its length; null writes -1; a number writes that length only. */
  readonly key?: string | null | number;
  readonly value?: string | null | number;
  readonly headers?: ReadonlyArray<readonly [string, string | null]>;
  /** Written instead of headers.length when given. */
  readonly headerCount?: number;
  /** Written instead of the true body length when given. */
  readonly length?: number;
  /** Bytes appended to the body (counted in the true length). */
  readonly extra?: readonly number[];
}

function field(list: ByteList, value: string | null | number | undefined): void {
  if (value === null || value === undefined) list.varint(-1);
  else if (typeof value === "number") list.varint(value);
  else list.varint(Buffer.byteLength(value)).text(value);
}

/** One record's bytes (length prefix included), valid unless the overrides make it not. */
export function rawRecord(record: RawRecord): Buffer {
  const body = new ByteList()
    .raw(record.attributes ?? 0)
    .varlong(record.timestampDelta ?? 0)
    .varint(record.offsetDelta);
  field(body, record.key);
  field(body, record.value ?? "v");
  const headers = record.headers ?? [];
  body.varint(record.headerCount ?? headers.length);
  for (const [key, value] of headers) {
    field(body, key);
    field(body, value);
  }
  body.raw(...(record.extra ?? []));
  return Buffer.concat([new ByteList().varint(record.length ?? body.length).build(), body.build()]);
}
