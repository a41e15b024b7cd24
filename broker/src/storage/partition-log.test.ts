// Proves the partition log's contract on the simulated disk: offsets, in-place stamping, all-or-nothing appends, budgeted CRC-checked reads, rolls, retention, truncation, epochs and clean reopen.
import { CorruptRecordError, HeaderOffset, computeBatchCrc, MessageTooLargeError, OffsetOutOfRangeError, SluiceError, StorageError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig, type LogConfig } from "./config.js";
import { FencedLeaderEpochError, NonContiguousAppendError, TruncateInsideBatchError } from "./errors.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { PartitionLog } from "./partition-log.js";
import { batchesIn, buildTestBatch, stampedCopy } from "./testing/batch-builder.js";

const DIR = "/data/t-0";

async function openLog(fs: SimStorageFs, overrides: Partial<LogConfig> = {}, clock = new ManualClock()): Promise<PartitionLog> {
  return PartitionLog.open({ fs, dir: DIR, clock, config: logConfig({ indexIntervalBytes: 256, ...overrides }) });
}

function batch(records = 1, seed = 0, extra: Parameters<typeof buildTestBatch>[0] = {}): Buffer {
  return buildTestBatch({ records, valueBytes: 40, seed, ...extra });
}

async function readAll(log: PartitionLog, from = log.logStartOffset as number, budget = 1 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, budget);
    if (result.records.byteLength === 0) break;
    parts.push(Buffer.from(result.records));
    offset = result.nextOffset;
  }
  return Buffer.concat(parts);
}

describe("PartitionLog append", () => {
  it("assigns consecutive offsets, stamps them and the epoch in place, and writes those very bytes", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs);
    const input = Buffer.concat([batch(3, 1), batch(2, 2)]);
    const result = await log.append(input, 7);
    expect(result).toMatchObject({ baseOffset: 0, lastOffset: 4 });
    expect(batchesIn(input)).toEqual([
      { baseOffset: 0, lastOffset: 2, leaderEpoch: 7, sizeBytes: input.readInt32BE(8) + 12 },
      expect.objectContaining({ baseOffset: 3, lastOffset: 4, leaderEpoch: 7 }),
    ]);
    expect(fs.content(`${DIR}/00000000000000000000.log`).equals(input)).toBe(true);
    const second = await log.append(batch(4, 3), 7);
    expect(second).toMatchObject({ baseOffset: 5, lastOffset: 8 });
    expect(log.logEndOffset).toBe(9);
  });

  it("writes nothing when any batch of the input is bad (the third of three is corrupt)", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs);
    await log.append(batch(1, 9), 0);
    const before = fs.content(`${DIR}/00000000000000000000.log`);
    const third = batch(1, 3);
    third[third.byteLength - 1] = (third[third.byteLength - 1] ?? 0) ^ 0x01;
    const input = Buffer.concat([batch(1, 1), batch(2, 2), third]);
    const copy = Buffer.from(input);
    await expect(log.append(input, 0)).rejects.toBeInstanceOf(CorruptRecordError);
    expect(input.equals(copy)).toBe(true);
    expect(fs.content(`${DIR}/00000000000000000000.log`).equals(before)).toBe(true);
    expect(log.logEndOffset).toBe(1);
  });

  it("rejects garbage, empty input, trailing bytes and oversized batches with typed errors", async () => {
    const log = await openLog(new SimStorageFs(), { maxMessageBytes: 200 });
    await expect(log.append(Buffer.alloc(0), 0)).rejects.toBeInstanceOf(CorruptRecordError);
    await expect(log.append(Buffer.from("definitely not a record batch at all, just text....................."), 0)).rejects.toBeInstanceOf(SluiceError);
    await expect(log.append(Buffer.concat([batch(1), Buffer.alloc(5)]), 0)).rejects.toBeInstanceOf(CorruptRecordError);
    await expect(log.append(buildTestBatch({ records: 3, valueBytes: 100 }), 0)).rejects.toBeInstanceOf(MessageTooLargeError);
    // lastOffsetDelta must match recordCount on the leader path.
    const lying = batch(2);
    lying.writeInt32BE(5, HeaderOffset.lastOffsetDelta);
    lying.writeUInt32BE(computeBatchCrc(lying, 0, lying.byteLength), HeaderOffset.crc);
    await expect(log.append(lying, 0)).rejects.toBeInstanceOf(CorruptRecordError);
    await expect(log.append(batch(1), -1)).rejects.toBeInstanceOf(SluiceError);
    // An uncompressed batch claiming more records than its bytes can hold.
    const inflated = batch(1);
    inflated.writeInt32BE(1_000_000, HeaderOffset.recordCount);
    inflated.writeInt32BE(999_999, HeaderOffset.lastOffsetDelta);
    inflated.writeUInt32BE(computeBatchCrc(inflated, 0, inflated.byteLength), HeaderOffset.crc);
    await expect(log.append(inflated, 0)).rejects.toBeInstanceOf(CorruptRecordError);
    expect(log.logEndOffset).toBe(0);
    expect(log.sizeBytes).toBe(0);
  });

  it("fences appends whose leader epoch is older than the log's latest", async () => {
    const log = await openLog(new SimStorageFs());
    await log.append(batch(), 5);
    await expect(log.append(batch(), 4)).rejects.toBeInstanceOf(FencedLeaderEpochError);
    await log.append(batch(), 5);
    await log.append(batch(), 6);
    expect(log.epochEntries()).toEqual([
      { epoch: 5, startOffset: 0 },
      { epoch: 6, startOffset: 2 },
    ]);
  });

  it("stamps LogAppendTime from the clock and keeps the batch's CRC valid", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const log = await openLog(new SimStorageFs(), { timestampType: "LogAppendTime" }, clock);
    const input = batch(2, 1, { baseTimestampMs: 1 });
    const result = await log.append(input, 0);
    expect(result.logAppendTimeMs).toBe(1_800_000_000_000);
    const read = await log.read(0, 1000);
    expect(Number(read.records.readBigInt64BE(HeaderOffset.maxTimestamp))).toBe(1_800_000_000_000);
    expect(read.records.readInt16BE(HeaderOffset.attributes) & 0x08).toBe(0x08);
  });
});

describe("PartitionLog replicated append", () => {
  it("keeps the leader's offsets and epochs and requires contiguity with the log end", async () => {
    const log = await openLog(new SimStorageFs());
    const a = stampedCopy(batch(3, 1), 0, 2);
    const b = stampedCopy(batch(2, 2), 3, 3);
    expect(await log.appendReplicated(Buffer.concat([a, b]))).toMatchObject({ baseOffset: 0, lastOffset: 4 });
    await expect(log.appendReplicated(stampedCopy(batch(1), 6, 3))).rejects.toBeInstanceOf(NonContiguousAppendError);
    await expect(log.appendReplicated(stampedCopy(batch(1), 4, 3))).rejects.toBeInstanceOf(NonContiguousAppendError);
    await expect(log.appendReplicated(Buffer.concat([stampedCopy(batch(1), 5, 3), stampedCopy(batch(1), 7, 3)]))).rejects.toBeInstanceOf(NonContiguousAppendError);
    await expect(log.appendReplicated(stampedCopy(batch(1), 5, 2))).rejects.toBeInstanceOf(FencedLeaderEpochError);
    await expect(log.appendReplicated(stampedCopy(batch(1), 5, -1))).rejects.toBeInstanceOf(SluiceError);
    expect(log.logEndOffset).toBe(5);
    expect(log.epochAt(2)).toBe(2);
    expect(log.epochAt(3)).toBe(3);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 3 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 5 });
  });

  it("accepts gaps when asked (a compacted leader log) and reads across them", async () => {
    const log = await openLog(new SimStorageFs());
    await log.appendReplicated(stampedCopy(batch(2, 1), 0, 1));
    await log.appendReplicated(Buffer.concat([stampedCopy(batch(1, 2), 10, 1), stampedCopy(batch(1, 3), 20, 1)]), { allowGaps: true });
    expect(log.logEndOffset).toBe(21);
    const read = await log.read(5, 10_000);
    expect(batchesIn(read.records).map((b) => b.baseOffset)).toEqual([10, 20]);
    expect(read.firstOffset).toBe(10);
    expect(read.nextOffset).toBe(21);
  });
});

describe("PartitionLog read", () => {
  it("returns whole batches from the batch holding the offset, within the budget but at least one", async () => {
    const log = await openLog(new SimStorageFs());
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const b = batch(3, i);
      sizes.push(b.byteLength);
      await log.append(b, 0);
    }
    const one = await log.read(4, 1);
    expect(batchesIn(one.records)).toEqual([expect.objectContaining({ baseOffset: 3, lastOffset: 5 })]);
    expect(one.firstOffset).toBe(3);
    expect(one.nextOffset).toBe(6);
    const some = await log.read(0, (sizes[0] as number) * 3 + 5);
    expect(batchesIn(some.records).map((b) => b.baseOffset)).toEqual([0, 3, 6]);
    const all = await readAll(log);
    expect(batchesIn(all)).toHaveLength(20);
  });

  it("never returns a batch at or past maxOffset, and is empty at the log end", async () => {
    const log = await openLog(new SimStorageFs());
    for (let i = 0; i < 5; i++) await log.append(batch(2, i), 0);
    const bounded = await log.read(0, 1 << 20, { maxOffset: 6 });
    expect(batchesIn(bounded.records).map((b) => b.lastOffset)).toEqual([1, 3, 5]);
    const straddling = await log.read(6, 1 << 20, { maxOffset: 7 });
    expect(straddling.records.byteLength).toBe(0);
    expect(straddling.nextOffset).toBe(6);
    const atEnd = await log.read(10, 100);
    expect(atEnd.records.byteLength).toBe(0);
    expect(atEnd.logEndOffset).toBe(10);
  });

  it("throws OffsetOutOfRangeError below the log start and past the log end", async () => {
    const log = await openLog(new SimStorageFs(), { segmentBytes: 300 });
    for (let i = 0; i < 10; i++) await log.append(batch(1, i), 0);
    await log.deleteRecordsBefore(4);
    await expect(log.read(3, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(11, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(-1, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(0.5, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(4, -1)).rejects.toBeInstanceOf(SluiceError);
    expect((await log.read(4, 1)).firstOffset).toBe(4);
  });

  it("reads into a caller's scratch buffer when it is big enough", async () => {
    const log = await openLog(new SimStorageFs());
    for (let i = 0; i < 5; i++) await log.append(batch(2, i), 0);
    const scratch = Buffer.alloc(64 * 1024);
    const result = await log.read(0, 1000, { buffer: scratch });
    expect(result.records.buffer).toBe(scratch.buffer);
    expect(batchesIn(result.records).length).toBeGreaterThan(0);
  });

  it("detects a flipped byte in an old segment on read, counts it, and never serves it", async () => {
    const fs = new SimStorageFs();
    const corrupt: number[] = [];
    const log = await PartitionLog.open({
      fs,
      dir: DIR,
      config: logConfig({ segmentBytes: 400, indexIntervalBytes: 100 }),
      clock: new ManualClock(),
      observer: { onCorruptBatch: (e) => corrupt.push(e.segmentBaseOffset) },
    });
    const batches: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const b = batch(1, i);
      batches.push(b);
      await log.append(b, 0);
    }
    expect(log.segmentCount).toBeGreaterThan(2);
    // Flip a record byte of the second batch (offset 1) in the first segment.
    fs.corruptByte(`${DIR}/00000000000000000000.log`, (batches[0] as Buffer).byteLength + 70);
    await expect(log.read(1, 10_000)).rejects.toBeInstanceOf(CorruptRecordError);
    // A read starting before it stops short of it.
    const before = await log.read(0, 10_000);
    expect(batchesIn(before.records).map((b) => b.baseOffset)).toEqual([0]);
    // Later segments still serve.
    expect((await log.read(8, 10_000)).records.byteLength).toBeGreaterThan(0);
    expect(log.stats.corruptBatchesTotal).toBe(1);
    expect(corrupt).toEqual([0]);
  });

  it("finds offsets by timestamp at batch precision, honouring the log start", async () => {
    const log = await openLog(new SimStorageFs(), { segmentBytes: 500 });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 15; i++) await log.append(batch(2, i, { baseTimestampMs: t0 + i * 1000, timestampStepMs: 10 }), 0);
    expect(await log.offsetForTimestamp(t0)).toEqual({ offset: 0, timestampMs: t0 + 10 });
    expect(await log.offsetForTimestamp(t0 + 5000)).toEqual({ offset: 10, timestampMs: t0 + 5010 });
    expect(await log.offsetForTimestamp(t0 + 5011)).toEqual({ offset: 12, timestampMs: t0 + 6010 });
    expect(await log.offsetForTimestamp(t0 + 100_000)).toBeUndefined();
    await log.deleteRecordsBefore(7);
    expect(await log.offsetForTimestamp(t0)).toEqual({ offset: 7, timestampMs: t0 + 3010 });
  });
});

describe("PartitionLog roll, retention, delete-records, truncation", () => {
  it("rolls by size before an append that does not fit, and by age using the injected clock", async () => {
    const clock = new ManualClock();
    const log = await openLog(new SimStorageFs(), { segmentBytes: 1000, segmentMs: 60_000 }, clock);
    const b = batch(1);
    const perSegment = Math.floor(1000 / b.byteLength);
    for (let i = 0; i < perSegment; i++) await log.append(batch(1, i), 0);
    expect(log.segmentCount).toBe(1);
    await log.append(batch(1, 99), 0);
    expect(log.segmentCount).toBe(2);
    clock.advance(59_999);
    await log.append(batch(1, 100), 0);
    expect(log.segmentCount).toBe(2);
    clock.advance(1);
    await log.append(batch(1, 101), 0);
    expect(log.segmentCount).toBe(3);
    const infos = await log.segmentInfos();
    expect(infos.map((s) => s.baseOffset)).toEqual([0, perSegment, perSegment + 2]);
    expect(infos.map((s) => s.active)).toEqual([false, false, true]);
    expect(log.recoveryPointOffset).toBe(perSegment + 2);
  });

  it("deletes whole old segments by time and by size, never the active one, and persists the new log start", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const fs = new SimStorageFs();
    const log = await openLog(fs, { segmentBytes: 300, retentionMs: 10_000 }, clock);
    for (let i = 0; i < 12; i++) await log.append(batch(1, i, { baseTimestampMs: clock.nowMs() + i * 1000 }), 0);
    const segmentsBefore = log.segmentCount;
    clock.advance(10_000 + 3_500);
    const byTime = await log.applyRetention();
    expect(byTime.deletedSegments).toBeGreaterThan(0);
    expect(log.segmentCount).toBe(segmentsBefore - byTime.deletedSegments);
    const infos = await log.segmentInfos();
    expect(infos[0]?.baseOffset).toBe(log.logStartOffset);
    // Everything older than the cut-off is gone; the first kept segment holds a newer timestamp.
    expect(infos[0]?.largestTimestampMs).toBeGreaterThanOrEqual(clock.nowMs() - 10_000);
    clock.advance(1_000_000);
    await log.applyRetention();
    expect(log.segmentCount).toBe(1);
    expect(log.logStartOffset).toBe(log.logEndOffset - (log.logEndOffset - (await log.segmentInfos())[0]!.baseOffset));
    await log.close();
    const reopened = await openLog(fs, {}, clock);
    expect(reopened.logStartOffset).toBe(log.logStartOffset);
  });

  it("retention by bytes keeps the log at or under retention.bytes plus the active segment", async () => {
    const log = await openLog(new SimStorageFs(), { segmentBytes: 300, retentionBytes: 700, retentionMs: -1 });
    for (let i = 0; i < 20; i++) await log.append(batch(1, i), 0);
    const total = log.sizeBytes;
    const result = await log.applyRetention();
    expect(result.deletedBytes).toBe(total - log.sizeBytes);
    expect(log.sizeBytes).toBeGreaterThanOrEqual(700);
    const infos = await log.segmentInfos();
    expect(log.sizeBytes - (infos[0]?.sizeBytes ?? 0)).toBeLessThan(700);
  });

  it("deleteRecordsBefore advances the log start (inside a segment too) and drops segments wholly below it", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs, { segmentBytes: 300 });
    for (let i = 0; i < 12; i++) await log.append(batch(1, i), 0);
    const infos = await log.segmentInfos();
    const third = infos[2]?.baseOffset as number;
    expect(await log.deleteRecordsBefore(third + 1)).toBe(third + 1);
    expect((await log.segmentInfos())[0]?.baseOffset).toBe(third);
    expect(await log.deleteRecordsBefore(1)).toBe(third + 1);
    await expect(log.deleteRecordsBefore(100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await log.close();
    expect((await openLog(fs)).logStartOffset).toBe(third + 1);
  });

  it("truncates to a batch boundary across segments and refuses to cut inside a batch", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs, { segmentBytes: 300 });
    for (let i = 0; i < 10; i++) await log.append(batch(2, i), i < 5 ? 1 : 2);
    await expect(log.truncateTo(5)).rejects.toBeInstanceOf(TruncateInsideBatchError);
    await log.truncateTo(6);
    expect(log.logEndOffset).toBe(6);
    expect(batchesIn(await readAll(log)).map((b) => b.baseOffset)).toEqual([0, 2, 4]);
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }]);
    const next = await log.append(batch(1, 50), 3);
    expect(next.baseOffset).toBe(6);
    await log.truncateTo(100);
    expect(log.logEndOffset).toBe(7);
    await log.close();
    const reopened = await openLog(fs);
    expect(reopened.logEndOffset).toBe(7);
    expect(reopened.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 6 },
    ]);
  });

  it("truncateFullyAndStartAt empties the log and continues at the new offset", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs, { segmentBytes: 300 });
    for (let i = 0; i < 6; i++) await log.append(batch(1, i), 1);
    await log.truncateFullyAndStartAt(1000);
    expect(log.logStartOffset).toBe(1000);
    expect(log.logEndOffset).toBe(1000);
    expect(log.epochEntries()).toEqual([]);
    expect((await log.append(batch(), 4)).baseOffset).toBe(1000);
    await log.close();
    const reopened = await openLog(fs);
    expect(reopened.logStartOffset).toBe(1000);
    expect(reopened.logEndOffset).toBe(1001);
  });
});

describe("PartitionLog lifecycle and failures", () => {
  it("reopens after a clean close without rescanning, with the same state and bytes", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs, { segmentBytes: 500 });
    for (let i = 0; i < 20; i++) await log.append(batch(2, i), i < 10 ? 1 : 2);
    const bytes = await readAll(log);
    await log.close();
    await expect(log.append(batch(), 2)).rejects.toBeInstanceOf(StorageError);
    const reopened = await openLog(fs, { segmentBytes: 500 });
    expect(reopened.recovery.clean).toBe(true);
    expect(reopened.recovery.bytesScanned).toBe(0);
    expect(reopened.logEndOffset).toBe(40);
    expect((await readAll(reopened)).equals(bytes)).toBe(true);
    expect(reopened.epochEntries()).toEqual(log.epochEntries());
    expect((await reopened.append(batch(), 2)).baseOffset).toBe(40);
  });

  it("a write that fails (ENOSPC, half written) is cut back: the log is unchanged and usable", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs);
    await log.append(batch(2, 1), 0);
    const before = fs.content(`${DIR}/00000000000000000000.log`);
    fs.injectFault({ op: "write", pathIncludes: ".log", code: "ENOSPC", partialWriteBytes: 30 });
    const error = await log.append(batch(2, 2), 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).cause).toMatchObject({ code: "ENOSPC" });
    expect(fs.content(`${DIR}/00000000000000000000.log`).equals(before)).toBe(true);
    expect(log.logEndOffset).toBe(2);
    expect((await log.append(batch(1, 3), 0)).baseOffset).toBe(2);
  });

  it("a failed fdatasync takes the log offline (its appends and every later call fail)", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs);
    await log.append(batch(), 0);
    fs.injectFault({ op: "datasync", code: "EIO" });
    await expect(log.append(batch(), 0)).rejects.toBeInstanceOf(StorageError);
    await expect(log.append(batch(), 0)).rejects.toBeInstanceOf(StorageError);
    await expect(log.read(0, 100)).rejects.toBeInstanceOf(StorageError);
    await log.close();
    // Reopening recovers what reached the disk.
    const reopened = await openLog(fs);
    expect(reopened.recovery.clean).toBe(false);
    expect(reopened.logEndOffset).toBeGreaterThanOrEqual(1);
  });

  it("applies a changed config to later appends", async () => {
    const log = await openLog(new SimStorageFs(), { maxMessageBytes: 1000 });
    await log.append(buildTestBatch({ records: 1, valueBytes: 500 }), 0);
    log.updateConfig(logConfig({ maxMessageBytes: 300 }));
    await expect(log.append(buildTestBatch({ records: 1, valueBytes: 500 }), 0)).rejects.toBeInstanceOf(MessageTooLargeError);
  });

  it("under fsync never, appends resolve unsynced and flush() makes them durable", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs, { fsync: { kind: "never" } });
    await log.append(batch(1, 1), 0);
    expect(log.durableEndOffset).toBe(0);
    await log.flush();
    expect(log.durableEndOffset).toBe(1);
    expect(fs.durableContent(`${DIR}/00000000000000000000.log`)?.byteLength).toBe(log.sizeBytes);
  });

  it("under fsync interval:<ms>, flushIfDue flushes once the oldest unflushed write is old enough", async () => {
    const clock = new ManualClock();
    const log = await openLog(new SimStorageFs(), { fsync: { kind: "interval", intervalMs: 100 } }, clock);
    await log.append(batch(), 0);
    expect(await log.flushIfDue()).toBe(false);
    clock.advance(100);
    expect(await log.flushIfDue()).toBe(true);
    expect(log.durableEndOffset).toBe(1);
    expect(await log.flushIfDue()).toBe(false);
  });

  it("reads racing truncation, re-appends and retention only ever return real batches holding the asked offset", async () => {
    const fs = new SimStorageFs();
    const log = await openLog(fs, { segmentBytes: 400, retentionBytes: 1200, retentionMs: -1 });
    const versions = new Map<number, Set<string>>();
    let seed = 0;
    let boundaries: number[] = [];
    const appendOne = async (): Promise<void> => {
      const input = batch(1 + (seed % 2), seed++);
      // Readers may see the batch as soon as it is written, before the append resolves.
      const offset = log.logEndOffset;
      versions.set(offset, (versions.get(offset) ?? new Set()).add(stampedCopy(input, offset, 0).toString("hex")));
      boundaries.push(offset);
      await log.append(input, 0);
    };
    for (let i = 0; i < 20; i++) await appendOne();
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const start = log.logStartOffset;
        const end = log.logEndOffset;
        if (end === start) {
          await Promise.resolve();
          continue;
        }
        const offset = start + ((reads * 7) % (end - start));
        reads++;
        // Let timers and I/O run too (the simulated disk alone only ever yields microtasks).
        if (reads % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
        try {
          const result = await log.read(offset, 500);
          let at = 0;
          const found = batchesIn(result.records);
          for (const b of found) {
            expect(versions.get(b.baseOffset)?.has(result.records.subarray(at, at + b.sizeBytes).toString("hex"))).toBe(true);
            at += b.sizeBytes;
          }
          if (found.length > 0) {
            expect(found[0]?.baseOffset).toBeLessThanOrEqual(offset);
            expect(found[0]?.lastOffset).toBeGreaterThanOrEqual(offset);
          }
        } catch (error) {
          // The offset may have been truncated or deleted meanwhile; nothing else is acceptable.
          expect(error).toBeInstanceOf(OffsetOutOfRangeError);
        }
      }
    })();
    try {
      for (let round = 0; round < 30; round++) {
        const live = boundaries.filter((o) => o >= log.logStartOffset);
        const cut = live[(round * 5) % Math.max(1, live.length)];
        if (cut !== undefined && round % 3 !== 2) {
          await log.truncateTo(cut);
          boundaries = boundaries.filter((o) => o < cut);
        }
        for (let i = 0; i < 4; i++) await appendOne();
        if (round % 4 === 0) await log.applyRetention();
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      stop = true;
      await reader;
    }
    expect(reads).toBeGreaterThan(50);
  });
});
