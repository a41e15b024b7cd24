// Proves compaction is wired into the storage engine: LogConfig carries and validates the compaction settings, cleanup.policy=compact turns time and size retention off, the log manager's timer cleans the dirtiest compacted log (reporting through the observer), `compact` cleans one now, the manager's stable offset bounds the clean, and deleting a partition or closing the manager stops a clean in progress without leaving files behind.
import { SluiceError, asPartitionId } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { compacts, defaultLogConfig, deletes, logConfig } from "../config.js";
import { SimStorageFs } from "../fs/sim-fs.js";
import { LogManager, type Timers } from "../log-manager.js";
import type { CompactionEvent } from "../observer.js";
import { PartitionLog } from "../partition-log.js";
import { CLEANER_BACKOFF_MS_DEFAULT, DELETE_RETENTION_MS_DEFAULT, MIN_CLEANABLE_DIRTY_RATIO_DEFAULT } from "./limits.js";
import { CompactionAbortedError } from "./errors.js";
import { GatedThrottle, eventually } from "./testing/gate.js";
import { keyedBatch, readRecords, tuples } from "./testing/keyed-log.js";

const tp = (topic: string, partition = 0) => ({ topic, partition: asPartitionId(partition) });

class FakeTimers implements Timers {
  readonly callbacks: Array<{ fn: () => void; ms: number; live: boolean }> = [];
  setInterval(fn: () => void, ms: number): { cancel(): void } {
    const entry = { fn, ms, live: true };
    this.callbacks.push(entry);
    return { cancel: () => (entry.live = false) };
  }
  fire(ms: number): void {
    for (const c of this.callbacks) if (c.live && c.ms === ms) c.fn();
  }
}

const compactConfig = logConfig({ segmentBytes: 400, cleanupPolicy: "compact" });

async function fill(log: PartitionLog, count: number, keys: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(keyedBatch([{ key: `k${i % keys}`, value: `v${i}` }]), 1);
  await log.roll();
}

describe("compaction settings in LogConfig", () => {
  it("defaults to Kafka's values and refuses bad ones with INVALID_CONFIG", () => {
    expect(defaultLogConfig).toMatchObject({ cleanupPolicy: "delete", minCleanableDirtyRatio: MIN_CLEANABLE_DIRTY_RATIO_DEFAULT, minCompactionLagMs: 0, deleteRetentionMs: DELETE_RETENTION_MS_DEFAULT });
    expect(logConfig({ cleanupPolicy: "compact,delete", minCleanableDirtyRatio: 0, minCompactionLagMs: 5, deleteRetentionMs: 0 })).toMatchObject({ cleanupPolicy: "compact,delete" });
    const bad = [{ cleanupPolicy: "shred" }, { minCleanableDirtyRatio: 1.5 }, { minCleanableDirtyRatio: Number.NaN }, { minCompactionLagMs: -1 }, { deleteRetentionMs: 1.5 }];
    for (const overrides of bad) {
      expect(() => logConfig(overrides as never), JSON.stringify(overrides)).toThrow(SluiceError);
    }
    expect([compacts("delete"), compacts("compact"), compacts("compact,delete")]).toEqual([false, true, true]);
    expect([deletes("delete"), deletes("compact"), deletes("compact,delete")]).toEqual([true, false, true]);
  });

  it("cleanup.policy=compact keeps old segments that time and size retention would delete; compact,delete does not", async () => {
    const fs = new SimStorageFs();
    const clock = new ManualClock();
    for (const [policy, survives] of [
      ["compact", true],
      ["compact,delete", false],
    ] as const) {
      const config = logConfig({ segmentBytes: 400, cleanupPolicy: policy, retentionMs: 1000, retentionBytes: 100 });
      const log = await PartitionLog.open({ fs, dir: `/data/${policy === "compact" ? "c" : "cd"}-0`, config, clock });
      await fill(log, 20, 3);
      clock.advance(10_000);
      const result = await log.applyRetention();
      expect(result.deletedSegments === 0, policy).toBe(survives);
      await log.close();
    }
  });
});

describe("the log manager's cleaner", () => {
  it("its timer cleans the dirtiest compacted log, leaves delete-policy logs alone, and reports through the observer", async () => {
    const fs = new SimStorageFs();
    const timers = new FakeTimers();
    const events: CompactionEvent[] = [];
    const manager = await LogManager.open({
      fs,
      rootDir: "/data/logs",
      clock: new ManualClock(),
      timers,
      cleaner: { ioBytesPerSecond: Infinity },
      observer: { onCompaction: (e) => events.push(e) },
    });
    const plain = await manager.getOrCreate(tp("plain"), logConfig({ segmentBytes: 400 }));
    const dirty = await manager.getOrCreate(tp("dirty"), compactConfig);
    const lessDirty = await manager.getOrCreate(tp("less"), compactConfig);
    await fill(plain, 20, 2);
    await fill(dirty, 20, 2);
    await fill(lessDirty, 20, 10);
    await manager.compact(tp("less"));
    await fill(lessDirty, 4, 10);
    manager.start();
    expect(timers.callbacks.map((c) => c.ms)).toContain(CLEANER_BACKOFF_MS_DEFAULT);
    timers.fire(CLEANER_BACKOFF_MS_DEFAULT);
    await eventually(() => events.length === 2);
    expect(events[1]).toMatchObject({ dir: dirty.dir, firstDirtyOffset: 0, cleanedThroughOffset: 20 });
    expect(events[1]?.recordsRemoved).toBe(18);
    expect(events[1]?.bytesRead).toBeGreaterThan(0);
    expect(tuples(await readRecords(dirty))).toEqual([
      [18, "k0", "v18"],
      [19, "k1", "v19"],
    ]);
    // The delete-policy log was never touched; asking for it is refused.
    expect(await readRecords(plain)).toHaveLength(20);
    await expect(manager.compact(tp("plain"))).rejects.toThrow(/cleanup.policy=delete/);
    await expect(manager.compact(tp("missing"))).rejects.toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION" });
    await manager.close();
  });

  it("never cleans at or above the partition's stable offset (high watermark)", async () => {
    const fs = new SimStorageFs();
    let highWatermark: number | undefined = 6;
    const manager = await LogManager.open({ fs, rootDir: "/data/logs", clock: new ManualClock(), cleaner: { ioBytesPerSecond: Infinity }, stableOffsetFor: () => highWatermark });
    const log = await manager.getOrCreate(tp("t"), compactConfig);
    await fill(log, 12, 1);
    expect((await manager.compact(tp("t"))).cleanedThroughOffset).toBe(6);
    expect((await readRecords(log)).map((r) => r.offset)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    highWatermark = undefined;
    expect((await manager.compact(tp("t"))).cleanedThroughOffset).toBe(12);
    expect((await readRecords(log)).map((r) => r.offset)).toEqual([11]);
    await manager.close();
  });

  it("deleting a partition or closing the manager stops a clean in progress and leaves no files behind", async () => {
    const fs = new SimStorageFs();
    const gate = new GatedThrottle(Number.MAX_SAFE_INTEGER);
    const manager = await LogManager.open({ fs, rootDir: "/data/logs", clock: new ManualClock(), cleaner: { throttle: gate.throttle } });
    const doomed = await manager.getOrCreate(tp("doomed"), compactConfig);
    const kept = await manager.getOrCreate(tp("kept"), compactConfig);
    await fill(doomed, 20, 2);
    await fill(kept, 20, 2);
    const keptBefore = tuples(await readRecords(kept));

    gate.allow(doomed.sizeBytes + 200);
    const cleaning = manager.compact(tp("doomed"));
    await eventually(() => gate.waiting > 0);
    const deleting = manager.delete(tp("doomed"));
    gate.open();
    await expect(cleaning).rejects.toBeInstanceOf(CompactionAbortedError);
    await deleting;
    expect((await fs.readdir("/data/logs")).sort()).toEqual(["kept-0"]);

    const gate2 = new GatedThrottle(Number.MAX_SAFE_INTEGER);
    const manager2 = await LogManager.open({ fs, rootDir: "/data/logs2", clock: new ManualClock(), cleaner: { throttle: gate2.throttle } });
    const log2 = await manager2.getOrCreate(tp("t"), compactConfig);
    await fill(log2, 20, 2);
    const before2 = tuples(await readRecords(log2));
    gate2.allow(log2.sizeBytes + 200);
    const cleaning2 = manager2.compact(tp("t"));
    await eventually(() => gate2.waiting > 0);
    const closing = manager2.close();
    gate2.open();
    await expect(cleaning2).rejects.toBeInstanceOf(CompactionAbortedError);
    await closing;
    const reopened = await LogManager.open({ fs, rootDir: "/data/logs2", clock: new ManualClock() });
    expect(reopened.recoveredUncleanly).toBe(false);
    const log3 = reopened.get(tp("t")) as PartitionLog;
    expect(tuples(await readRecords(log3))).toEqual(before2);
    expect((await fs.readdir(log3.dir)).filter((n) => n.includes("cleaned"))).toEqual([]);
    await reopened.close();

    expect(tuples(await readRecords(kept))).toEqual(keptBefore);
    await manager.close();
  });
});
