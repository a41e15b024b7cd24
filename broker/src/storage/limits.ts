/**
 * Every bound and default of the storage engine, each with the reason for its number
 * (STYLE.md habit 4). Config values a topic may override start from the `*_DEFAULT` here and
 * are checked against the `*_MIN` / `*_MAX` bounds in config.ts.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const HOUR_MS = 60 * 60 * 1000;

/** Kafka's `segment.bytes` default: big enough that per-segment costs vanish, small enough that retention frees space in steps. */
export const SEGMENT_BYTES_DEFAULT = 1 * GiB;
/** Tiny segments are legal (tests roll every few batches); below one batch header nothing fits. */
export const SEGMENT_BYTES_MIN = 64;
/**
 * File positions are int32 in the `.index` format, and one append may overshoot the size limit
 * by at most one append's bytes (the roll happens before an append that does not fit).
 */
export const SEGMENT_BYTES_MAX = 2 * GiB - 1 - 128 * MiB;

/** Kafka's `segment.ms` default (`log.roll.hours` = 168): a quiet partition still rolls weekly so retention can act. */
export const SEGMENT_MS_DEFAULT = 7 * 24 * HOUR_MS;

/** Kafka's `index.interval.bytes`: a lookup scans at most ~4 KiB of headers past an index entry. */
export const INDEX_INTERVAL_BYTES_DEFAULT = 4 * KiB;

/** Kafka's `max.message.bytes` default: 1 MiB of batch plus the 12-byte log overhead. */
export const MAX_MESSAGE_BYTES_DEFAULT = 1 * MiB + 12;
/** Kafka caps a batch at what fits one produce request; 64 MiB keeps the single-copy buffers sane. */
export const MAX_MESSAGE_BYTES_MAX = 64 * MiB;

/** Bytes one append call may carry (all its batches): Kafka's `socket.request.max.bytes` is 100 MiB. */
export const APPEND_BYTES_MAX = 100 * MiB;

/** Kafka's `retention.ms` default: seven days. -1 means keep forever. */
export const RETENTION_MS_DEFAULT = 7 * 24 * HOUR_MS;
/** Kafka's `retention.bytes` default: no size limit (-1). */
export const RETENTION_BYTES_DEFAULT = -1;

/** How often the log manager applies retention (Kafka's `log.retention.check.interval.ms`). */
export const RETENTION_CHECK_INTERVAL_MS_DEFAULT = 5 * 60 * 1000;
/** How often the log manager looks for logs whose `interval:<ms>` fsync is due. */
export const FLUSH_CHECK_INTERVAL_MS_DEFAULT = 100;

/**
 * Open file descriptors shared by every segment of every partition. The usual soft ulimit is
 * 1024 and the broker also needs sockets, so storage keeps to half of it; a segment whose file
 * was evicted reopens on its next use.
 */
export const OPEN_FILES_MAX_DEFAULT = 512;
/** Below this the active segment, an index being written and a reader could not all be open at once. */
export const OPEN_FILES_MIN = 4;

/**
 * One read's byte budget is clamped to this (Kafka's `fetch.max.bytes` default is 50 MiB); a
 * single batch larger than the budget is still returned whole.
 */
export const READ_BYTES_MAX = 64 * MiB;
/**
 * Bytes read ahead of a budget to find where the wanted batch starts: one index interval of
 * headers is the most an index lookup can land before it (plus slack for a large interval).
 */
export const READ_LOOKAHEAD_BYTES_MIN = 8 * KiB;

/**
 * Memory for loaded indexes of all segments (shared, LRU). A 1 GiB segment's indexes take
 * ~2-5 MiB, so this keeps the indexes of the last ~30-60 GiB of reads hot; colder segments
 * reload theirs (one sequential read) when next used.
 */
export const INDEX_CACHE_BYTES_MAX_DEFAULT = 128 * MiB;

/**
 * An uncompressed record takes at least 7 bytes (length, attributes, timestamp delta, offset
 * delta, key length, value length, header count: one varint byte each), so a batch claiming
 * more records than its bytes can hold is garbage, not a batch.
 */
export const RECORD_BYTES_MIN = 7;

/** Recovery and index rebuilds read segments in chunks this big: large sequential reads amortize syscalls, memory stays bounded. */
export const SCAN_CHUNK_BYTES = 8 * MiB;

/**
 * Appends waiting in the log's queue are written together with one writev up to this many bytes:
 * fewer syscalls under load, and a bound on how much one write may hold back.
 */
export const WRITE_COALESCE_BYTES_MAX = 4 * MiB;
/** And at most this many buffers per writev (Linux IOV_MAX is 1024). */
export const WRITE_COALESCE_BUFFERS_MAX = 256;
/** Appends allowed to wait in one log's queue; past this an append is refused (back-pressure, not unbounded memory). */
export const APPEND_QUEUE_MAX = 10_000;

/** Checkpoint files (recovery point, log start, leader epochs) are tiny; anything bigger is not ours. */
export const CHECKPOINT_BYTES_MAX = 1 * MiB;

/** Kafka's legal topic names: at most 249 characters of [a-zA-Z0-9._-]. */
export const TOPIC_NAME_BYTES_MAX = 249;
