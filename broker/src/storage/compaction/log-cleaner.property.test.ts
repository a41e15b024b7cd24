// Proves, with random appends of keyed records (small key spaces, tombstones, keyless records, every codec), rolls, clock moves, cleans and clean or crashing restarts on the simulated disk, that the compacted log always equals a naive model: below the cleaned point the latest record per key (tombstones until their delete horizon), everything above untouched, offsets and the log end unchanged, and every consumer start offset sees the same view. SLUICE_PROPERTY_RUNS raises the number of runs; SLUICE_PROPERTY_SEED (with the same runs) replays a failure.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { logConfig, type LogConfig } from "../config.js";
import { SimStorageFs } from "../fs/sim-fs.js";
import { PartitionLog } from "../partition-log.js";
import type { CleaningResult } from "./log-cleaner.js";
import { LogCleaner } from "./log-cleaner.js";
import { codecs, keyedBatch, readBatches, readRecords, tuples, type StoredBatch, type StoredRecord } from "./testing/keyed-log.js";

const RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 60);
const SEED = process.env.SLUICE_PROPERTY_SEED === undefined ? undefined : Number(process.env.SLUICE_PROPERTY_SEED);
const DIR = "/data/compacted-0";
const DELETE_RETENTION_MS = 100_000;

type Op =
  | { readonly kind: "append"; readonly records: ReadonlyArray<{ key: number | null; value: number }>; readonly codec: number }
  | { readonly kind: "roll" }
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "clean" }
  | { readonly kind: "restart"; readonly crash: boolean };

interface MRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: number;
  /** A kept tombstone's delete horizon, once a clean has seen it. */
  horizon: number | undefined;
}

/** The compacted view, computed naively from the history of appends and cleans. */
class Model {
  /** Every record ever appended, in offset order. */
  readonly history: MRecord[] = [];
  /** The records the log should hold, in offset order. */
  records: MRecord[] = [];
  /** The cleaner checkpoint: offsets below it have been cleaned. */
  checkpoint = 0;
  logEnd = 0;

  append(records: ReadonlyArray<{ key: string | null; value: string | null }>, timestamp: number): void {
    for (const r of records) {
      const record: MRecord = { offset: this.logEnd++, key: r.key, value: r.value, timestamp, horizon: undefined };
      this.history.push(record);
      this.records.push(record);
    }
  }

  /** A clean at `nowMs` whose map covered [checkpoint, cleanedThrough) and which rewrote everything below `bound`. */
  clean(nowMs: number, cleanedThrough: number, bound: number): void {
    const latest = new Map<string, number>();
    for (const r of this.records) if (r.key !== null && r.offset >= this.checkpoint && r.offset < cleanedThrough) latest.set(r.key, r.offset);
    this.records = this.records.filter((r) => {
      if (r.offset >= bound || r.key === null) return true;
      const newest = latest.get(r.key);
      if (newest !== undefined && newest > r.offset) return false;
      if (r.value !== null) return true;
      if (r.horizon !== undefined && nowMs >= r.horizon) return false;
      r.horizon ??= nowMs + DELETE_RETENTION_MS;
      return true;
    });
    this.checkpoint = cleanedThrough;
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      records: fc.array(
        fc.record({
          key: fc.option(fc.nat(39), { nil: null, freq: 12 }),
          value: fc.nat(999),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      codec: fc.constantFrom(...codecs.map((c) => c as number)),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "roll" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(1_000, 30_000, 50_000, 100_000, 150_000) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "clean" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), crash: fc.boolean() }) },
);

interface Setup {
  readonly keySpace: number;
  readonly tombstoneOneIn: number;
  readonly segmentBytes: number;
  readonly minCompactionLagMs: number;
  readonly dedupeBufferBytes: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  keySpace: fc.constantFrom(3, 8, 40, 40),
  tombstoneOneIn: fc.constantFrom(3, 6),
  segmentBytes: fc.constantFrom(300, 700, 2000),
  minCompactionLagMs: fc.constantFrom(0, 0, 50_000),
  // 1 KiB holds ~9 keys: with 40 keys cleans stop early and continue in later rounds.
  dedupeBufferBytes: fc.constantFrom(1024, 1024, 1 << 20),
});

function view(records: readonly MRecord[], from = 0): Array<[number, string | null, string | null]> {
  return records.filter((r) => r.offset >= from).map((r) => [r.offset, r.key, r.value]);
}

async function checkAgainstModel(log: PartitionLog, model: Model, context: string): Promise<void> {
  expect(log.logEndOffset, `${context}: log end`).toBe(model.logEnd);
  const stored = await readRecords(log);
  expect(tuples(stored), `${context}: whole log`).toEqual(view(model.records));
  // Consumers starting anywhere see the same records from there on.
  for (const from of [1, Math.floor(model.logEnd / 3), Math.floor(model.logEnd / 2), model.logEnd - 1]) {
    if (from <= 0 || from >= model.logEnd) continue;
    expect(tuples(await readRecords(log, from)), `${context}: reading from ${from}`).toEqual(view(model.records, from));
  }
}

/** Where the batches below each of `bases` end: compaction must not move a segment's end. */
function segmentEnds(batches: readonly StoredBatch[], bases: readonly number[]): number[] {
  return bases.map((b) => Math.max(-1, ...batches.filter((x) => x.baseOffset < b).map((x) => x.lastOffset)));
}

/** The compacted-log contract checked from the history alone (independent of the model's bookkeeping). */
function checkContract(stored: readonly StoredRecord[], model: Model, bound: number, context: string): void {
  const present = new Map(stored.map((r) => [r.offset, r]));
  const latestBelow = new Map<string, MRecord>();
  for (const r of model.history) if (r.key !== null && r.offset < bound) latestBelow.set(r.key, r);
  const seenKeys = new Set<string>();
  for (const r of stored) {
    if (r.offset >= bound || r.key === null) continue;
    expect(seenKeys.has(r.key), `${context}: two records of key ${r.key} below ${bound}`).toBe(false);
    seenKeys.add(r.key);
    expect(latestBelow.get(r.key)?.offset, `${context}: key ${r.key} kept an older record`).toBe(r.offset);
  }
  for (const r of model.history) {
    const kept = present.get(r.offset);
    const mustStay = r.offset >= bound || r.key === null || (latestBelow.get(r.key) === r && r.value !== null);
    if (mustStay) expect(kept && [kept.key, kept.value], `${context}: record ${r.offset} lost`).toEqual([r.key, r.value]);
  }
}

describe("log cleaner against a model", () => {
  it("keeps the compacted view across random appends, rolls, time, cleans and restarts", async () => {
    await fc.assert(
      fc.asyncProperty(setupArb, fc.array(opArb, { minLength: 10, maxLength: 45 }), async (setup, ops) => {
        let fs = new SimStorageFs();
        const clock = new ManualClock();
        const config: LogConfig = logConfig({
          segmentBytes: setup.segmentBytes,
          indexIntervalBytes: 128,
          cleanupPolicy: "compact",
          minCompactionLagMs: setup.minCompactionLagMs,
          deleteRetentionMs: DELETE_RETENTION_MS,
        });
        const open = (): Promise<PartitionLog> => PartitionLog.open({ fs, dir: DIR, config, clock });
        // A crash kills the process: the next one has a new disk view and a new cleaner.
        const newCleaner = (): LogCleaner => new LogCleaner({ fs, clock, ioBytesPerSecond: Infinity, dedupeBufferBytes: setup.dedupeBufferBytes, yieldToEventLoop: () => Promise.resolve() });
        let cleaner = newCleaner();
        const model = new Model();
        let log = await open();
        let bound = 0;
        let step = 0;
        for (const op of ops) {
          const context = `op ${step++} ${op.kind}`;
          if (op.kind === "append") {
            const records = op.records.map((r) => ({
              key: r.key === null ? null : `k${r.key % setup.keySpace}`,
              value: r.key !== null && r.value % setup.tombstoneOneIn === 0 ? null : `v${r.value}`,
            }));
            const result = await log.append(keyedBatch(records.map((r) => ({ ...r, timestamp: clock.nowMs() })), { compression: op.codec as (typeof codecs)[number] }), 1);
            expect(result.baseOffset).toBe(model.logEnd);
            model.append(records, clock.nowMs());
          } else if (op.kind === "roll") {
            await log.roll();
          } else if (op.kind === "advance") {
            clock.advance(op.ms);
          } else if (op.kind === "restart") {
            if (op.crash) {
              log.abandon();
              fs = fs.crash();
              cleaner = newCleaner();
            } else {
              await log.close();
            }
            log = await open();
            await checkAgainstModel(log, model, context);
          } else {
            const infos = await log.segmentInfos();
            const endBefore = log.logEndOffset;
            const batchesBefore = await readBatches(log);
            const result: CleaningResult = await cleaner.clean(log);
            const now = clock.nowMs();
            // The clean continued exactly where the last one (before any restart) stopped.
            expect(result.firstDirtyOffset, `${context}: first dirty`).toBe(model.checkpoint);
            const active = infos[infos.length - 1] as (typeof infos)[number];
            expect(result.firstUncleanableOffset, `${context}: never the active segment`).toBeLessThanOrEqual(active.baseOffset);
            // Nothing younger than the compaction lag was decided on...
            for (const r of model.history) {
              if (r.offset >= model.checkpoint && r.offset < result.firstUncleanableOffset) expect(r.timestamp, `${context}: record ${r.offset} too young`).toBeLessThanOrEqual(now - setup.minCompactionLagMs);
            }
            // ...and the cleanable section ends only where the lag or the active segment says so.
            if (result.firstUncleanableOffset < active.baseOffset) {
              const stopper = infos.find((s) => s.baseOffset === result.firstUncleanableOffset);
              expect(stopper && stopper.largestTimestampMs > now - setup.minCompactionLagMs, `${context}: stopped early`).toBe(true);
            }
            if (result.mapFull) expect(result.cleanedThroughOffset, `${context}: a full map still progresses`).toBeGreaterThan(model.checkpoint);
            else expect(result.cleanedThroughOffset).toBe(Math.max(model.checkpoint, result.firstUncleanableOffset));
            bound = Math.min(result.cleanedThroughOffset, result.firstUncleanableOffset);
            model.clean(now, result.cleanedThroughOffset, bound);
            expect(log.logEndOffset, `${context}: log end unchanged`).toBe(endBefore);
            // Every segment still ends where its sources did (a group's emptied last batch stays as a header).
            const basesAfter = (await log.segmentInfos()).map((s) => s.baseOffset);
            expect(segmentEnds(await readBatches(log), basesAfter), `${context}: segment ends`).toEqual(segmentEnds(batchesBefore, basesAfter));
            await checkAgainstModel(log, model, context);
            checkContract(await readRecords(log), model, bound, context);
          }
        }
        await checkAgainstModel(log, model, "end");
        await log.close();
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  }, 120_000);
});
