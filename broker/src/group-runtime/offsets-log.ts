/**
 * The byte side of one `__consumer_offsets` partition for its coordinator: `replayPartition`
 * decodes every record below the high watermark into GroupRecords (what `GroupCoordinator.load`
 * takes), and `encodeGroupRecords` turns one operation's records into RecordBatch v2 batches
 * (uncompressed; the topic is compacted, so keys must stay readable to the cleaner).
 *
 * A record whose key or value the group codec refuses (a foreign or corrupt write that still
 * passed the batch CRC) is skipped with an error log rather than failing the whole partition:
 * one unreadable record must not take every group on the partition offline. Producing to the
 * topic through the public API is refused (metadata/internal-topics.ts), so only a bug or disk
 * tampering can put one there.
 */
import { CorruptRecordError, decodeRecordBatches, encodeRecordBatch, lastOffsetOf, type RecordInput } from "@sluice/protocol";
import { decodeRecord, encodeRecord, type GroupRecord } from "../group/index.js";
import type { Logger } from "../logger.js";
import type { Partition } from "../partition/partition.js";
import { COORDINATOR_BATCH_BYTES_MAX, REPLAY_READ_BYTES } from "./limits.js";

/** Rough per-record overhead in a batch (length, attributes, deltas, header count varints). */
const RECORD_OVERHEAD_BYTES = 24;

export interface ReplayResult {
  readonly records: GroupRecord[];
  /** Records skipped because the group codec refused them. */
  readonly skipped: number;
  /** Offset replay stopped at (the high watermark when it started). */
  readonly endOffset: number;
}

/** Decodes the partition from its log start up to its high watermark (as of the call). */
export async function replayPartition(partition: Partition, logger: Logger): Promise<ReplayResult> {
  const end = partition.highWatermark;
  const records: GroupRecord[] = [];
  let skipped = 0;
  let offset = partition.logStartOffset;
  while (offset < end) {
    const { records: bytes } = await partition.read(offset, REPLAY_READ_BYTES);
    if (bytes.length === 0) break;
    for (const batch of decodeRecordBatches(bytes)) {
      const next = lastOffsetOf(batch.header) + 1;
      if (!batch.isControl) {
        for (const record of batch.records) {
          if (record.offset < offset || record.offset >= end) continue;
          try {
            if (record.key === null) throw new CorruptRecordError("record without a key", 0);
            records.push(decodeRecord(record.key, record.value));
          } catch (error) {
            if (!(error instanceof CorruptRecordError)) throw error;
            skipped++;
            logger.error({ topic: partition.topic, partition: partition.partition, offset: record.offset, err: error.message }, "skipping an unreadable group record");
          }
        }
      }
      offset = Math.max(offset, next);
    }
  }
  return { records, skipped, endOffset: end };
}

/** One operation's records as concatenated batches, each at most COORDINATOR_BATCH_BYTES_MAX (a single record may exceed it alone). */
export function encodeGroupRecords(records: readonly GroupRecord[], nowMs: number): Buffer {
  const batches: Buffer[] = [];
  let pending: RecordInput[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    batches.push(encodeRecordBatch({ records: pending, now: nowMs }));
    pending = [];
    pendingBytes = 0;
  };
  for (const record of records) {
    const { key, value } = encodeRecord(record);
    const size = key.length + (value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
    if (pendingBytes + size > COORDINATOR_BATCH_BYTES_MAX) flush();
    pending.push({ key: Buffer.from(key.buffer, key.byteOffset, key.length), value: value === null ? null : Buffer.from(value.buffer, value.byteOffset, value.length), timestamp: nowMs });
    pendingBytes += size;
  }
  flush();
  return batches.length === 1 ? (batches[0] as Buffer) : Buffer.concat(batches);
}
