// Proves group commit: concurrent appends under fsync `always` share fdatasyncs, and none resolves before a sync that covers its bytes (checked against the simulated disk's durable bytes).
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig } from "./config.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { GroupCommit } from "./group-commit.js";
import { PartitionLog } from "./partition-log.js";
import { buildTestBatch } from "./testing/batch-builder.js";

const DIR = "/data/t-0";
const LOG = `${DIR}/00000000000000000000.log`;

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

describe("group commit through PartitionLog", () => {
  it("N concurrent appends share fewer than N fdatasyncs, and each resolves only once its bytes are durable", async () => {
    const fs = new SimStorageFs();
    const log = await PartitionLog.open({ fs, dir: DIR, clock: new ManualClock(), config: logConfig() });
    // The first append of an epoch also writes the leader-epoch checkpoint (its own fdatasync).
    const warmUp = buildTestBatch({ records: 2, valueBytes: 100, seed: 1000 });
    await log.append(warmUp, 0);
    fs.resetCounters();
    fs.holdSyncs();
    const n = 32;
    const resolvedAt: Array<{ lastOffset: number; durableBytes: number; endByte: number }> = [];
    const appends = Array.from({ length: n }, (_, i) => {
      const input = buildTestBatch({ records: 2, valueBytes: 100, seed: i });
      return log.append(input, 0).then((result) => {
        // At resolution time, the disk must already hold this append's bytes durably.
        const durable = fs.durableContent(LOG)?.byteLength ?? 0;
        resolvedAt.push({ lastOffset: result.lastOffset, durableBytes: durable, endByte: ((result.lastOffset + 1) / 2) * input.byteLength });
        return result;
      });
    });
    await settle(200);
    // Every append is written, one sync is in flight and held: nothing may have resolved.
    expect(resolvedAt).toEqual([]);
    expect(fs.heldSyncCount).toBe(1);
    expect(log.durableEndOffset).toBe(2);
    fs.releaseSyncs();
    // Release until all are done (each round is held again by nothing: syncs now run freely).
    const results = await Promise.all(appends);
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: n }, (_, i) => 2 + i * 2));
    expect(fs.counts.datasync).toBeLessThan(n);
    expect(fs.counts.datasync).toBeLessThanOrEqual(3);
    expect(log.stats.fsyncRoundsTotal - 1).toBe(fs.counts.datasync);
    for (const r of resolvedAt) expect(r.durableBytes).toBeGreaterThanOrEqual(r.endByte);
    expect(log.durableEndOffset).toBe(2 + 2 * n);
  });

  it("appends arriving while a sync is in flight wait for the next sync", async () => {
    const fs = new SimStorageFs();
    const log = await PartitionLog.open({ fs, dir: DIR, clock: new ManualClock(), config: logConfig() });
    await log.append(buildTestBatch({ seed: 0 }), 0);
    fs.resetCounters();
    fs.holdSyncs();
    let firstDone = false;
    let secondDone = false;
    const first = log.append(buildTestBatch({ seed: 1 }), 0).then(() => (firstDone = true));
    await settle(100);
    expect(fs.heldSyncCount).toBe(1);
    const second = log.append(buildTestBatch({ seed: 2 }), 0).then(() => (secondDone = true));
    await settle(100);
    // The second append is written, but the sync in flight began before its write.
    expect(fs.heldSyncCount).toBe(1);
    // Let the first sync finish; hold the next one.
    const syncs = fs.counts.datasync;
    fs.releaseSyncs();
    fs.holdSyncs();
    await settle(100);
    expect(firstDone).toBe(true);
    expect(secondDone).toBe(false);
    expect(fs.counts.datasync).toBe(syncs + 1);
    expect(fs.heldSyncCount).toBe(1);
    fs.releaseSyncs();
    await Promise.all([first, second]);
    expect(secondDone).toBe(true);
    expect(fs.counts.datasync).toBe(2);
  });

  it("reports each sync round to the observer hook with its duration", async () => {
    const fs = new SimStorageFs();
    const rounds: Array<{ durationMs: number; files: number; writes: number }> = [];
    const log = await PartitionLog.open({ fs, dir: DIR, clock: new ManualClock(), config: logConfig(), observer: { onFsync: (e) => rounds.push(e) } });
    await log.append(buildTestBatch({ seed: 1 }), 0);
    await log.append(buildTestBatch({ seed: 2 }), 0);
    expect(rounds).toEqual([
      { dir: DIR, durationMs: 0, files: 1, writes: 1 },
      { dir: DIR, durationMs: 0, files: 1, writes: 1 },
    ]);
  });
});

describe("GroupCommit", () => {
  it("resolves a waiter only after a sync that started after its write, and shares rounds", async () => {
    // (beforeRound defaults to no wait; a round picks its target once it starts.)
    const started: number[] = [];
    let finish: (() => void) | undefined;
    const commit = new GroupCommit((target) => {
      started.push(target);
      return new Promise<void>((resolve) => (finish = resolve));
    });
    let done = 0;
    commit.noteWritten(1);
    void commit.waitDurable(1).then(() => done++);
    commit.noteWritten(2);
    void commit.waitDurable(2).then(() => done++);
    await settle();
    // One round, for both writes so far.
    expect(started).toEqual([2]);
    commit.noteWritten(3);
    void commit.waitDurable(3).then(() => done++);
    await settle();
    expect(started).toEqual([2]);
    expect(done).toBe(0);
    finish?.();
    await settle();
    // Write 3 completed after the round began: it waits for the next round.
    expect(done).toBe(2);
    expect(started).toEqual([2, 3]);
    finish?.();
    await settle();
    expect(done).toBe(3);
    expect(commit.rounds).toBe(2);
    await expect(commit.waitDurable(2)).resolves.toBeUndefined();
  });

  it("after a failed sync rejects every waiter and every later wait", async () => {
    const commit = new GroupCommit(() => Promise.reject(new Error("EIO")));
    commit.noteWritten(1);
    await expect(commit.waitDurable(1)).rejects.toThrow("EIO");
    commit.noteWritten(2);
    await expect(commit.waitDurable(2)).rejects.toThrow("EIO");
  });
});
