/**
 * Test-only helpers for compaction tests: keyed batches through the real codec, and reading a
 * whole log back as records while checking that batches and offsets only ever increase. Not
 * part of the build (tsconfig.build.json excludes `testing/`).
 */
import { CompressionCodec, decodeRecordBatch, encodeRecordBatch, type CompressionCodecId } from "@sluice/protocol";
import { expect } from "vitest";
import type { PartitionLog } from "../../partition-log.js";

export interface TestRecord {
  readonly key: string | null;
  /** null: a tombstone. */
  readonly value: string | null;
  readonly timestamp?: number;
}

export interface StoredRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: number;
}

export interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Buffer;
  readonly records: readonly StoredRecord[];
}

export const codecs: readonly CompressionCodecId[] = [CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd];

export function keyedBatch(records: readonly TestRecord[], options: { compression?: CompressionCodecId; now?: number; producerId?: number; producerEpoch?: number; baseSequence?: number } = {}): Buffer {
  return encodeRecordBatch({
    records: records.map((r) => ({
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
    })),
    compression: options.compression ?? CompressionCodec.none,
    now: options.now ?? 1_700_000_000_000,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: options.baseSequence,
  });
}

/** Every batch of the log, from the log start, in order; checks they (and their records) strictly increase. */
export async function readBatches(log: PartitionLog, from?: number): Promise<StoredBatch[]> {
  const batches: StoredBatch[] = [];
  let offset = from ?? (log.logStartOffset as number);
  let previousLast = -1;
  let previousRecord = -1;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 1 << 20);
    if (result.records.byteLength === 0) break;
    let at = 0;
    while (at < result.records.byteLength) {
      const decoded = decodeRecordBatch(result.records, at, { maxBatchBytes: 1 << 26 });
      const { baseOffset, lastOffsetDelta } = decoded.header;
      expect(baseOffset, "batches strictly increase").toBeGreaterThan(previousLast);
      previousLast = baseOffset + lastOffsetDelta;
      const records: StoredRecord[] = [];
      for (const r of decoded.records) {
        expect(r.offset, "records strictly increase").toBeGreaterThan(previousRecord);
        previousRecord = r.offset;
        records.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
      }
      batches.push({ baseOffset, lastOffset: previousLast, bytes: Buffer.from(result.records.subarray(at, at + decoded.sizeBytes)), records });
      at += decoded.sizeBytes;
    }
    offset = result.nextOffset;
  }
  return batches;
}

/** Every record a consumer reading from `from` (default the log start) receives, at or after `from`. */
export async function readRecords(log: PartitionLog, from?: number): Promise<StoredRecord[]> {
  const start = from ?? (log.logStartOffset as number);
  return (await readBatches(log, start)).flatMap((b) => b.records).filter((r) => r.offset >= start);
}

/** Records as comparable tuples. */
export function tuples(records: readonly StoredRecord[]): Array<[number, string | null, string | null]> {
  return records.map((r) => [r.offset, r.key, r.value]);
}
