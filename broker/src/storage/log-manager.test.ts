// Proves the log manager keeps every partition's files within one bounded pool of handles, creates, reopens and deletes partition logs (crash-safely), and drives retention and interval flushes from its timers.
import { SluiceError, asPartitionId } from "@sluice/protocol";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig } from "./config.js";
import { NodeStorageFs } from "./fs/node-fs.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { LogManager, parsePartitionDirName, partitionDirName, type Timers } from "./log-manager.js";
import { buildTestBatch } from "./testing/batch-builder.js";

const tp = (topic: string, partition: number) => ({ topic, partition: asPartitionId(partition) });

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

async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}

describe("LogManager", () => {
  it("serves many partitions through a bounded number of open files", async () => {
    const fs = new SimStorageFs();
    const manager = await LogManager.open({ fs, rootDir: "/data/logs", maxOpenFiles: 8, clock: new ManualClock(), defaultConfig: logConfig({ segmentBytes: 400 }) });
    const partitions = Array.from({ length: 12 }, (_, i) => tp(`topic.${i % 3}`, i));
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        partitions.map(async (p, i) => {
          const log = await manager.getOrCreate(p);
          await log.append(buildTestBatch({ records: 2, valueBytes: 60, seed: round * 100 + i }), 1);
        }),
      );
    }
    for (const p of partitions) {
      const log = manager.get(p);
      expect(log?.logEndOffset).toBe(12);
      expect((await log?.read(0, 100_000))?.records.byteLength).toBeGreaterThan(0);
    }
    expect(fs.maxOpenHandles).toBeLessThanOrEqual(8);
    expect(manager.stats()).toMatchObject({ logs: 12 });
    expect(manager.stats().segments).toBeGreaterThan(12);
    expect(manager.pool.evictions).toBeGreaterThan(0);
    await manager.close();
    expect(fs.openHandleCount).toBe(0);

    const reopened = await LogManager.open({ fs, rootDir: "/data/logs", maxOpenFiles: 8, clock: new ManualClock() });
    expect(reopened.recoveredUncleanly).toBe(false);
    expect(reopened.list().map(partitionDirName).sort()).toEqual(partitions.map(partitionDirName).sort());
    expect(reopened.get(tp("topic.1", 4))?.logEndOffset).toBe(12);
    await reopened.close();
  });

  it("shares one open between concurrent getOrCreate calls and validates names", async () => {
    const fs = new SimStorageFs();
    const manager = await LogManager.open({ fs, rootDir: "/logs", clock: new ManualClock() });
    const [a, b] = await Promise.all([manager.getOrCreate(tp("t", 0)), manager.getOrCreate(tp("t", 0))]);
    expect(a).toBe(b);
    await expect(manager.getOrCreate(tp("bad/name", 0))).rejects.toBeInstanceOf(SluiceError);
    await expect(manager.getOrCreate(tp("x".repeat(250), 0))).rejects.toBeInstanceOf(SluiceError);
    await expect(manager.getOrCreate(tp("t", -1))).rejects.toBeInstanceOf(SluiceError);
    expect(parsePartitionDirName("my-topic-12")).toEqual(tp("my-topic", 12));
    expect(parsePartitionDirName("my-topic-x")).toBeUndefined();
    expect(parsePartitionDirName("t-0.123-delete")).toBeUndefined();
    await manager.close();
  });

  it("deletes a partition's directory, and finishes a deletion a crash interrupted", async () => {
    const fs = new SimStorageFs();
    let manager = await LogManager.open({ fs, rootDir: "/logs", clock: new ManualClock() });
    for (const p of [tp("a", 0), tp("b", 0)]) await (await manager.getOrCreate(p)).append(buildTestBatch(), 1);
    await manager.delete(tp("a", 0));
    expect(await fs.readdir("/logs")).toEqual(["b-0"]);
    expect(manager.get(tp("a", 0))).toBeUndefined();
    await manager.close();

    manager = await LogManager.open({ fs, rootDir: "/logs", clock: new ManualClock() });
    await (await manager.getOrCreate(tp("c", 0))).append(buildTestBatch(), 1);
    // The rename to *-delete is durable; then removing the files fails and the power goes.
    fs.injectFault({ op: "unlink", pathIncludes: "-delete/", code: "EIO" });
    await expect(manager.delete(tp("c", 0))).rejects.toMatchObject({ code: "EIO" });
    const rebooted = fs.crash();
    expect((await rebooted.readdir("/logs")).some((n) => n.endsWith("-delete"))).toBe(true);
    manager = await LogManager.open({ fs: rebooted, rootDir: "/logs", clock: new ManualClock() });
    expect(await rebooted.readdir("/logs")).toEqual(["b-0"]);
    expect(manager.list()).toEqual([tp("b", 0)]);
    await manager.close();
  });

  it("runs retention and interval flushes from its timers", async () => {
    const fs = new SimStorageFs();
    const clock = new ManualClock(1_700_000_000_000);
    const timers = new FakeTimers();
    const manager = await LogManager.open({
      fs,
      rootDir: "/logs",
      clock,
      timers,
      retentionCheckIntervalMs: 1000,
      flushCheckIntervalMs: 50,
      defaultConfig: logConfig({ segmentBytes: 300, retentionMs: 60_000, fsync: { kind: "interval", intervalMs: 200 } }),
    });
    manager.start();
    const log = await manager.getOrCreate(tp("t", 0));
    for (let i = 0; i < 10; i++) await log.append(buildTestBatch({ seed: i, baseTimestampMs: clock.nowMs() }), 1);
    expect(log.durableEndOffset).toBe(0);
    clock.advance(200);
    timers.fire(50);
    await settle();
    expect(log.durableEndOffset).toBe(10);
    const segments = log.segmentCount;
    clock.advance(61_000);
    timers.fire(1000);
    await settle();
    expect(log.segmentCount).toBe(1);
    expect(segments).toBeGreaterThan(1);
    expect(log.logStartOffset).toBeGreaterThan(0);
    manager.stop();
    expect(timers.callbacks.every((c) => !c.live)).toBe(true);
    await manager.close();
  });

  it("works on the real file system and leaves clean-shutdown markers", async () => {
    const root = mkdtempSync(join(tmpdir(), "sluice-manager-"));
    try {
      const fs = new NodeStorageFs();
      const manager = await LogManager.open({ fs, rootDir: join(root, "logs"), maxOpenFiles: 4, defaultConfig: logConfig({ segmentBytes: 300 }) });
      for (let i = 0; i < 6; i++) {
        const log = await manager.getOrCreate(tp("real", i));
        for (let j = 0; j < 5; j++) await log.append(buildTestBatch({ seed: j }), 1);
      }
      await manager.close();
      expect(readdirSync(join(root, "logs", "real-3"))).toContain("clean-shutdown");
      const again = await LogManager.open({ fs, rootDir: join(root, "logs") });
      expect(again.list()).toHaveLength(6);
      expect(again.get(tp("real", 5))?.logEndOffset).toBe(5);
      await again.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
