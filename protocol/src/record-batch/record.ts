/**
 * The shapes of records and batches as the codec takes and returns them (encode.ts, decode.ts).
 *
 * A record inside a RecordBatch v2 (all lengths are zig-zag varints, see varint.ts):
 *
 *   length          varint   bytes of the fields below
 *   attributes      int8     unused by Kafka so far (0); kept and returned as read
 *   timestampDelta  varlong  timestamp - batch.baseTimestamp
 *   offsetDelta     varint   offset - batch.baseOffset
 *   keyLength       varint   -1 = null key
 *   key             bytes
 *   valueLength     varint   -1 = null value (a tombstone)
 *   value           bytes
 *   headersCount    varint
 *   headers         headersCount x (keyLength varint >= 0, key utf8, valueLength varint (-1 = null), value)
 *
 * Decoded keys, values and header values are views (`subarray`) of the buffer given to the
 * decoder, or of the decompressed records: copy them if they must outlive or survive changes
 * to that buffer.
 */
import type { BatchHeader, CompressionCodecId } from "./header.js";

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface RecordInput {
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; defaults to BatchInput.now. */
  readonly timestamp?: number;
  /**
   * Offset relative to the batch's base offset; defaults to the record's index. Deltas must
   * strictly increase and may skip values: log compaction rebuilds a batch from the records it
   * keeps, each at its original offset.
   */
  readonly offsetDelta?: number;
  /** The record's attributes byte (int8, unused by Kafka so far); default 0. */
  readonly attributes?: number;
}

/** The batch-level fields a caller may set, shared by encodeRecordBatch and RecordBatchBuilder. */
export interface BatchHeaderInput {
  /** Default none. */
  readonly compression?: CompressionCodecId;
  /** Default 0: the partition leader stamps the real offset (header.ts stampBatch). */
  readonly baseOffset?: number;
  /** Default -1: the partition leader stamps its epoch. */
  readonly partitionLeaderEpoch?: number;
  /** Default -1 (no idempotence). */
  readonly producerId?: number;
  /** Default -1. */
  readonly producerEpoch?: number;
  /** Default -1. */
  readonly baseSequence?: number;
  /** Default "create". */
  readonly timestampType?: "create" | "log-append";
  readonly transactional?: boolean;
  /** A control batch (transaction markers, Raft configuration records); see control.ts. */
  readonly control?: boolean;
}

export interface BatchInput extends BatchHeaderInput {
  /** At least one record. */
  readonly records: readonly RecordInput[];
  /** Timestamp for records without one (the caller passes Date.now()). */
  readonly now?: number;
  /**
   * The header's lastOffsetDelta; defaults to the last record's offset delta. Log compaction
   * keeps a rebuilt batch's original last offset (Kafka does, so the producer's last sequence
   * number survives), so it may exceed the last record's delta.
   */
  readonly lastOffsetDelta?: number;
  /**
   * KIP-534 delete horizon: sets the deleteHorizon attribute and stores this time in
   * baseTimestamp, record timestamps being encoded relative to it. Set by log compaction only.
   */
  readonly deleteHorizonMs?: number;
}

export interface DecodedRecord {
  /** baseOffset + offsetDelta. */
  readonly offset: number;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp for log-append time. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  /** The record's own attributes byte (signed int8). */
  readonly attributes: number;
}

export interface DecodedBatch {
  readonly header: BatchHeader;
  /** Bytes the batch occupies in its input, header included. */
  readonly sizeBytes: number;
  readonly compression: CompressionCodecId;
  readonly isControl: boolean;
  readonly isTransactional: boolean;
  readonly timestampType: "create" | "log-append";
  readonly records: readonly DecodedRecord[];
}

export interface DecodeOptions {
  /** Largest whole batch (header included) accepted; default BATCH_BYTES_MAX_DEFAULT. */
  readonly maxBatchBytes?: number;
  /** Largest decompressed records section accepted; default UNCOMPRESSED_BYTES_MAX_DEFAULT. */
  readonly maxUncompressedBytes?: number;
}
