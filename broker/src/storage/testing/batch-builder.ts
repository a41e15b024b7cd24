/**
 * Test-only builder of valid Kafka RecordBatch v2 batches (uncompressed records, correctly
 * varint-encoded, CRC-32C via `computeBatchCrc`), so storage tests do not depend on the codec.
 * Not part of the build (tsconfig.build.json excludes `testing/`).
 */
import { BATCH_HEADER_BYTES, HeaderOffset, computeBatchCrc, writeInt64 } from "@sluice/protocol";

export interface TestBatchOptions {
  /** Records in the batch (default 1). */
  readonly records?: number;
  /** Bytes of each record's value (default 16). */
  readonly valueBytes?: number;
  /** Bytes of each record's key; -1 for a null key (default -1). */
  readonly keyBytes?: number;
  /** First record's timestamp (default 1_700_000_000_000). */
  readonly baseTimestampMs?: number;
  /** Timestamp step between records (default 0); maxTimestamp = base + (records-1)*step. */
  readonly timestampStepMs?: number;
  /** Overrides the header's maxTimestamp (to test non-monotonic or missing timestamps). */
  readonly maxTimestampMs?: number;
  readonly baseOffset?: number;
  readonly leaderEpoch?: number;
  /** Seeds the value bytes, so different batches have different contents (default 0). */
  readonly seed?: number;
}

function varint(value: number, out: number[]): void {
  // Zig-zag, then unsigned base-128 (numbers are safe here: test values stay far below 2^52).
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function encodeRecord(index: number, timestampDelta: number, key: Buffer | null, value: Buffer): Buffer {
  const head: number[] = [0];
  varint(timestampDelta, head);
  varint(index, head);
  varint(key === null ? -1 : key.byteLength, head);
  const mid: number[] = [];
  varint(value.byteLength, mid);
  const tail: number[] = [];
  varint(0, tail);
  const bodyLength = head.length + (key?.byteLength ?? 0) + mid.length + value.byteLength + tail.length;
  const length: number[] = [];
  varint(bodyLength, length);
  return Buffer.concat([Buffer.from(length), Buffer.from(head), key ?? Buffer.alloc(0), Buffer.from(mid), value, Buffer.from(tail)]);
}

function filled(bytes: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

export function buildTestBatch(options: TestBatchOptions = {}): Buffer {
  const count = options.records ?? 1;
  if (count < 1) throw new RangeError("a test batch needs at least one record");
  const valueBytes = options.valueBytes ?? 16;
  const keyBytes = options.keyBytes ?? -1;
  const baseTimestamp = options.baseTimestampMs ?? 1_700_000_000_000;
  const step = options.timestampStepMs ?? 0;
  const seed = options.seed ?? 0;
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const key = keyBytes < 0 ? null : filled(keyBytes, seed * 7919 + i + 1);
    records.push(encodeRecord(i, i * step, key, filled(valueBytes, seed * 104729 + i)));
  }
  const body = Buffer.concat(records);
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + body.byteLength);
  writeInt64(batch, HeaderOffset.baseOffset, options.baseOffset ?? 0);
  batch.writeInt32BE(batch.byteLength - 12, HeaderOffset.batchLength);
  batch.writeInt32BE(options.leaderEpoch ?? -1, HeaderOffset.partitionLeaderEpoch);
  batch.writeInt8(2, HeaderOffset.magic);
  batch.writeInt16BE(0, HeaderOffset.attributes);
  batch.writeInt32BE(count - 1, HeaderOffset.lastOffsetDelta);
  writeInt64(batch, HeaderOffset.baseTimestamp, baseTimestamp);
  writeInt64(batch, HeaderOffset.maxTimestamp, options.maxTimestampMs ?? baseTimestamp + (count - 1) * step);
  writeInt64(batch, HeaderOffset.producerId, -1);
  batch.writeInt16BE(-1, HeaderOffset.producerEpoch);
  batch.writeInt32BE(-1, HeaderOffset.baseSequence);
  batch.writeInt32BE(count, HeaderOffset.recordCount);
  body.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.byteLength), HeaderOffset.crc);
  return batch;
}

/** Summary of each batch in `buf` (offsets as stamped), for assertions. */
export function batchesIn(buf: Buffer): Array<{ baseOffset: number; lastOffset: number; leaderEpoch: number; sizeBytes: number }> {
  const out: Array<{ baseOffset: number; lastOffset: number; leaderEpoch: number; sizeBytes: number }> = [];
  let at = 0;
  while (at < buf.byteLength) {
    const baseOffset = Number(buf.readBigInt64BE(at));
    const sizeBytes = buf.readInt32BE(at + HeaderOffset.batchLength) + 12;
    const lastOffset = baseOffset + buf.readInt32BE(at + HeaderOffset.lastOffsetDelta);
    out.push({ baseOffset, lastOffset, leaderEpoch: buf.readInt32BE(at + HeaderOffset.partitionLeaderEpoch), sizeBytes });
    at += sizeBytes;
  }
  return out;
}

/** Re-stamps a copy of `batch` with a base offset and epoch (as a leader would), for follower tests. */
export function stampedCopy(batch: Buffer, baseOffset: number, leaderEpoch: number): Buffer {
  const copy = Buffer.from(batch);
  writeInt64(copy, HeaderOffset.baseOffset, baseOffset);
  copy.writeInt32BE(leaderEpoch, HeaderOffset.partitionLeaderEpoch);
  return copy;
}
