// Proves the cleaner's behaviour on whole logs (simulated disk): clean logs are left byte-identical, the log end survives an emptied last batch and a crash, tombstone horizons survive restarts and make a quiet log due, min.compaction.lag.ms and the stable offset bound what is touched, a small dedupe buffer cleans in rounds, the checkpoint spares repeated work, corrupt batches abort the clean (typed error, nothing lost, reported, log marked uncleanable), conflicts and aborts leave nothing behind, and the dirtiest log is picked.
import { CorruptRecordError, encodeRecordBatch, readBatchHeader } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { logConfig, type LogConfig } from "../config.js";
import { SegmentSwapConflictError } from "../errors.js";
import { SimStorageFs } from "../fs/sim-fs.js";
import type { CompactionAbortedEvent, CompactionEvent, CorruptBatchEvent, StorageObserver } from "../observer.js";
import { PartitionLog } from "../partition-log.js";
import { CLEANER_CHECKPOINT_FILE, readCleanerCheckpoint } from "./cleaner-checkpoint.js";
import { CompactionAbortedError, DedupeBufferTooSmallError, NotCompactedError } from "./errors.js";
import { LogCleaner, type LogCleanerOptions } from "./log-cleaner.js";
import { GatedThrottle, eventually } from "./testing/gate.js";
import { keyedBatch, readBatches, readRecords, tuples, type TestRecord } from "./testing/keyed-log.js";

const START_MS = 1_700_000_000_000;
const compact: LogConfig = logConfig({ segmentBytes: 400, indexIntervalBytes: 100, cleanupPolicy: "compact", deleteRetentionMs: 60_000 });

interface Harness {
  fs: SimStorageFs;
  clock: ManualClock;
  log: PartitionLog;
  cleaner: LogCleaner;
  events: { compactions: CompactionEvent[]; aborted: CompactionAbortedEvent[]; corrupt: CorruptBatchEvent[] };
  reopen(): Promise<PartitionLog>;
}

async function harness(options: { config?: LogConfig; dir?: string; cleaner?: Partial<LogCleanerOptions>; fs?: SimStorageFs; clock?: ManualClock } = {}): Promise<Harness> {
  const fs = options.fs ?? new SimStorageFs();
  const clock = options.clock ?? new ManualClock(START_MS);
  const events: Harness["events"] = { compactions: [], aborted: [], corrupt: [] };
  const observer: StorageObserver = {
    onCompaction: (e) => events.compactions.push(e),
    onCompactionAborted: (e) => events.aborted.push(e),
    onCorruptBatch: (e) => events.corrupt.push(e),
  };
  const dir = options.dir ?? "/data/t-0";
  const config = options.config ?? compact;
  const log = await PartitionLog.open({ fs, dir, config, clock, observer });
  const cleaner = new LogCleaner({ fs, clock, observer, ioBytesPerSecond: Infinity, yieldToEventLoop: () => Promise.resolve(), ...options.cleaner });
  const h: Harness = {
    fs,
    clock,
    log,
    cleaner,
    events,
    reopen: async () => {
      h.log = await PartitionLog.open({ fs: h.fs, dir, config, clock, observer });
      return h.log;
    },
  };
  return h;
}

async function append(log: PartitionLog, ...records: TestRecord[]): Promise<number> {
  return (await log.append(keyedBatch(records), 1)).baseOffset;
}

async function segmentBytes(h: Harness): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await h.fs.readdir(h.log.dir)).sort()) if (name.endsWith(".log")) files.set(name, h.fs.content(`${h.log.dir}/${name}`));
  return files;
}

describe("log cleaner", () => {
  it("leaves a log with nothing to remove untouched, byte for byte; keyless records and control batches stay", async () => {
    const h = await harness();
    for (let i = 0; i < 12; i++) await append(h.log, { key: `unique-${i}`, value: `v${i}` }, { key: null, value: "keyless" });
    // A control batch whose key is also a user key: it is never deduplicated.
    await h.log.append(encodeRecordBatch({ control: true, records: [{ key: Buffer.from("unique-0"), value: Buffer.from("marker") }], now: START_MS }), 1);
    await h.log.roll();
    const before = await segmentBytes(h);
    const result = await h.cleaner.clean(h.log);
    expect(result).toMatchObject({ groupsSwapped: 0, recordsRemoved: 0 });
    expect(result.bytesRead).toBeGreaterThan(0);
    expect(await segmentBytes(h)).toEqual(before);
    // Superseding unique-0 removes its record, not the keyless ones nor the control batch.
    await append(h.log, { key: "unique-0", value: "newer" });
    await h.log.roll();
    expect((await h.cleaner.clean(h.log)).recordsRemoved).toBe(1);
    const records = await readRecords(h.log);
    expect(records.filter((r) => r.key === null)).toHaveLength(12);
    expect(records.filter((r) => r.key === "unique-0").map((r) => r.value)).toEqual(["marker", "newer"]);
  });

  it("removes superseded records, keeps offsets, and the log end survives an emptied last batch and a crash", async () => {
    const h = await harness();
    await append(h.log, { key: "a", value: "a1" }, { key: "b", value: "b1" });
    await append(h.log, { key: "a", value: "a2" });
    await append(h.log, { key: "t", value: "t1" });
    const tombstoneAt = await append(h.log, { key: "t", value: null });
    await h.log.roll();
    const end = h.log.logEndOffset;
    await h.cleaner.clean(h.log);
    expect(tuples(await readRecords(h.log))).toEqual([
      [1, "b", "b1"],
      [2, "a", "a2"],
      [tombstoneAt, "t", null],
    ]);
    // Past the delete horizon the tombstone, the log's last record below the active segment, goes too.
    h.clock.advance(60_000);
    await h.cleaner.clean(h.log);
    expect(tuples(await readRecords(h.log))).toEqual([
      [1, "b", "b1"],
      [2, "a", "a2"],
    ]);
    // Its batch stays as a bare header, so the segment still ends where it did.
    const batches = await readBatches(h.log);
    expect(batches.at(-1)).toMatchObject({ baseOffset: tombstoneAt, lastOffset: tombstoneAt, records: [] });
    expect(h.log.logEndOffset).toBe(end);
    h.log.abandon();
    h.fs = h.fs.crash();
    await h.reopen();
    expect(h.log.logEndOffset).toBe(end);
    expect((await h.log.append(keyedBatch([{ key: "z", value: "next" }]), 1)).baseOffset).toBe(end);
  });

  it("delete horizons and the checkpoint survive a restart; a quiet log with a tombstone due is picked", async () => {
    const h = await harness();
    await append(h.log, { key: "a", value: "1" });
    await append(h.log, { key: "a", value: null });
    await append(h.log, { key: "b", value: "2" });
    await h.log.roll();
    const first = await h.cleaner.clean(h.log);
    expect(first.earliestHorizonMs).toBe(START_MS + 60_000);
    const tombstoneBatch = (await readBatches(h.log)).find((b) => b.records.some((r) => r.value === null));
    expect(readBatchHeader(tombstoneBatch?.bytes as Buffer).baseTimestamp).toBe(START_MS + 60_000);
    await h.log.close();
    expect(await readCleanerCheckpoint(h.fs, h.log.dir)).toEqual({ cleanedThroughOffset: 3, earliestHorizonMs: START_MS + 60_000 });

    await h.reopen();
    const cleaner = new LogCleaner({ fs: h.fs, clock: h.clock, ioBytesPerSecond: Infinity });
    expect((await cleaner.inspect(h.log)).range).toMatchObject({ firstDirtyOffset: 3, dirtyBytes: 0 });
    expect(await cleaner.pickDirtiest([h.log])).toBeUndefined();
    h.clock.advance(59_999);
    expect(await cleaner.pickDirtiest([h.log])).toBeUndefined();
    h.clock.advance(1);
    expect((await cleaner.inspect(h.log)).horizonDue).toBe(true);
    const due = await cleaner.cleanDirtiest([h.log]);
    expect(due).toMatchObject({ tombstonesRemoved: 1, earliestHorizonMs: undefined });
    expect(tuples(await readRecords(h.log))).toEqual([[2, "b", "2"]]);
    expect(await cleaner.pickDirtiest([h.log])).toBeUndefined();
  });

  it("does not compact records younger than min.compaction.lag.ms", async () => {
    const h = await harness({ config: logConfig({ ...compact, minCompactionLagMs: 30_000 }) });
    for (let i = 0; i < 6; i++) await h.log.append(keyedBatch([{ key: "k", value: `v${i}`, timestamp: h.clock.nowMs() }]), 1);
    await h.log.roll();
    const young = await h.cleaner.clean(h.log);
    expect(young).toMatchObject({ firstUncleanableOffset: 0, recordsRemoved: 0, groupsSwapped: 0 });
    h.clock.advance(30_000);
    const old = await h.cleaner.clean(h.log);
    expect(old.recordsRemoved).toBe(5);
    expect(tuples(await readRecords(h.log))).toEqual([[5, "k", "v5"]]);
  });

  it("never compacts at or above the stable offset, nor lets records there supersede older ones", async () => {
    let stable = 0;
    const h = await harness({ cleaner: { stableOffsetFor: () => stable } });
    for (let i = 0; i < 9; i++) await append(h.log, { key: "k", value: `v${i}` }, { key: `u${i}`, value: "x" });
    await h.log.roll();
    // Offsets 0..17; the high watermark sits at offset 8.
    stable = 8;
    const result = await h.cleaner.clean(h.log);
    expect(result.cleanedThroughOffset).toBe(8);
    const records = await readRecords(h.log);
    // Below 8 only the latest "k" below 8 (offset 6) stays; everything from 8 on is untouched.
    expect(records.filter((r) => r.key === "k").map((r) => r.offset)).toEqual([6, 8, 10, 12, 14, 16]);
    expect(records.filter((r) => r.key !== "k")).toHaveLength(9);
  });

  it("a small dedupe buffer cleans in rounds, each continuing where the last stopped", async () => {
    const h = await harness({ config: logConfig({ ...compact, segmentBytes: 2000 }), cleaner: { dedupeBufferBytes: 1024 } });
    for (let round = 0; round < 2; round++) for (let i = 0; i < 30; i++) await append(h.log, { key: `key-${i}`, value: `r${round}` });
    await h.log.roll();
    const ends: number[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await h.cleaner.clean(h.log);
      ends.push(result.cleanedThroughOffset);
      if (!result.mapFull) break;
      expect(result.mapKeys).toBeGreaterThan(0);
    }
    expect(ends.length).toBeGreaterThan(4);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    expect(ends.at(-1)).toBe(60);
    const records = await readRecords(h.log);
    expect(records.map((r) => r.value)).toEqual(Array.from({ length: 30 }, () => "r1"));
  });

  it("refuses a batch whose keys alone exceed the dedupe buffer with a typed error and marks the log", async () => {
    const h = await harness({ cleaner: { dedupeBufferBytes: 1024 } });
    await h.log.append(keyedBatch(Array.from({ length: 20 }, (_, i) => ({ key: `key-${i}`, value: "v" }))), 1);
    await h.log.roll();
    await expect(h.cleaner.clean(h.log)).rejects.toBeInstanceOf(DedupeBufferTooSmallError);
    expect(h.cleaner.isUncleanable(h.log)).toMatch(/dedupe buffer/);
    expect(await h.cleaner.pickDirtiest([h.log])).toBeUndefined();
    expect(h.events.aborted).toMatchObject([{ reason: "error" }]);
  });

  it("spares repeated work: the checkpoint makes the next clean start past the clean section, and a damaged one means a full clean", async () => {
    const h = await harness();
    for (let i = 0; i < 20; i++) await append(h.log, { key: `k${i % 4}`, value: `v${i}` });
    await h.log.roll();
    const first = await h.cleaner.clean(h.log);
    expect(first.firstDirtyOffset).toBe(0);
    const second = await h.cleaner.clean(h.log);
    expect(second).toMatchObject({ firstDirtyOffset: 20, groupsSwapped: 0, recordsRemoved: 0, mapKeys: 0 });
    expect(h.events.compactions).toHaveLength(2);
    h.fs.corruptByte(`${h.log.dir}/${CLEANER_CHECKPOINT_FILE}`, 3);
    await h.log.close();
    await h.reopen();
    const cleaner = new LogCleaner({ fs: h.fs, clock: h.clock, ioBytesPerSecond: Infinity });
    const third = await cleaner.clean(h.log);
    expect(third).toMatchObject({ firstDirtyOffset: 0, recordsRemoved: 0, cleanedThroughOffset: 20 });
    expect(tuples(await readRecords(h.log))).toEqual([
      [16, "k0", "v16"],
      [17, "k1", "v17"],
      [18, "k2", "v18"],
      [19, "k3", "v19"],
    ]);
  });

  it("a corrupt batch in the dirty section aborts the clean before anything is written: typed error, reported, nothing lost", async () => {
    const h = await harness();
    for (let i = 0; i < 20; i++) await append(h.log, { key: `k${i % 3}`, value: `value-${i}` });
    await h.log.roll();
    await h.log.close();
    const first = (await h.fs.readdir(h.log.dir)).filter((n) => n.endsWith(".log")).sort()[0] as string;
    h.fs.corruptByte(`${h.log.dir}/${first}`, 100);
    await h.reopen();
    const before = await segmentBytes(h);
    await expect(h.cleaner.clean(h.log)).rejects.toBeInstanceOf(CorruptRecordError);
    expect(h.events.corrupt).toHaveLength(1);
    expect(h.events.corrupt[0]).toMatchObject({ segmentBaseOffset: 0 });
    expect(h.log.stats.corruptBatchesTotal).toBe(1);
    expect(h.events.aborted).toMatchObject([{ reason: "corrupt" }]);
    expect(await segmentBytes(h)).toEqual(before);
    expect((await h.fs.readdir(h.log.dir)).filter((n) => n.includes("cleaned") || n.includes("manifest"))).toEqual([]);
    expect(h.cleaner.isUncleanable(h.log)).toBeDefined();

    // The background cleaner skips it and cleans the others; an operator's reset lets it try again.
    const other = await harness({ fs: h.fs, clock: h.clock, dir: "/data/t-1" });
    for (let i = 0; i < 10; i++) await append(other.log, { key: "same", value: `${i}` });
    await other.log.roll();
    expect(await h.cleaner.pickDirtiest([h.log, other.log])).toBe(other.log);
    h.cleaner.resetUncleanable(h.log);
    expect(await h.cleaner.pickDirtiest([h.log])).toBe(h.log);
  });

  it("a corrupt batch found while rewriting keeps the groups already swapped and leaves its own group untouched", async () => {
    const h = await harness();
    for (let i = 0; i < 24; i++) await append(h.log, { key: `k${i % 12}`, value: `value-${i}` });
    await h.log.roll();
    await h.cleaner.clean(h.log);
    // The newest values (offsets 12-23) now sit in the last segments of the clean section.
    for (let i = 0; i < 10; i++) await append(h.log, { key: `k${i}`, value: `again-${i}` });
    await h.log.roll();
    await h.log.close();
    const cleanSection = (await h.fs.readdir(h.log.dir)).filter((n) => n.endsWith(".log") && Number(n.slice(0, 20)) < 24).sort();
    const victim = cleanSection.at(-1) as string;
    // A byte under the CRC of the victim's first batch: pass 1 does not read it (it is clean), pass 2 does, last.
    h.fs.corruptByte(`${h.log.dir}/${victim}`, 30);
    await h.reopen();
    const before = await segmentBytes(h);
    await expect(h.cleaner.clean(h.log)).rejects.toBeInstanceOf(CorruptRecordError);
    const after = await segmentBytes(h);
    expect(after.get(victim)).toEqual(before.get(victim));
    expect(cleanSection.slice(0, -1).some((name) => !before.get(name)?.equals(after.get(name) ?? Buffer.alloc(0)))).toBe(true);
    expect((await h.fs.readdir(h.log.dir)).filter((n) => n.includes("cleaned") || n.includes("manifest"))).toEqual([]);
    expect(h.events.corrupt.length).toBeGreaterThan(0);
    expect(h.events.aborted.at(-1)).toMatchObject({ reason: "corrupt" });
    // Everything after the damaged segment reads as it was.
    const records = await readRecords(h.log, 24);
    expect(records.map((r) => r.value)).toEqual(Array.from({ length: 10 }, (_, i) => `again-${i}`));
  });

  it("refuses logs that do not compact, and stops cleanly when aborted mid-clean (nothing swapped, files removed)", async () => {
    const plain = await harness({ config: logConfig({ segmentBytes: 400 }) });
    await expect(plain.cleaner.clean(plain.log)).rejects.toBeInstanceOf(NotCompactedError);
    expect(await plain.cleaner.pickDirtiest([plain.log])).toBeUndefined();

    const gate = new GatedThrottle(Number.MAX_SAFE_INTEGER);
    const h = await harness({ cleaner: { throttle: gate.throttle } });
    for (let i = 0; i < 20; i++) await append(h.log, { key: `k${i % 2}`, value: `v${i}` });
    await h.log.roll();
    const before = tuples(await readRecords(h.log));
    // Pass 1 reads every batch once; the gate shuts a few batches into pass 2, with the .cleaned files begun.
    gate.allow(h.log.sizeBytes + 300);
    const running = h.cleaner.clean(h.log);
    await eventually(() => gate.waiting > 0);
    expect((await h.fs.readdir(h.log.dir)).some((n) => n.endsWith(".log.cleaned"))).toBe(true);
    const aborting = h.cleaner.abort(h.log, "test says stop");
    gate.open();
    await expect(running).rejects.toBeInstanceOf(CompactionAbortedError);
    await aborting;
    expect(h.events.aborted).toMatchObject([{ reason: "stopped" }]);
    expect(h.cleaner.isUncleanable(h.log)).toBeUndefined();
    expect(tuples(await readRecords(h.log))).toEqual(before);
    expect((await h.fs.readdir(h.log.dir)).filter((n) => n.includes("cleaned"))).toEqual([]);
    // A stopped cleaner refuses more work.
    await h.cleaner.stop();
    await expect(h.cleaner.clean(h.log)).rejects.toBeInstanceOf(CompactionAbortedError);
  });

  it("a source segment deleted by retention during the clean refuses the swap; the next clean succeeds", async () => {
    const gate = new GatedThrottle(1);
    const config = logConfig({ ...compact, cleanupPolicy: "compact,delete", retentionBytes: -1 });
    const h = await harness({ config, cleaner: { throttle: gate.throttle } });
    for (let i = 0; i < 20; i++) await append(h.log, { key: `k${i % 2}`, value: `v${i}` });
    await h.log.roll();
    const running = h.cleaner.clean(h.log);
    await eventually(() => gate.waiting > 0);
    const first = (await h.log.segmentInfos())[1]?.baseOffset as number;
    await h.log.deleteRecordsBefore(first);
    await h.log.applyRetention();
    gate.open();
    await expect(running).rejects.toBeInstanceOf(SegmentSwapConflictError);
    expect(h.events.aborted.at(-1)).toMatchObject({ reason: "conflict" });
    expect(h.cleaner.isUncleanable(h.log)).toBeUndefined();
    expect((await h.fs.readdir(h.log.dir)).filter((n) => n.includes("cleaned"))).toEqual([]);
    const retry = await h.cleaner.clean(h.log);
    expect(retry.firstDirtyOffset).toBe(first);
    expect(tuples(await readRecords(h.log))).toEqual([
      [18, "k0", "v18"],
      [19, "k1", "v19"],
    ]);
  });

  it("a segment deleted while the cleaner is reading it (past its first read chunk) is a conflict, not an error", async () => {
    const gate = new GatedThrottle(1);
    const config = logConfig({ ...compact, cleanupPolicy: "compact,delete", segmentBytes: 4 << 20 });
    const h = await harness({ config, cleaner: { throttle: gate.throttle } });
    // Segment 0 is bigger than the 1 MiB the segment walk reads at a time.
    const big = "x".repeat(10_000);
    for (let i = 0; i < 160; i++) await append(h.log, { key: `k${i % 5}`, value: `${i}${big}` });
    await h.log.roll();
    for (let i = 0; i < 5; i++) await append(h.log, { key: `k${i}`, value: "last" });
    await h.log.roll();
    const running = h.cleaner.clean(h.log);
    await eventually(() => gate.waiting > 0);
    // DeleteRecords (or retention) removes segment 0 under the suspended read.
    await h.log.deleteRecordsBefore(160);
    expect((await h.log.segmentInfos())[0]?.baseOffset).toBe(160);
    gate.open();
    await expect(running).rejects.toBeInstanceOf(SegmentSwapConflictError);
    expect(h.events.corrupt).toEqual([]);
    expect(h.cleaner.isUncleanable(h.log)).toBeUndefined();
    await h.cleaner.clean(h.log);
    expect(tuples(await readRecords(h.log))).toEqual(Array.from({ length: 5 }, (_, i) => [160 + i, `k${i}`, "last"]));
  });

  it("picks the dirtiest log at or above its min.cleanable.dirty.ratio", async () => {
    const fs = new SimStorageFs();
    const clock = new ManualClock(START_MS);
    const a = await harness({ fs, clock, dir: "/data/a-0" });
    const b = await harness({ fs, clock, dir: "/data/b-0", config: logConfig({ ...compact, minCleanableDirtyRatio: 0.9 }) });
    const cleaner = new LogCleaner({ fs, clock, ioBytesPerSecond: Infinity });
    for (const h of [a, b]) {
      for (let i = 0; i < 12; i++) await append(h.log, { key: `k${i % 3}`, value: `v${i}` });
      await h.log.roll();
    }
    await cleaner.clean(a.log);
    for (let i = 0; i < 4; i++) await append(a.log, { key: `k${i % 3}`, value: `w${i}` });
    await a.log.roll();
    // a is partly dirty; b wholly dirty (ratio 1 >= 0.9).
    expect(await cleaner.pickDirtiest([a.log, b.log])).toBe(b.log);
    await cleaner.clean(b.log);
    const ratio = (await cleaner.inspect(a.log)).range.dirtyRatio;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
    expect(await cleaner.pickDirtiest([a.log, b.log])).toBe(ratio >= 0.5 ? a.log : undefined);
  });
});
