/**
 * Every default and bound of log compaction, each with the reason for its number (STYLE.md
 * habit 4). Topic-level defaults (`cleanup.policy`, `min.cleanable.dirty.ratio`,
 * `min.compaction.lag.ms`, `delete.retention.ms`) are Kafka's, so operators' expectations carry
 * over; config.ts checks overrides against the bounds here.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Kafka's `min.cleanable.dirty.ratio`: clean once half the log is dirty, so each clean's rewrite at least halves the bytes it copies needlessly. */
export const MIN_CLEANABLE_DIRTY_RATIO_DEFAULT = 0.5;
/** Kafka's `min.compaction.lag.ms`: records may be compacted as soon as their segment is inactive. */
export const MIN_COMPACTION_LAG_MS_DEFAULT = 0;
/** Kafka's `delete.retention.ms`: a consumer that falls up to a day behind still sees a key's tombstone. */
export const DELETE_RETENTION_MS_DEFAULT = DAY_MS;

/**
 * Kafka's `log.cleaner.dedupe.buffer.size`: memory for the key -> latest offset map of one
 * clean. At ~100-130 bytes an entry it holds about a million keys; a dirty section with more
 * distinct keys is cleaned in several rounds (each round continues where the last stopped).
 */
export const DEDUPE_BUFFER_BYTES_DEFAULT = 128 * MiB;
/**
 * Below this the map holds fewer than ~8 keys: surely a misconfiguration (the unit is bytes).
 * Small budgets stay legal (tests use them to clean in many rounds); a batch whose keys alone
 * exceed the budget is a DedupeBufferTooSmallError, never a stuck cleaner.
 */
export const DEDUPE_BUFFER_BYTES_MIN = 1 * KiB;

/**
 * Keys up to this many bytes are held in the offset map as they are; longer keys by their
 * SHA-256 digest (32 bytes), so a 1 MiB key costs the map what a 32-byte one does. A digest
 * collision would merge two keys; at 2^-128 per pair that is far below the disk's own error rate.
 */
export const OFFSET_MAP_RAW_KEY_BYTES_MAX = 32;
/**
 * What one map entry costs beyond its key bytes, as the budget counts it: V8's ordered hash map
 * slot (key, value, chain: 3 words) plus its share of the bucket array, a string header, a
 * heap number for offsets above 2^31, and up to 2x slack when the table grows. Measured at
 * 70-110 bytes on Node 20 x64; the budget is a bound, so it rounds up.
 */
export const OFFSET_MAP_ENTRY_OVERHEAD_BYTES = 112;

/**
 * Kafka's `log.cleaner.io.max.bytes.per.second` is unlimited by default; Sluice defaults to a
 * budget: 64 MiB/s of reads plus writes leaves over 90% of the ~0.9 GB/s a node sustains for
 * durable sequential appends (DESIGN.md, measured limits) to producers and consumers.
 */
export const CLEANER_IO_BYTES_PER_SECOND_DEFAULT = 64 * MiB;

/** Kafka's `log.cleaner.backoff.ms`: how often the log manager looks for a log worth cleaning. */
export const CLEANER_BACKOFF_MS_DEFAULT = 15_000;

/**
 * The cleaner yields to the event loop after this many bytes of batches handled, so decoding
 * and re-encoding never holds the thread for long: at ~200 MB/s of record decoding that is
 * about a millisecond between yields, while per-yield overhead stays negligible.
 */
export const CLEANER_YIELD_BYTES = 256 * KiB;
