/**
 * Topic policies that may have to rewrite a producer's batches before they are appended:
 * `compression.type` other than `producer` (Kafka's broker-side re-compression).
 *
 * The hot path (compression.type=producer, the default) returns the input untouched: no decode,
 * no copy. Otherwise every batch is CRC-checked first (so a corrupt batch is refused, never
 * re-checksummed into a "valid" one), batches already in the target codec and control batches
 * are kept byte for byte, and the others are decoded and re-encoded with the target codec,
 * keeping producer id/epoch/sequence, transactional flag, timestamp type, timestamps, keys,
 * values and headers. The result is validated again by storage like any produce.
 *
 * `checkBatchSizes` applies the topic's current max.message.bytes before storage sees the bytes,
 * so altering that config takes effect at once (storage is opened with the largest limit any
 * topic may have, RECORD_BATCH_BYTES_MAX).
 *
 * LogAppendTime is not handled here: the storage engine stamps it (and re-checksums) on append.
 */
import {
  BATCH_LENGTH_PREFIX_BYTES,
  CompressionCodec,
  CorruptRecordError,
  SluiceError,
  batchSizeAt,
  decodeRecordBatch,
  encodeRecordBatch,
  validateBatch,
  Attributes,
  BATCH_HEADER_BYTES,
  MessageTooLargeError,
  type CompressionCodecId,
} from "@sluice/protocol";
import type { CompressionType, TopicConfig } from "../metadata/topic-config.js";

const codecOf: Readonly<Record<Exclude<CompressionType, "producer">, CompressionCodecId>> = {
  uncompressed: CompressionCodec.none,
  gzip: CompressionCodec.gzip,
  snappy: CompressionCodec.snappy,
  lz4: CompressionCodec.lz4,
  zstd: CompressionCodec.zstd,
};

/**
 * Refuses the input if any batch is larger than `maxMessageBytes` (MessageTooLargeError). Reads
 * only length fields. A length larger than the bytes that follow is a truncated (or garbage)
 * input, not a large batch: CorruptRecordError. A length too small for a header stops the walk
 * and is left to storage's full validation.
 */
export function checkBatchSizes(records: Buffer, maxMessageBytes: number): void {
  let at = 0;
  while (records.length - at >= BATCH_LENGTH_PREFIX_BYTES) {
    const size = batchSizeAt(records, at);
    if (size < BATCH_HEADER_BYTES) return;
    if (size > records.length - at) {
      throw new CorruptRecordError(`batch declares ${size} bytes but only ${records.length - at} follow`, at);
    }
    if (size > maxMessageBytes) throw new MessageTooLargeError(size, maxMessageBytes);
    at += size;
  }
}

/** Returns the bytes to append (the input itself unless the topic forces a codec). */
export function prepareBatchesForAppend(records: Buffer, config: TopicConfig): Buffer {
  if (config.compressionType === "producer") return records;
  const target = codecOf[config.compressionType];

  const spans: Array<{ at: number; size: number; keep: boolean }> = [];
  let at = 0;
  let allKept = true;
  while (at < records.length) {
    if (records.length - at < BATCH_LENGTH_PREFIX_BYTES) throw new CorruptRecordError(`${records.length - at} trailing bytes after the last batch`, at);
    const header = validateBatch(records, at, config.maxMessageBytes);
    const size = batchSizeAt(records, at);
    const keep = (header.attributes & Attributes.codecMask) === target || (header.attributes & Attributes.control) !== 0;
    allKept &&= keep;
    spans.push({ at, size, keep });
    at += size;
  }
  if (allKept) return records;

  const out: Buffer[] = [];
  for (const span of spans) {
    if (span.keep) {
      out.push(records.subarray(span.at, span.at + span.size));
      continue;
    }
    const batch = decodeRecordBatch(records, span.at, { maxBatchBytes: config.maxMessageBytes });
    batch.records.forEach((record, i) => {
      if (record.offset - batch.header.baseOffset !== i) {
        throw new SluiceError("INVALID_RECORD", `record offsets in a produced batch must be contiguous (record ${i} has delta ${record.offset - batch.header.baseOffset})`);
      }
    });
    out.push(
      encodeRecordBatch({
        records: batch.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
        compression: target,
        baseOffset: batch.header.baseOffset,
        partitionLeaderEpoch: batch.header.partitionLeaderEpoch,
        producerId: batch.header.producerId,
        producerEpoch: batch.header.producerEpoch,
        baseSequence: batch.header.baseSequence,
        timestampType: batch.timestampType,
        transactional: batch.isTransactional,
      }),
    );
  }
  return Buffer.concat(out);
}
