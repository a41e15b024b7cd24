/**
 * Hooks the metrics and logging layers attach to a log (Redpanda's "probe"): storage calls
 * them synchronously at the events below and never depends on what they do. Every hook is
 * optional; a throwing hook is a bug in the hook and is not caught.
 */

export interface FsyncEvent {
  readonly dir: string;
  /** Wall time of the whole group-commit round (every dirty segment, in order). */
  readonly durationMs: number;
  /** Files fdatasync'ed in the round. */
  readonly files: number;
  /** Appends (write groups) the round made durable. */
  readonly writes: number;
}

export interface CorruptBatchEvent {
  readonly dir: string;
  readonly segmentBaseOffset: number;
  readonly position: number | undefined;
  readonly detail: string;
}

export interface RecoveryEvent {
  readonly dir: string;
  /** True when the clean-shutdown marker was found (no rescan). */
  readonly clean: boolean;
  readonly segmentsScanned: number;
  readonly bytesScanned: number;
  readonly bytesTruncated: number;
  readonly problems: readonly string[];
  readonly durationMs: number;
}

export interface SegmentsDeletedEvent {
  readonly dir: string;
  readonly reason: "retention-time" | "retention-bytes" | "log-start" | "truncate" | "compaction";
  readonly baseOffsets: readonly number[];
  readonly bytes: number;
}

/** One finished clean of one log (compaction/log-cleaner.ts). */
export interface CompactionEvent {
  readonly dir: string;
  /** Where the dirty section began and where the clean section now ends (the new cleaner checkpoint). */
  readonly firstDirtyOffset: number;
  readonly cleanedThroughOffset: number;
  /** Groups of segments replaced by a cleaned segment (groups with nothing to remove are left alone). */
  readonly groupsSwapped: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly recordsRemoved: number;
  readonly tombstonesRemoved: number;
  readonly durationMs: number;
}

/** A clean that stopped before finishing; groups already swapped stay (each swap is atomic). */
export interface CompactionAbortedEvent {
  readonly dir: string;
  /** corrupt: a stored batch failed its checks; conflict: the log changed under the clean; stopped: shutdown or deletion; error: anything else. */
  readonly reason: "corrupt" | "conflict" | "stopped" | "error";
  readonly detail: string;
}

export interface StorageObserver {
  onFsync?(event: FsyncEvent): void;
  onCorruptBatch?(event: CorruptBatchEvent): void;
  onRecovery?(event: RecoveryEvent): void;
  onRoll?(event: { readonly dir: string; readonly baseOffset: number }): void;
  onSegmentsDeleted?(event: SegmentsDeletedEvent): void;
  onCompaction?(event: CompactionEvent): void;
  onCompactionAborted?(event: CompactionAbortedEvent): void;
}

/** Counters a log keeps itself (cheap to read for tests and metrics). */
export interface LogStats {
  appendsTotal: number;
  appendedBytesTotal: number;
  writesTotal: number;
  fsyncRoundsTotal: number;
  corruptBatchesTotal: number;
  rollsTotal: number;
  segmentsDeletedTotal: number;
}

export function emptyLogStats(): LogStats {
  return {
    appendsTotal: 0,
    appendedBytesTotal: 0,
    writesTotal: 0,
    fsyncRoundsTotal: 0,
    corruptBatchesTotal: 0,
    rollsTotal: 0,
    segmentsDeletedTotal: 0,
  };
}
