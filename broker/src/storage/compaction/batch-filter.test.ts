// Proves what compaction does to one batch: nothing removed keeps the stored bytes, a rebuilt batch keeps every header field, codec and each kept record's offset, timestamp, key, value, headers and attributes, tombstones get a KIP-534 delete horizon and go exactly at it, keyless records and control batches stay, an emptied batch's bare header keeps its offsets, and bytes it cannot decode or reproduce are kept whole.
import {
  Attributes,
  CompressionCodec,
  HeaderOffset,
  computeBatchCrc,
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  validateBatch,
  type BatchInput,
} from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { emptyBatchHeader, filterBatch, keyedRecordsOf, type FilterContext } from "./batch-filter.js";
import { OffsetMap } from "./offset-map.js";
import { codecs } from "./testing/keyed-log.js";

const NOW = 1_700_000_500_000;
const RETENTION = 60_000;

function mapOf(entries: Record<string, number>): OffsetMap {
  const map = new OffsetMap(1 << 20);
  const sorted = Object.entries(entries).sort((a, b) => a[1] - b[1]);
  for (const [key, offset] of sorted) map.putBatch([{ key: Buffer.from(key), offset }]);
  return map;
}

function ctx(entries: Record<string, number>, nowMs = NOW): FilterContext {
  return { map: mapOf(entries), nowMs, deleteRetentionMs: RETENTION };
}

const b = (s: string): Buffer => Buffer.from(s);

function batch(overrides: Partial<BatchInput> = {}): Buffer {
  return encodeRecordBatch({
    baseOffset: 1000,
    partitionLeaderEpoch: 7,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 10,
    records: [
      { key: b("a"), value: b("a0"), timestamp: 1_700_000_000_005, headers: [{ key: "h", value: b("1") }], attributes: 0 },
      { key: b("b"), value: b("b0"), timestamp: 1_700_000_000_001 },
      { key: null, value: b("keyless"), timestamp: 1_700_000_000_009 },
      { key: b("c"), value: b("c0"), timestamp: 1_700_000_000_003, headers: [{ key: "x", value: null }] },
    ],
    ...overrides,
  });
}

describe("filtering one batch", () => {
  it("keeps a batch with nothing to remove as it is (the fast path)", () => {
    const bytes = batch();
    // Keys whose latest offsets are these records themselves, or not in the map at all.
    const result = filterBatch(bytes, ctx({ a: 1000, b: 1001 }));
    expect(result).toMatchObject({ action: "keep", bytes: undefined, recordsRemoved: 0, kept: "normally" });
  });

  it.each(codecs.map((c) => [c]))("rebuilds a batch (codec %i) keeping header fields and every kept record's offset", (compression) => {
    const original = batch({ compression, transactional: true });
    const result = filterBatch(original, ctx({ a: 1003 + 50, c: 1003 }));
    expect(result).toMatchObject({ action: "rebuild", recordsRemoved: 1, tombstonesRemoved: 0 });
    const rebuilt = result.bytes as Buffer;
    validateBatch(rebuilt, 0, 1 << 20);
    const before = readBatchHeader(original);
    const after = readBatchHeader(rebuilt);
    for (const field of ["baseOffset", "partitionLeaderEpoch", "lastOffsetDelta", "producerId", "producerEpoch", "baseSequence", "maxTimestamp"] as const) {
      expect(after[field], field).toBe(before[field]);
    }
    expect(after.attributes).toBe(before.attributes);
    expect(after.recordCount).toBe(3);
    const decoded = decodeRecordBatch(rebuilt);
    expect(decoded.compression).toBe(compression);
    expect(decoded.isTransactional).toBe(true);
    const kept = decodeRecordBatch(original).records.filter((r) => r.offset !== 1000);
    expect(decoded.records).toEqual(kept);
  });

  it("keeps the original last offset when the last record goes, and log-append time", () => {
    // Log-append batches carry the append time in maxTimestamp; readers use it for every record.
    const original = batch({ timestampType: "log-append" });
    const result = filterBatch(original, ctx({ c: 5000 }));
    const rebuilt = result.bytes as Buffer;
    expect(readBatchHeader(rebuilt).lastOffsetDelta).toBe(3);
    expect(readBatchHeader(rebuilt).maxTimestamp).toBe(readBatchHeader(original).maxTimestamp);
    expect(decodeRecordBatch(rebuilt).timestampType).toBe("log-append");
    expect(decodeRecordBatch(rebuilt).records.map((r) => r.offset)).toEqual([1000, 1001, 1002]);
  });

  it("keeps keyless records whatever the map says, and control batches whole", () => {
    const keyless = encodeRecordBatch({ baseOffset: 10, records: [{ key: null, value: b("x") }, { key: null, value: null }], now: NOW });
    expect(filterBatch(keyless, ctx({}))).toMatchObject({ action: "keep" });
    const control = encodeRecordBatch({ baseOffset: 20, control: true, records: [{ key: b("a"), value: b("marker") }], now: NOW });
    expect(filterBatch(control, ctx({ a: 99 }))).toMatchObject({ action: "keep", recordsRemoved: 0 });
    expect(keyedRecordsOf(control)).toEqual([]);
    expect(keyedRecordsOf(keyless)).toEqual([]);
  });

  it("stamps a delete horizon on a batch keeping a tombstone, keeps it before the horizon and drops it at the horizon", () => {
    const original = encodeRecordBatch({
      baseOffset: 50,
      records: [
        { key: b("t"), value: null, timestamp: NOW - 10 },
        { key: b("v"), value: b("kept"), timestamp: NOW - 5 },
      ],
    });
    const first = filterBatch(original, ctx({}));
    expect(first).toMatchObject({ action: "rebuild", recordsRemoved: 0, tombstoneHorizonMs: NOW + RETENTION });
    const stamped = first.bytes as Buffer;
    const header = readBatchHeader(stamped);
    expect(header.attributes & Attributes.deleteHorizon).toBe(Attributes.deleteHorizon);
    expect(header.baseTimestamp).toBe(NOW + RETENTION);
    // Record timestamps are unchanged under the horizon.
    expect(decodeRecordBatch(stamped).records.map((r) => r.timestamp)).toEqual([NOW - 10, NOW - 5]);

    // Before the horizon: kept as it is (the horizon is already there).
    expect(filterBatch(stamped, ctx({}, NOW + RETENTION - 1))).toMatchObject({ action: "keep", tombstoneHorizonMs: NOW + RETENTION });
    // At the horizon: the tombstone goes, the horizon stays on the rebuilt batch.
    const due = filterBatch(stamped, ctx({}, NOW + RETENTION));
    expect(due).toMatchObject({ action: "rebuild", recordsRemoved: 1, tombstonesRemoved: 1, tombstoneHorizonMs: undefined });
    expect(decodeRecordBatch(due.bytes as Buffer).records.map((r) => r.key?.toString())).toEqual(["v"]);
    expect(readBatchHeader(due.bytes as Buffer).lastOffsetDelta).toBe(1);
  });

  it("drops a superseded tombstone at once (no horizon needed)", () => {
    const original = encodeRecordBatch({ baseOffset: 50, records: [{ key: b("t"), value: null }], now: NOW });
    expect(filterBatch(original, ctx({ t: 51 }))).toMatchObject({ action: "drop", recordsRemoved: 1, tombstonesRemoved: 1 });
  });

  it("a batch with every record removed leaves a valid bare header with the same offsets and producer fields", () => {
    for (const compression of codecs) {
      const original = batch({ compression });
      expect(filterBatch(original, ctx({ a: 2000, b: 2001, c: 2002 })).action).toBe("rebuild"); // the keyless record stays
      const noKeyless = encodeRecordBatch({ baseOffset: 300, partitionLeaderEpoch: 4, producerId: 9, producerEpoch: 1, baseSequence: 77, compression, records: [{ key: b("a"), value: b("1") }, { key: b("a"), value: b("2") }], now: NOW });
      const result = filterBatch(noKeyless, ctx({ a: 400 }));
      expect(result).toMatchObject({ action: "drop", recordsRemoved: 2 });
      const empty = emptyBatchHeader(noKeyless);
      expect(empty.byteLength).toBe(61);
      const header = validateBatch(empty, 0, 1 << 20);
      const before = readBatchHeader(noKeyless);
      expect(header).toMatchObject({ baseOffset: 300, lastOffsetDelta: 1, partitionLeaderEpoch: 4, producerId: 9, producerEpoch: 1, baseSequence: 77, recordCount: 0, maxTimestamp: before.maxTimestamp });
      expect(header.attributes & Attributes.codecMask).toBe(CompressionCodec.none);
      expect(decodeRecordBatch(empty).records).toEqual([]);
      // The bare header is itself kept as it is by a later clean.
      expect(filterBatch(empty, ctx({ a: 400 }))).toMatchObject({ action: "keep" });
    }
  });

  it("keeps whole a batch whose records do not decode even though its CRC is right", () => {
    const bytes = batch();
    // Damage a record length inside the records, then fix the CRC: producer garbage, not disk damage.
    bytes[61] = 0x7f;
    bytes.writeUInt32BE(computeBatchCrc(bytes, 0, bytes.byteLength), HeaderOffset.crc);
    expect(() => decodeRecordBatch(bytes)).toThrow();
    expect(filterBatch(bytes, ctx({ a: 5000 }))).toMatchObject({ action: "keep", kept: "undecodable" });
    expect(keyedRecordsOf(bytes)).toBeUndefined();
  });

  it("keeps whole a batch it could not re-encode to the same bytes (a header key that decoded to U+FFFD)", () => {
    const bytes = encodeRecordBatch({ baseOffset: 0, now: NOW, records: [{ key: b("a"), value: b("1") }, { key: b("b"), value: b("2"), headers: [{ key: "\uFFFD", value: null }] }] });
    expect(filterBatch(bytes, ctx({ a: 9 }))).toMatchObject({ action: "keep", kept: "unrebuildable", recordsRemoved: 0 });
  });
});
