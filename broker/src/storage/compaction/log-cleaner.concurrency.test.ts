// Proves the cleaner never starves appends: while a clean is held mid-way (simulated disk) or runs under a real byte budget (real disk), appends keep landing with their offsets, the clean then swaps in only what it cleaned, and the appended records are all there afterwards; the throttle accounts for every byte the clean reads and writes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../clock.js";
import { logConfig } from "../config.js";
import { NodeStorageFs } from "../fs/node-fs.js";
import { SimStorageFs } from "../fs/sim-fs.js";
import { IoThrottle, realSleep } from "../io-throttle.js";
import { PartitionLog } from "../partition-log.js";
import { LogCleaner } from "./log-cleaner.js";
import { GatedThrottle, eventually } from "./testing/gate.js";
import { keyedBatch, readRecords, tuples, type StoredRecord } from "./testing/keyed-log.js";

/** The compacted view below `bound` (latest record per key), everything from `bound` on as appended. */
function expected(appended: ReadonlyArray<{ offset: number; key: string; value: string }>, bound: number): Array<[number, string, string]> {
  const latest = new Map<string, number>();
  for (const r of appended) if (r.offset < bound) latest.set(r.key, r.offset);
  return appended.filter((r) => r.offset >= bound || latest.get(r.key) === r.offset).map((r) => [r.offset, r.key, r.value]);
}

describe("appends during a clean", () => {
  it("appends land, in order, while a clean is held between two batches; the clean then finishes its own section only", async () => {
    const fs = new SimStorageFs();
    const clock = new ManualClock();
    const config = logConfig({ segmentBytes: 500, indexIntervalBytes: 100, cleanupPolicy: "compact" });
    const log = await PartitionLog.open({ fs, dir: "/data/t-0", config, clock });
    const gate = new GatedThrottle(Number.MAX_SAFE_INTEGER);
    const cleaner = new LogCleaner({ fs, clock, throttle: gate.throttle, yieldToEventLoop: () => Promise.resolve() });
    const appended: Array<{ offset: number; key: string; value: string }> = [];
    const add = async (key: string, value: string): Promise<void> => {
      const { baseOffset } = await log.append(keyedBatch([{ key, value }]), 1);
      appended.push({ offset: baseOffset, key, value });
    };
    for (let i = 0; i < 40; i++) await add(`k${i % 4}`, `before-${i}`);
    await log.roll();
    // Hold the clean in pass 2, after it started writing its .cleaned files.
    gate.allow(log.sizeBytes + 400);
    let cleanDone = false;
    const cleaning = cleaner.clean(log).finally(() => {
      cleanDone = true;
    });
    await eventually(() => gate.waiting > 0);
    expect((await fs.readdir(log.dir)).some((n) => n.endsWith(".cleaned"))).toBe(true);

    // 60 appends, some concurrent, all acknowledged while the clean waits; rolls happen too.
    for (let round = 0; round < 6; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => add(`k${i % 4}`, `during-${round}-${i}`)));
    }
    expect(cleanDone).toBe(false);
    expect(appended.map((a) => a.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(log.segmentCount).toBeGreaterThan(8);

    gate.open();
    const result = await cleaning;
    expect(result.cleanedThroughOffset).toBe(40);
    expect(result.recordsRemoved).toBe(36);
    expect(log.logEndOffset).toBe(100);
    expect(tuples(await readRecords(log))).toEqual(expected(appended, 40));
    // The next clean compacts what arrived during the first.
    await log.roll();
    await cleaner.clean(log);
    expect(tuples(await readRecords(log))).toEqual(expected(appended, 100));
    await log.close();
  });

  it("every byte a clean reads or writes goes through the throttle", async () => {
    const fs = new SimStorageFs();
    const clock = new ManualClock();
    const config = logConfig({ segmentBytes: 500, indexIntervalBytes: 100, cleanupPolicy: "compact" });
    const log = await PartitionLog.open({ fs, dir: "/data/t-0", config, clock });
    for (let i = 0; i < 40; i++) await log.append(keyedBatch([{ key: `k${i % 4}`, value: `v${i}` }]), 1);
    await log.roll();
    const throttleClock = new ManualClock(0);
    const throttle = new IoThrottle({ bytesPerSecond: 2000, burstBytes: 100, clock: throttleClock, sleep: async (ms) => throttleClock.advance(ms) });
    const cleaner = new LogCleaner({ fs, clock, throttle });
    const result = await cleaner.clean(log);
    expect(result.bytesWritten).toBeGreaterThan(0);
    expect(throttle.grantedBytes).toBe(result.bytesRead + result.bytesWritten);
    // At 2000 bytes/s the clean took at least its bytes' worth of (simulated) time, less the burst and
    // the last grant (a throttle lets one request go into debt): reads alone bound it from below.
    expect(throttleClock.nowMs()).toBeGreaterThanOrEqual(((result.bytesRead - 100) / 2000) * 1000);
    await log.close();
  });
});

describe("appends during a throttled clean on a real disk", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "sluice-compaction-"));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("a producer keeps appending (fsync always) while a clean runs at 4 MB/s; nothing it wrote is lost or moved", async () => {
    const fs = new NodeStorageFs();
    const config = logConfig({ segmentBytes: 64 * 1024, cleanupPolicy: "compact" });
    const log = await PartitionLog.open({ fs, dir: join(root, "t-0"), config, clock: systemClock });
    const appended: Array<{ offset: number; key: string; value: string }> = [];
    const add = async (key: string, value: string): Promise<void> => {
      const { baseOffset } = await log.append(keyedBatch([{ key, value }]), 1);
      appended.push({ offset: baseOffset, key, value });
    };
    const payload = "p".repeat(1000);
    for (let i = 0; i < 1200; i++) await add(`k${i % 50}`, `${i}-${payload}`);
    await log.roll();
    const cleanable = log.logEndOffset;
    const cleaner = new LogCleaner({ fs, ioBytesPerSecond: 4_000_000, sleep: realSleep });

    let cleanDone = false;
    const cleaning = cleaner.clean(log).finally(() => {
      cleanDone = true;
    });
    let duringClean = 0;
    let n = 0;
    while (!cleanDone) {
      await add(`k${n % 50}`, `live-${n}`);
      n++;
      if (!cleanDone) duringClean++;
    }
    const result = await cleaning;
    expect(duringClean).toBeGreaterThanOrEqual(3);
    expect(result.recordsRemoved).toBe(1200 - 50);
    expect(appended.map((a) => a.offset)).toEqual(appended.map((_, i) => i));
    const stored: StoredRecord[] = await readRecords(log);
    expect(tuples(stored)).toEqual(expected(appended, cleanable));
    await log.close();
  }, 30_000);
});
