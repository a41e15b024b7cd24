/**
 * The narrow view of the storage engine that the partition layer needs: one partition log and
 * a manager of many. `storage-adapter.ts` implements it over `broker/src/storage`; keeping the
 * seam this small is what lets the partition layer and its tests stay independent of how
 * segments, indexes and file handles work.
 *
 * Contract the storage engine provides (and the partition layer relies on):
 * - `append` validates every batch (CRC, size, magic) before writing anything; on any bad batch
 *   it throws a typed SluiceError and the log is unchanged. (The topic's current
 *   max.message.bytes is checked by the partition layer, so changing it applies at once.)
 * - Appends to one log take offsets in call order, and their promises resolve in call order once
 *   the bytes are as durable as the fsync policy says (under `always`: fdatasync'ed).
 * - `read` returns whole batches starting at the batch holding `offset`, at least one batch even
 *   over the budget, never a batch at or above `maxOffset` (exclusive), CRC-checked.
 */
import type { TopicConfig } from "../metadata/topic-config.js";

export interface LogAppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The time storage stamped into the batches for LogAppendTime topics; undefined otherwise. */
  readonly logAppendTimeMs: number | undefined;
}

export interface LogReadResult {
  /** Whole batches, concatenated; empty when there is nothing at or after the offset below `maxOffset`. */
  readonly records: Buffer;
}

export interface TimestampLookup {
  readonly offset: number;
  readonly timestamp: number;
}

export interface PartitionLog {
  readonly logStartOffset: number;
  /** Next offset to be assigned. */
  readonly logEndOffset: number;
  readonly sizeBytes: number;
  /** Leader append: validates, stamps offsets and `leaderEpoch` in place, writes. */
  append(records: Buffer, leaderEpoch: number): Promise<LogAppendResult>;
  /**
   * Throws OffsetOutOfRangeError when offset < logStartOffset or offset > logEndOffset. With
   * `buffer`, the records may be a view of it (read into it instead of a fresh allocation); the
   * caller must not reuse `buffer` while it still needs the result.
   */
  read(offset: number, maxBytes: number, maxOffset: number, buffer?: Buffer): Promise<LogReadResult>;
  /** First offset whose timestamp is >= `timestampMs`, or null when there is none. */
  offsetForTimestamp(timestampMs: number): Promise<TimestampLookup | null>;
  /**
   * Hands changed topic configs to storage. Returns false when storage can only apply them when
   * the log is next opened (the storage engine applies them at once and returns true).
   */
  updateConfig(config: TopicConfig): boolean;
}

export interface PartitionKey {
  readonly topic: string;
  readonly partition: number;
}

export interface LogStoreStats {
  readonly openSegments: number;
  readonly openFiles: number;
}

export interface LogStore {
  /** Opens the partition's log, creating an empty one if it does not exist. */
  openLog(key: PartitionKey, config: TopicConfig): Promise<PartitionLog>;
  /** Closes and removes the partition's files. */
  deleteLog(key: PartitionKey): Promise<void>;
  /** Partitions that have a directory on disk (to find leftovers of deleted topics). */
  listLogs(): Promise<PartitionKey[]>;
  stats(): LogStoreStats;
  /** Whether the last shutdown was clean (no recovery scan was needed on open). */
  readonly recoveredUncleanly: boolean;
  /** Flushes and closes every log, leaving the clean-shutdown marker. */
  close(): Promise<void>;
}
