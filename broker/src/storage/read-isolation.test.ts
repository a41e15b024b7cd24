// Proves that a read never fails and never returns wrong bytes because the log changed under it: a read run at every file-system call of a compaction swap, a read stopped inside its own file read while a swap, a retention delete or a truncation goes ahead, and a read started while a swap's old segments are already gone from disk all return whole, correct batches from the log as it was or as it became.
import { decodeRecordBatch } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig, type LogConfig } from "./config.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { PartitionLog } from "./partition-log.js";
import { LogCleaner } from "./compaction/log-cleaner.js";
import { keyedBatch } from "./compaction/testing/keyed-log.js";
import { PausedFs } from "./testing/paused-fs.js";

const START_MS = 1_700_000_000_000;
const DIR = "/data/t-0";
const compact: LogConfig = logConfig({ segmentBytes: 400, indexIntervalBytes: 100, cleanupPolicy: "compact" });

interface Written {
  readonly key: string;
  readonly value: string;
}

interface Harness {
  readonly fs: PausedFs;
  readonly log: PartitionLog;
  readonly cleaner: LogCleaner;
  /** Every record ever appended, by offset. */
  readonly written: Map<number, Written>;
  append(key: string, value: string): Promise<number>;
}

async function harness(config: LogConfig = compact): Promise<Harness> {
  const fs = new PausedFs(new SimStorageFs());
  const clock = new ManualClock(START_MS);
  const log = await PartitionLog.open({ fs, dir: DIR, config, clock });
  const cleaner = new LogCleaner({ fs, clock, ioBytesPerSecond: Infinity, yieldToEventLoop: () => Promise.resolve() });
  const written = new Map<number, Written>();
  return {
    fs,
    log,
    cleaner,
    written,
    append: async (key, value) => {
      const { baseOffset } = await log.append(keyedBatch([{ key, value }]), 1);
      written.set(baseOffset, { key, value });
      return baseOffset;
    },
  };
}

interface ReadRecord {
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

/** Decodes a read's bytes, checking every record is one that was written at its offset and offsets increase. */
function decodeChecked(h: Harness, bytes: Buffer, after: number): ReadRecord[] {
  const records: ReadRecord[] = [];
  let previous = after;
  let at = 0;
  while (at < bytes.byteLength) {
    const batch = decodeRecordBatch(bytes, at, { maxBatchBytes: 1 << 26 });
    for (const r of batch.records) {
      expect(r.offset, "offsets increase").toBeGreaterThan(previous);
      previous = r.offset;
      const record = { offset: r.offset, key: r.key?.toString() ?? "", value: r.value?.toString() ?? "" };
      expect(record, `record at ${r.offset} is the one written there`).toEqual({ offset: r.offset, ...h.written.get(r.offset) });
      records.push(record);
    }
    at += batch.sizeBytes;
  }
  return records;
}

/** Reads the whole log from its start, one small read at a time, as a consumer replaying it does. */
async function readAll(h: Harness): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  let offset = h.log.logStartOffset as number;
  const end = h.log.logEndOffset as number;
  while (offset < end) {
    const result = await h.log.read(offset, 1);
    if (result.records.byteLength === 0) break;
    records.push(...decodeChecked(h, result.records, records.at(-1)?.offset ?? -1).filter((r) => r.offset >= offset));
    offset = result.nextOffset;
  }
  return records;
}

/** The latest record of each key below `bound`, then everything from `bound` on. */
function compacted(h: Harness, bound: number): number[] {
  const latest = new Map<string, number>();
  for (const [offset, w] of h.written) if (offset < bound) latest.set(w.key, offset);
  return [...h.written.keys()].filter((o) => o >= bound || latest.get((h.written.get(o) as Written).key) === o).sort((a, b) => a - b);
}

/** A log of `count` single-record batches over `keys` keys, rolled, so everything but the empty active segment is cleanable. */
async function filled(count: number, keys: number, config?: LogConfig): Promise<Harness> {
  const h = await harness(config);
  for (let i = 0; i < count; i++) await h.append(`k${i % keys}`, `v${i}`);
  await h.log.roll();
  return h;
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("a read at every step of a compaction swap", () => {
  it("returns correct batches and misses nothing that survives the clean, at every file-system call of the swap", async () => {
    let step = 0;
    let swapSteps = 0;
    for (;;) {
      const h = await filled(40, 4);
      const end = h.log.logEndOffset as number;
      const before = await readAll(h);
      // The swap starts with the manifest; from there, stop at the step-th call.
      const manifest = h.fs.pauseAt({ op: "open", pathIncludes: "swap-manifest" });
      const cleaning = h.cleaner.clean(h.log);
      await manifest.reached;
      const inside = h.fs.pauseAt({ skip: step });
      manifest.release();
      const stopped = await Promise.race([inside.reached.then(() => true), cleaning.then(() => false)]);
      if (!stopped) {
        inside.release();
        break;
      }
      swapSteps++;
      const during = await readAll(h);
      // Nothing the clean keeps is missed, and nothing appears that the log never had.
      const offsets = new Set(during.map((r) => r.offset));
      for (const o of compacted(h, end)) expect(offsets.has(o), `offset ${o} read at swap step ${step}`).toBe(true);
      expect(during.length).toBeLessThanOrEqual(before.length);
      // Reads at each batch of the log as it was, too (a fetch at any offset a consumer might hold).
      for (const r of before) {
        const result = await h.log.read(r.offset, 1);
        // A batch compaction emptied is kept as a bare header: bytes, but maybe no record.
        expect(result.records.byteLength, `read at ${r.offset}`).toBeGreaterThan(0);
        expect(result.nextOffset).toBeGreaterThan(r.offset);
        decodeChecked(h, result.records, -1);
      }
      inside.release();
      await cleaning;
      expect((await readAll(h)).map((r) => r.offset)).toEqual(compacted(h, end));
      await h.log.close();
      step++;
    }
    expect(swapSteps).toBeGreaterThan(10);
  });
});

describe("a read stopped inside its own file read", () => {
  /** A segment holding one batch bigger than a read's lookahead, so the read reads its file twice. */
  const big = (i: number): string => `${i}-${"x".repeat(12_000)}`;
  const bigConfig = logConfig({ segmentBytes: 13_000, indexIntervalBytes: 100, cleanupPolicy: "compact,delete", retentionMs: -1 });

  async function bigLog(): Promise<Harness> {
    const h = await harness(bigConfig);
    for (let i = 0; i < 6; i++) await h.append(`k${i % 2}`, big(i));
    await h.log.roll();
    return h;
  }

  it("still returns the batch after a compaction swap replaced and removed its segment", async () => {
    const h = await bigLog();
    const target = 1; // k1's first value: compaction drops it
    const read = h.fs.pauseAt({ op: "read", pathIncludes: `0000000000000000000${target}.log` });
    const reading = h.log.read(target, 1);
    await read.reached;
    await h.cleaner.clean(h.log);
    expect(compacted(h, 6)).not.toContain(target);
    read.release();
    const result = await reading;
    expect(decodeChecked(h, result.records, -1).map((r) => r.offset)).toEqual([target]);
    // A read after the swap sees the compacted log.
    expect((await readAll(h)).map((r) => r.offset)).toEqual(compacted(h, 6));
    await h.log.close();
  });

  it("still returns the batch after retention (DeleteRecords) deleted its segment", async () => {
    const h = await bigLog();
    const read = h.fs.pauseAt({ op: "read", pathIncludes: "00000000000000000002.log" });
    const reading = h.log.read(2, 1);
    await read.reached;
    expect(await h.log.deleteRecordsBefore(4)).toBe(4);
    expect((await h.fs.readdir(DIR)).some((n) => n.startsWith("00000000000000000002."))).toBe(false);
    read.release();
    const result = await reading;
    expect(decodeChecked(h, result.records, -1).map((r) => r.offset)).toEqual([2]);
    await h.log.close();
  });

  it("returns the batch as it was when a truncation of its segment comes in; the truncation then goes ahead", async () => {
    const h = await harness(logConfig({ segmentBytes: 100_000, indexIntervalBytes: 100 }));
    for (let i = 0; i < 4; i++) await h.append(`k${i}`, big(i));
    const read = h.fs.pauseAt({ op: "read", pathIncludes: ".log" });
    const reading = h.log.read(2, 1);
    await read.reached;
    let truncated = false;
    const truncating = h.log.truncateTo(2).then(() => {
      truncated = true;
    });
    await turns(20);
    read.release();
    const result = await reading;
    expect(decodeChecked(h, result.records, -1).map((r) => r.offset)).toEqual([2]);
    await truncating;
    expect(truncated).toBe(true);
    expect(h.log.logEndOffset).toBe(2);
    // Offsets 2.. are written again, with new values; reads see only those.
    for (let i = 2; i < 4; i++) await h.append(`k${i}`, `again-${i}`);
    expect((await readAll(h)).map((r) => r.value)).toEqual([big(0), big(1), "again-2", "again-3"]);
    await h.log.close();
  });
});

describe("reads while a swap's old segments are already gone", () => {
  it("a read at an offset of a replaced segment, started after the old files were unlinked and renamed over, returns correct batches", async () => {
    const h = await filled(40, 4);
    const end = h.log.logEndOffset as number;
    // Stop the swap after every old file is gone and the replacement has its final names, before the manifest goes.
    const late = h.fs.pauseAt({ op: "unlink", pathIncludes: "swap-manifest" });
    const cleaning = h.cleaner.clean(h.log);
    await late.reached;
    for (let offset = 0; offset < end; offset++) {
      const result = await h.log.read(offset, 1);
      expect(result.records.byteLength, `read at ${offset}`).toBeGreaterThan(0);
      expect(result.nextOffset).toBeGreaterThan(offset);
      decodeChecked(h, result.records, -1);
    }
    late.release();
    await cleaning;
    expect((await readAll(h)).map((r) => r.offset)).toEqual(compacted(h, end));
    await h.log.close();
  });
});
