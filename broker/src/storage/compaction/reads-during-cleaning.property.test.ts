// Proves, with seeded random interleavings on the simulated disk, that reads running continuously beside appends, rolls, cleans, DeleteRecords and truncations never fail (other than an offset that is already out of range when the read starts), only ever return records that were written at their offsets, in increasing order, and miss no record that no change could have removed; and that once things settle a read of the whole log is exactly its latest record per key. SLUICE_PROPERTY_RUNS raises the number of seeds; SLUICE_PROPERTY_SEED replays one.
import { OffsetOutOfRangeError, decodeRecordBatch } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { logConfig } from "../config.js";
import { SimStorageFs } from "../fs/sim-fs.js";
import { seededRandom, type SimRandom } from "../fs/sim-random.js";
import { PartitionLog } from "../partition-log.js";
import { PausedFs } from "../testing/paused-fs.js";
import { CompactionAbortedError } from "./errors.js";
import { SegmentSwapConflictError } from "../errors.js";
import { LogCleaner } from "./log-cleaner.js";
import { keyedBatch } from "./testing/keyed-log.js";

const RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 12);
const FIRST_SEED = Number(process.env.SLUICE_PROPERTY_SEED ?? 1);
const KEYS = 6;
const STEPS = 120;
const READERS = 2;

interface Batch {
  readonly base: number;
  readonly last: number;
}

/** What the log should hold: the record written at each live offset, and every record ever written at each offset. */
class Model {
  readonly live = new Map<number, string>();
  readonly ever = new Map<number, Set<string>>();
  batches: Batch[] = [];
  /** Below this no record is truncated and the cleaner may compact (the high watermark). Only grows. */
  stable = 0;

  wrote(base: number, records: readonly string[]): void {
    records.forEach((r, i) => {
      this.live.set(base + i, r);
      const versions = this.ever.get(base + i) ?? new Set<string>();
      versions.add(r);
      this.ever.set(base + i, versions);
    });
    this.batches.push({ base, last: base + records.length - 1 });
  }

  truncatedTo(offset: number): void {
    for (const o of [...this.live.keys()]) if (o >= offset) this.live.delete(o);
    this.batches = this.batches.filter((b) => b.base < offset);
  }

  keyOf(record: string): string {
    return record.split("=")[0] as string;
  }

  /** Offsets whose record is the latest of its key among live records at or after `from`. */
  latestPerKey(from: number): number[] {
    const latest = new Map<string, number>();
    for (const [o, r] of [...this.live].sort((a, b) => a[0] - b[0])) if (o >= from) latest.set(this.keyOf(r), o);
    return [...latest.values()].sort((a, b) => a - b);
  }
}

async function turns(random: SimRandom, max: number): Promise<void> {
  const n = random.nextInt(max + 1);
  for (let i = 0; i < n; i++) await Promise.resolve();
}

async function runSeed(seed: number): Promise<{ scans: number; reads: number; swaps: number }> {
  const random = seededRandom(seed);
  const fs = new PausedFs(new SimStorageFs(), () => turns(random, 3));
  const clock = new ManualClock(1_700_000_000_000);
  const config = logConfig({ segmentBytes: 300 + random.nextInt(400), indexIntervalBytes: 64, cleanupPolicy: "compact" });
  const log = await PartitionLog.open({ fs, dir: "/data/t-0", config, clock });
  const model = new Model();
  const cleaner = new LogCleaner({ fs, clock, ioBytesPerSecond: Infinity, yieldEveryBytes: 256, yieldToEventLoop: () => turns(random, 2), stableOffsetFor: () => model.stable });
  let done = false;
  let scans = 0;
  let reads = 0;
  let swaps = 0;
  let serial = 0;

  const append = async (): Promise<void> => {
    const count = 1 + random.nextInt(3);
    const records = Array.from({ length: count }, () => `k${random.nextInt(KEYS)}=${seed}-${serial++}`);
    const batch = keyedBatch(records.map((r) => ({ key: model.keyOf(r), value: r.split("=")[1] as string })));
    const { baseOffset } = await log.append(batch, 1);
    model.wrote(baseOffset, records);
  };

  const writer = async (): Promise<void> => {
    for (let step = 0; step < STEPS; step++) {
      const dice = random.nextInt(20);
      if (dice < 13) await append();
      else if (dice < 15) await log.roll();
      else if (dice < 17) {
        // The high watermark moves up to a batch boundary (never past the log end), as a Raft commit does.
        const bounds = [...model.batches.slice(-3).map((b) => b.base), log.logEndOffset as number];
        model.stable = Math.max(model.stable, bounds[random.nextInt(bounds.length)] as number);
      } else if (dice < 19) {
        // A Raft conflict: cut at a batch boundary at or above the high watermark.
        const above = model.batches.filter((b) => b.base >= model.stable);
        const cut = above[random.nextInt(above.length)];
        if (cut !== undefined) {
          await log.truncateTo(cut.base);
          model.truncatedTo(cut.base);
        }
      } else {
        // DeleteRecords below the high watermark.
        const start = log.logStartOffset as number;
        if (model.stable > start) await log.deleteRecordsBefore(start + random.nextInt(model.stable - start + 1));
      }
      await turns(random, 4);
    }
  };

  const cleaning = async (): Promise<void> => {
    while (!done) {
      try {
        const result = await cleaner.clean(log);
        swaps += result.groupsSwapped;
      } catch (error) {
        // Retention or a truncation that changed a source under the clean: retried next round.
        if (!(error instanceof SegmentSwapConflictError || error instanceof CompactionAbortedError)) throw error;
      }
      await turns(random, 20);
    }
  };

  /** Reads from the log start to the high watermark as it was at the start, checking everything returned. */
  const scan = async (): Promise<void> => {
    const stableAtStart = model.stable;
    let offset = log.logStartOffset as number;
    const from = offset;
    const seen = new Set<number>();
    let previous = -1;
    while (offset < stableAtStart) {
      let result;
      try {
        result = await log.read(offset, 1 + random.nextInt(400), { maxOffset: stableAtStart });
      } catch (error) {
        // Only an offset already below the log start when the read began (DeleteRecords moved it): a consumer resets.
        if (error instanceof OffsetOutOfRangeError && offset < (log.logStartOffset as number)) {
          offset = log.logStartOffset as number;
          continue;
        }
        throw error;
      }
      reads++;
      if (result.records.byteLength === 0) break;
      let at = 0;
      while (at < result.records.byteLength) {
        const batch = decodeRecordBatch(result.records, at, { maxBatchBytes: 1 << 20 });
        for (const r of batch.records) {
          if (r.offset < offset) continue;
          expect(r.offset, `seed ${seed}: offsets increase`).toBeGreaterThan(previous);
          previous = r.offset;
          const record = `${r.key?.toString() ?? ""}=${r.value?.toString() ?? ""}`;
          expect(model.ever.get(r.offset)?.has(record), `seed ${seed}: ${record} at ${r.offset} was written there`).toBe(true);
          seen.add(r.offset);
        }
        at += batch.sizeBytes;
      }
      expect(result.nextOffset, `seed ${seed}: reads advance`).toBeGreaterThan(offset);
      offset = result.nextOffset;
    }
    // Nothing could have removed the latest record of a key below the start's high watermark,
    // unless DeleteRecords moved the start past it.
    const floor = Math.max(from, log.logStartOffset as number);
    for (const o of model.latestPerKey(0)) {
      if (o >= floor && o < stableAtStart) expect(seen.has(o), `seed ${seed}: latest record of its key at ${o} was read`).toBe(true);
    }
    scans++;
  };

  const reader = async (): Promise<void> => {
    while (!done) {
      await scan();
      await turns(random, 8);
    }
  };

  const readers = Array.from({ length: READERS }, () => reader());
  const cleanerRun = cleaning();
  try {
    await writer();
  } finally {
    done = true;
  }
  await Promise.all([...readers, cleanerRun]);

  // Settled: everything is stable and rolled; one clean leaves exactly the latest record per key.
  model.stable = log.logEndOffset as number;
  await log.roll();
  await cleaner.clean(log);
  const start = log.logStartOffset as number;
  const all: number[] = [];
  let offset = start;
  while (offset < (log.logEndOffset as number)) {
    const result = await log.read(offset, 1 << 20);
    if (result.records.byteLength === 0) break;
    let at = 0;
    while (at < result.records.byteLength) {
      const batch = decodeRecordBatch(result.records, at, { maxBatchBytes: 1 << 20 });
      for (const r of batch.records) {
        if (r.offset < offset) continue;
        expect(`${r.key?.toString() ?? ""}=${r.value?.toString() ?? ""}`).toBe(model.live.get(r.offset));
        all.push(r.offset);
      }
      at += batch.sizeBytes;
    }
    offset = result.nextOffset;
  }
  expect(all, `seed ${seed}: the settled log is its latest record per key`).toEqual(model.latestPerKey(start));
  expect(log.heldSegmentViews, "no read still holds an old segment list").toBe(0);
  await log.close();
  return { scans, reads, swaps };
}

describe("reads beside cleaning, retention and truncation", () => {
  it(`never fail and return correct batches (${RUNS} seeds from ${FIRST_SEED})`, async () => {
    let swaps = 0;
    let scans = 0;
    let reads = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
      const outcome = await runSeed(seed);
      swaps += outcome.swaps;
      scans += outcome.scans;
      reads += outcome.reads;
    }
    // The runs did exercise what they claim to: many scans, with segments swapped under them.
    expect(swaps).toBeGreaterThan(RUNS);
    expect(scans).toBeGreaterThan(RUNS * 5);
    expect(reads).toBeGreaterThan(scans);
  }, 120_000);
});
