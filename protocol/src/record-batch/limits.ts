/**
 * Named bounds of the RecordBatch codec, each with the reason for its value.
 */

/**
 * Default largest batch the decoder accepts: the largest `max.message.bytes` a Sluice topic may
 * set (RECORD_BATCH_BYTES_MAX in grpc.ts, 16 MiB; a test keeps the two equal). Kept here as
 * its own constant so this pure folder does not import the gRPC module.
 */
export const BATCH_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;

/**
 * Default largest decompressed records section. gzip can expand ~1000x and lz4 ~255x, so a
 * 16 MiB batch could otherwise claim GiBs; 128 MiB (8x the batch bound) is beyond what real
 * producers' compression ratios reach on full batches, and bounds what one batch can claim.
 */
export const UNCOMPRESSED_BYTES_MAX_DEFAULT = 128 * 1024 * 1024;

/**
 * The smallest encoded record: length, attributes, timestampDelta, offsetDelta, keyLength,
 * valueLength and headersCount, one byte each. A recordCount claiming more records than the
 * records section could hold at this size is refused before anything is allocated for them.
 */
export const RECORD_BYTES_MIN = 7;

/** The smallest header inside a record: keyLength and valueLength, one byte each. */
export const RECORD_HEADER_BYTES_MIN = 2;

/** batchLength is an int32 counting the bytes after itself: the largest encodable batch. */
export const ENCODED_BATCH_BYTES_MAX = 0x7fff_ffff + 12;

/**
 * 16 KiB: the buffer a RecordBatchBuilder starts with when none is given. Small enough that a
 * builder per partition costs little; it doubles as records arrive (the producer hands out its
 * own buffers instead, see client/src/batch-buffer-pool.ts).
 */
export const BUILDER_BUFFER_BYTES_DEFAULT = 16 * 1024;
