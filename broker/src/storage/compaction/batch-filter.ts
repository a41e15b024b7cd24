/**
 * What compaction does to one stored batch: which of its records stay, and the bytes that go
 * into the cleaned segment. No I/O; the batch comes CRC-checked from the log.
 *
 * Rules (Kafka's `LogCleaner.shouldRetainRecord` and `MemoryRecords.filterTo`, KIP-534):
 * - Control batches stay whole (transaction markers, Raft control records: their keys are not
 *   user keys and there are no transactions to resolve yet).
 * - A keyless record stays. Kafka's cleaner drops them, but Kafka's broker also refuses keyless
 *   records on compacted topics at produce time; this broker does not decode on produce, so a
 *   keyless record found here was accepted and acknowledged: it is kept, never silently lost.
 * - A keyed record stays if no later record of its key is in the offset map, and, if it is a
 *   tombstone (null value), while its batch's delete horizon has not passed.
 * - Delete horizon: a batch first found holding a tombstone it keeps gets the horizon
 *   now + delete.retention.ms, written into the batch (attribute bit 0x40, the time in
 *   baseTimestamp: KIP-534, so the horizon survives restarts and replication and needs no
 *   side file). A later clean at or after the horizon drops the batch's tombstones.
 * - Offsets never move: a rebuilt batch keeps its base offset, its lastOffsetDelta (so the
 *   producer's last sequence number survives, as in Kafka), every kept record's offset delta,
 *   timestamp, key, value, headers and attributes, and the batch's codec, producer id, epoch and
 *   base sequence, leader epoch, timestamp type and transactional flag.
 * - A batch with nothing removed and no horizon to set is kept as it is, byte for byte (the
 *   fast path). A batch with every record removed is dropped; the cleaner then keeps its bare
 *   61-byte header (`emptyBatchHeader`) if it is the last batch of its segment group, so a
 *   segment's offset range never shrinks through compaction.
 * - A batch whose records do not decode (its CRC passed, so these are the producer's bytes, not
 *   disk damage) or that could not be rebuilt faithfully (a header key that is not valid UTF-8
 *   would be re-encoded differently; an out-of-range field) is kept whole: compaction never
 *   changes bytes it cannot reproduce.
 */
import {
  Attributes,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  HeaderOffset,
  SluiceError,
  computeBatchCrc,
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  writeInt64,
  type DecodedBatch,
  type DecodedRecord,
} from "@sluice/protocol";
import { MAX_MESSAGE_BYTES_MAX } from "../limits.js";
import type { KeyedOffset, OffsetMap } from "./offset-map.js";

export interface FilterContext {
  readonly map: OffsetMap;
  /** The clean's time (one reading for the whole clean). */
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
}

export interface FilteredBatch {
  /** keep: write the stored bytes; rebuild: write `bytes`; drop: write nothing (or the empty header, see above). */
  readonly action: "keep" | "rebuild" | "drop";
  readonly bytes: Buffer | undefined;
  readonly records: number;
  readonly recordsRemoved: number;
  readonly tombstonesRemoved: number;
  /** The batch's delete horizon after this clean, when it still holds tombstones. */
  readonly tombstoneHorizonMs: number | undefined;
  /** Kept whole because its records could not be decoded or rebuilt faithfully. */
  readonly kept: "normally" | "undecodable" | "unrebuildable";
}

function decodeStored(bytes: Buffer): DecodedBatch | undefined {
  try {
    return decodeRecordBatch(bytes, 0, { maxBatchBytes: MAX_MESSAGE_BYTES_MAX });
  } catch (error) {
    if (error instanceof SluiceError) return undefined;
    throw error;
  }
}

function isControl(bytes: Buffer): boolean {
  return (bytes.readInt16BE(HeaderOffset.attributes) & Attributes.control) !== 0;
}

/**
 * Pass 1: the keyed records of a stored batch, for the offset map. Control batches have none;
 * undefined when the records do not decode (the batch will be kept whole).
 */
export function keyedRecordsOf(bytes: Buffer): KeyedOffset[] | undefined {
  if (isControl(bytes)) return [];
  const decoded = decodeStored(bytes);
  if (decoded === undefined) return undefined;
  const keyed: KeyedOffset[] = [];
  for (const record of decoded.records) if (record.key !== null) keyed.push({ key: record.key, offset: record.offset });
  return keyed;
}

function keepWhole(records: number, kept: FilteredBatch["kept"], horizon: number | undefined): FilteredBatch {
  return { action: "keep", bytes: undefined, records, recordsRemoved: 0, tombstonesRemoved: 0, tombstoneHorizonMs: horizon, kept };
}

/** Pass 2: what becomes of one stored batch whose offsets are all in the cleaned range. */
export function filterBatch(bytes: Buffer, ctx: FilterContext): FilteredBatch {
  const header = readBatchHeader(bytes);
  if (isControl(bytes)) return keepWhole(header.recordCount, "normally", undefined);
  const decoded = decodeStored(bytes);
  if (decoded === undefined) return keepWhole(header.recordCount, "undecodable", undefined);

  const hasHorizon = (header.attributes & Attributes.deleteHorizon) !== 0;
  const retainDeletes = !hasHorizon || ctx.nowMs < header.baseTimestamp;
  const retained: DecodedRecord[] = [];
  let tombstonesRemoved = 0;
  let tombstonesKept = 0;
  for (const record of decoded.records) {
    let keep = true;
    if (record.key !== null) {
      const latest = ctx.map.get(record.key);
      keep = (latest === undefined || latest <= record.offset) && (record.value !== null || retainDeletes);
      if (record.value === null) {
        if (keep) tombstonesKept++;
        else tombstonesRemoved++;
      }
    }
    if (keep) retained.push(record);
  }
  const total = decoded.records.length;
  const removed = total - retained.length;
  const needHorizon = tombstonesKept > 0 && !hasHorizon;
  const horizonKept = tombstonesKept > 0 && hasHorizon ? header.baseTimestamp : undefined;
  if (removed === 0 && !needHorizon) return keepWhole(total, "normally", horizonKept);
  if (retained.length === 0) {
    return { action: "drop", bytes: undefined, records: total, recordsRemoved: removed, tombstonesRemoved, tombstoneHorizonMs: undefined, kept: "normally" };
  }
  // Header keys come back as strings: invalid UTF-8 decodes to U+FFFD and would not re-encode to the same bytes.
  // Such a batch keeps its tombstones for good, so it reports no horizon (it would make the log look due forever).
  if (retained.some((r) => r.headers.some((h) => h.key.includes("\uFFFD")))) return keepWhole(total, "unrebuildable", undefined);
  const horizon = needHorizon ? Math.min(ctx.nowMs + ctx.deleteRetentionMs, Number.MAX_SAFE_INTEGER) : hasHorizon ? header.baseTimestamp : undefined;
  let rebuilt: Buffer;
  try {
    rebuilt = encodeRecordBatch({
      records: retained.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
        offsetDelta: r.offset - header.baseOffset,
        attributes: r.attributes,
      })),
      compression: decoded.compression,
      baseOffset: header.baseOffset,
      lastOffsetDelta: header.lastOffsetDelta,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      timestampType: decoded.timestampType,
      transactional: decoded.isTransactional,
      deleteHorizonMs: horizon,
    });
  } catch (error) {
    if (error instanceof SluiceError) return keepWhole(total, "unrebuildable", undefined);
    throw error;
  }
  // A horizon's wider timestamp deltas can grow a batch; past what storage accepts it stays as it was.
  if (rebuilt.byteLength > MAX_MESSAGE_BYTES_MAX) return keepWhole(total, "unrebuildable", undefined);
  return {
    action: "rebuild",
    bytes: rebuilt,
    records: total,
    recordsRemoved: removed,
    tombstonesRemoved,
    tombstoneHorizonMs: tombstonesKept > 0 ? horizon : undefined,
    kept: "normally",
  };
}

/**
 * The bare header of a batch whose records were all removed (Kafka's empty batch): same base
 * offset, lastOffsetDelta, leader epoch, producer id, epoch and base sequence, timestamp type,
 * transactional and control flags; no codec, no records, both timestamps the batch's
 * maxTimestamp; checksummed. Readers see a batch with no records.
 */
export function emptyBatchHeader(bytes: Buffer): Buffer {
  const header = Buffer.from(bytes.subarray(0, BATCH_HEADER_BYTES));
  const maxTimestamp = readBatchHeader(bytes).maxTimestamp;
  header.writeInt32BE(BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES, HeaderOffset.batchLength);
  const attributes = header.readInt16BE(HeaderOffset.attributes) & ~(Attributes.codecMask | Attributes.deleteHorizon);
  header.writeInt16BE(attributes, HeaderOffset.attributes);
  writeInt64(header, HeaderOffset.baseTimestamp, maxTimestamp);
  header.writeInt32BE(0, HeaderOffset.recordCount);
  header.writeUInt32BE(computeBatchCrc(header, 0, BATCH_HEADER_BYTES), HeaderOffset.crc);
  return header;
}
