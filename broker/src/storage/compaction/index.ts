/**
 * Log compaction (Kafka's log cleaner) over the storage engine's compaction primitives. See
 * README.md for the map of files; the public surface is exactly what is exported here.
 */
export { LogCleaner } from "./log-cleaner.js";
export type { CleanerStatus, CleaningResult, LogCleanerOptions } from "./log-cleaner.js";
export { cleanLog } from "./clean-log.js";
export type { CleanParams, CleanResult } from "./clean-log.js";
export { cleanableRange, groupSegments } from "./cleanable.js";
export type { CleanableInput, CleanableRange, CleanableSegment, GroupableSegment } from "./cleanable.js";
export { emptyBatchHeader, filterBatch, keyedRecordsOf } from "./batch-filter.js";
export type { FilterContext, FilteredBatch } from "./batch-filter.js";
export { OffsetMap } from "./offset-map.js";
export type { KeyedOffset } from "./offset-map.js";
export { CLEANER_CHECKPOINT_FILE, readCleanerCheckpoint, writeCleanerCheckpoint } from "./cleaner-checkpoint.js";
export type { CleanerCheckpoint } from "./cleaner-checkpoint.js";
export { CleanedSegmentTooLargeError, CompactionAbortedError, DedupeBufferTooSmallError, NotCompactedError } from "./errors.js";
export * from "./limits.js";
