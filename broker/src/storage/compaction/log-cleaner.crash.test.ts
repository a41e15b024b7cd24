// Proves a clean is crash-safe: a power cut at every file-system call of a clean (simulated disk, losing unsynced data or keeping a torn prefix of it) leaves, after reopening, the log exactly as before the clean or with a leading run of its segment groups cleaned (each group old or new, never a mix, nothing lost, no leftover files), and a clean after the restart reaches the same state as the uninterrupted clean.
import { StorageError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { logConfig } from "../config.js";
import { SimStorageFs, type CrashMode } from "../fs/sim-fs.js";
import { seededRandom } from "../fs/sim-random.js";
import { PartitionLog } from "../partition-log.js";
import { LogCleaner, type CleaningResult } from "./log-cleaner.js";
import { codecs, keyedBatch, readRecords, tuples, type StoredRecord } from "./testing/keyed-log.js";

const DIR = "/data/changelog-0";
const START_MS = 1_700_000_000_000;
const config = logConfig({ segmentBytes: 450, indexIntervalBytes: 100, cleanupPolicy: "compact", deleteRetentionMs: 1_000, fsync: { kind: "never" } });

function cleanerFor(fs: SimStorageFs, clock: ManualClock): LogCleaner {
  return new LogCleaner({ fs, clock, ioBytesPerSecond: Infinity, yieldToEventLoop: () => Promise.resolve() });
}

async function appendRound(log: PartitionLog, round: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const n = round * 100 + i;
    await log.append(
      keyedBatch(
        [
          { key: `k${n % 7}`, value: n % 5 === 0 ? null : `v${n}` },
          { key: `k${(n * 3) % 11}`, value: `w${n}` },
          ...(n % 6 === 0 ? [{ key: null, value: `keyless${n}` }] : []),
        ],
        { compression: codecs[n % codecs.length], now: START_MS + n },
      ),
      1,
    );
  }
  await log.roll();
  await log.flush();
}

/**
 * The same log every time: a first clean has compacted it and stamped delete horizons, the
 * horizons have passed, and more dirty data arrived. The next clean removes records, rebuilds,
 * drops and empties batches, drops tombstones, and swaps several groups.
 */
async function build(fs: SimStorageFs, clock: ManualClock): Promise<PartitionLog> {
  const log = await PartitionLog.open({ fs, dir: DIR, config, clock });
  await appendRound(log, 0, 30);
  await cleanerFor(fs, clock).clean(log);
  clock.advance(5_000);
  await appendRound(log, 1, 25);
  return log;
}

/** The states a crash may leave: the first k swapped groups cleaned, the rest as before. */
function acceptableStates(before: readonly StoredRecord[], after: readonly StoredRecord[], result: CleaningResult): string[] {
  const starts = result.swappedGroups.map((g) => g[0] as number);
  const states: string[] = [];
  for (let k = 0; k <= starts.length; k++) {
    const cut = starts[k] ?? Infinity;
    states.push(JSON.stringify(tuples([...after.filter((r) => r.offset < cut), ...before.filter((r) => r.offset >= cut)])));
  }
  return states;
}

/** A run without a crash: the log before and after the clean, the clean's result, and how many file-system calls it made. */
async function reference(): Promise<{ before: StoredRecord[]; after: StoredRecord[]; result: CleaningResult; cleanOps: number; endOffset: number }> {
  const clock = new ManualClock(START_MS);
  const fs = new SimStorageFs();
  const log = await build(fs, clock);
  const before = await readRecords(log);
  const endOffset = log.logEndOffset;
  fs.resetCounters();
  const result = await cleanerFor(fs, clock).clean(log);
  const cleanOps = fs.crashableOps;
  const after = await readRecords(log);
  await log.close();
  return { before, after, result, cleanOps, endOffset };
}

describe("crash during a clean (simulated disk)", () => {
  it("a power cut at any file-system call leaves old or new groups, never a mix, and a later clean converges", async () => {
    const { before, after, result, cleanOps, endOffset } = await reference();
    expect(result.groupsSwapped).toBeGreaterThanOrEqual(3);
    expect(result.recordsRemoved).toBeGreaterThan(20);
    expect(result.tombstonesRemoved).toBeGreaterThan(0);
    expect(result.batchesDropped).toBeGreaterThan(0);
    expect(JSON.stringify(tuples(after))).not.toBe(JSON.stringify(tuples(before)));
    const states = acceptableStates(before, after, result);

    const seen = new Set<number>();
    for (let crashAt = 1; crashAt <= cleanOps; crashAt++) {
      for (const mode of ["drop", "prefix"] as CrashMode[]) {
        const context = `crash at call ${crashAt}/${cleanOps} (${mode})`;
        const clock = new ManualClock(START_MS);
        const fs = new SimStorageFs();
        const log = await build(fs, clock);
        fs.scheduleCrash(crashAt, mode, seededRandom(crashAt * 2 + (mode === "drop" ? 0 : 1)));
        await cleanerFor(fs, clock)
          .clean(log)
          .catch(() => undefined);
        fs.cancelScheduledCrash();
        expect(fs.scheduledCrashHappened, context).toBe(true);
        log.abandon();

        const rebooted = fs.restart();
        const reopened = await PartitionLog.open({ fs: rebooted, dir: DIR, config, clock });
        const now = await readRecords(reopened);
        const state = states.indexOf(JSON.stringify(tuples(now)));
        expect(state, `${context}: not a state a crash may leave`).toBeGreaterThanOrEqual(0);
        seen.add(state);
        expect(reopened.logEndOffset, context).toBe(endOffset);
        expect((await rebooted.readdir(DIR)).filter((n) => n.endsWith(".cleaned") || n === "swap-manifest" || n.endsWith(".tmp")), context).toEqual([]);

        await cleanerFor(rebooted, clock).clean(reopened);
        expect(tuples(await readRecords(reopened)), `${context}: clean after the restart`).toEqual(tuples(after));
        await reopened.close();
      }
    }
    // The sweep saw the log untouched, fully cleaned, and every state in between.
    expect([...seen].sort((a, b) => a - b)).toEqual(states.map((_, i) => i));
  }, 120_000);

  it("a disk error inside a swap after its commit point leaves the swap to recovery, which finishes it", async () => {
    const { before, after, result } = await reference();
    const states = acceptableStates(before, after, result);
    const clock = new ManualClock(START_MS);
    const fs = new SimStorageFs();
    const log = await build(fs, clock);
    // The first rename of a .cleaned file over its final name fails: the manifest is already written.
    fs.injectFault({ op: "rename", pathIncludes: ".log.cleaned", code: "EIO" });
    await expect(cleanerFor(fs, clock).clean(log)).rejects.toBeInstanceOf(StorageError);
    expect(log.isOpen).toBe(false);
    // The cleaner left the .cleaned files alone: recovery needs them to roll forward.
    expect((await fs.readdir(DIR)).some((n) => n.endsWith(".log.cleaned"))).toBe(true);
    log.abandon();
    const reopened = await PartitionLog.open({ fs, dir: DIR, config, clock });
    expect(reopened.recovery.problems.join(" ")).toMatch(/rolled-forward/);
    // Exactly the first group is cleaned.
    expect(JSON.stringify(tuples(await readRecords(reopened)))).toBe(states[1]);
    await reopened.close();
  });

  it("a disk error before the commit point fails the clean with a typed error, deletes its files, and leaves the log serving", async () => {
    const { before } = await reference();
    const clock = new ManualClock(START_MS);
    const fs = new SimStorageFs();
    const log = await build(fs, clock);
    fs.injectFault({ op: "datasync", pathIncludes: ".cleaned", code: "EIO" });
    await expect(cleanerFor(fs, clock).clean(log)).rejects.toBeInstanceOf(StorageError);
    expect(log.isOpen).toBe(true);
    expect((await fs.readdir(DIR)).filter((n) => n.endsWith(".cleaned"))).toEqual([]);
    expect(tuples(await readRecords(log))).toEqual(tuples(before));
    const appended = await log.append(keyedBatch([{ key: "k1", value: "after" }]), 1);
    expect(appended.baseOffset).toBe(log.logEndOffset - 1);
    await log.close();
  });
});
