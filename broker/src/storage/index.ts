/**
 * @sluice/broker storage: partition logs in Kafka's on-disk format. See README.md for the map
 * of files; the public surface is exactly what is exported here.
 */
export { PartitionLog } from "./partition-log.js";
export type {
  AppendResult,
  PartitionLogOptions,
  ReadOptions,
  ReadResult,
  ReplicatedAppendOptions,
  RetentionResult,
  TimestampOffset,
} from "./partition-log.js";
export { LogManager, parsePartitionDirName, partitionDirName, realTimers, validateTopicName } from "./log-manager.js";
export type { LogManagerOptions, LogManagerStats, RetentionPassResult, Timers, TopicPartition } from "./log-manager.js";
export { compacts, defaultLogConfig, deletes, formatFsyncPolicy, logConfig, parseFsyncPolicy } from "./config.js";
export type { CleanupPolicy, FsyncPolicy, LogConfig, TimestampType } from "./config.js";
export * from "./limits.js";
export { ManualClock, systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
export {
  AppendQueueFullError,
  FencedLeaderEpochError,
  NonContiguousAppendError,
  SegmentSwapConflictError,
  TruncateInsideBatchError,
} from "./errors.js";
export { LeaderEpochCache } from "./leader-epoch-cache.js";
export type { EpochEndOffset, EpochEntry } from "./leader-epoch-cache.js";
export { IoThrottle, realSleep } from "./io-throttle.js";
export type { IoThrottleOptions } from "./io-throttle.js";
export { CleanedSegmentWriter } from "./segment-swap.js";
export type { SegmentInfo } from "./segment.js";
export type { BatchSummary } from "./batch-scan.js";
export { selectSegmentsToDelete } from "./retention.js";
export type { RetentionDecision, RetentionInput, RetentionReason, RetentionSegment } from "./retention.js";
export { emptyLogStats } from "./observer.js";
export type {
  CompactionAbortedEvent,
  CompactionEvent,
  CorruptBatchEvent,
  FsyncEvent,
  LogStats,
  RecoveryEvent,
  SegmentsDeletedEvent,
  StorageObserver,
} from "./observer.js";
export {
  CLEANER_BACKOFF_MS_DEFAULT,
  CLEANER_IO_BYTES_PER_SECOND_DEFAULT,
  CleanedSegmentTooLargeError,
  CompactionAbortedError,
  DEDUPE_BUFFER_BYTES_DEFAULT,
  DELETE_RETENTION_MS_DEFAULT,
  DedupeBufferTooSmallError,
  LogCleaner,
  MIN_CLEANABLE_DIRTY_RATIO_DEFAULT,
  MIN_COMPACTION_LAG_MS_DEFAULT,
  NotCompactedError,
} from "./compaction/index.js";
export type { CleanerStatus, CleaningResult, LogCleanerOptions } from "./compaction/index.js";
export { NodeStorageFs } from "./fs/node-fs.js";
export { SimStorageFs } from "./fs/sim-fs.js";
export type { CrashMode, SimFault, SimFsOp } from "./fs/sim-fs.js";
export { seededRandom } from "./fs/sim-random.js";
export type { SimRandom } from "./fs/sim-random.js";
export { FileHandlePool } from "./fs/file-pool.js";
export { IndexCache } from "./index-cache.js";
export { FsError, fsErrorCode, isNotFound, joinPath } from "./fs/storage-fs.js";
export type { FileStat, OpenMode, StorageFile, StorageFs } from "./fs/storage-fs.js";
