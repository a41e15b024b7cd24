// Proves crash safety: power cuts at every point of a workload (simulated disk), and files cut, torn or corrupted on a real disk, never make the log serve a corrupt batch, lose an acknowledged (fsynced) append, or hand out an offset twice.
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, appendFileSync, openSync, readSync, writeSync, closeSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorruptRecordError, validateBatch } from "@sluice/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig, type LogConfig } from "./config.js";
import { NodeStorageFs } from "./fs/node-fs.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { seededRandom, type SimRandom } from "./fs/sim-random.js";
import type { StorageFs } from "./fs/storage-fs.js";
import { PartitionLog } from "./partition-log.js";
import { batchesIn, buildTestBatch } from "./testing/batch-builder.js";

const CRASH_SEEDS = Number(process.env.SLUICE_CRASH_SEEDS ?? 4);

/** Reads the whole visible log, checking every batch's CRC again and that offsets only grow. */
async function readWholeLog(log: PartitionLog): Promise<Map<number, Buffer>> {
  const byBase = new Map<number, Buffer>();
  let offset = log.logStartOffset as number;
  let previousLast = -1;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, 4096);
    expect(result.records.byteLength).toBeGreaterThan(0);
    let at = 0;
    for (const b of batchesIn(result.records)) {
      validateBatch(result.records, at, 1 << 30);
      expect(b.baseOffset).toBeGreaterThan(previousLast);
      previousLast = b.lastOffset;
      byBase.set(b.baseOffset, Buffer.from(result.records.subarray(at, at + b.sizeBytes)));
      at += b.sizeBytes;
    }
    offset = result.nextOffset;
  }
  return byBase;
}

describe("power cuts at every file-system call (simulated disk)", () => {
  interface Acked {
    readonly baseOffset: number;
    readonly lastOffset: number;
    readonly bytes: Buffer;
  }

  /** A workload with concurrent appends, rolls, retention and a clean close. Returns what was acknowledged. */
  async function workload(log: PartitionLog, random: SimRandom, acked: Acked[]): Promise<void> {
    for (let round = 0; round < 8; round++) {
      const inputs = Array.from({ length: 1 + random.nextInt(4) }, () =>
        buildTestBatch({ records: 1 + random.nextInt(3), valueBytes: random.nextInt(120), seed: random.nextInt(1 << 30) }),
      );
      await Promise.all(
        inputs.map(async (input) => {
          const result = await log.append(input, 1 + (round >> 2));
          acked.push({ baseOffset: result.baseOffset, lastOffset: result.lastOffset, bytes: Buffer.from(input) });
        }),
      );
      if (round === 3) await log.roll();
      if (round === 5) await log.applyRetention();
    }
    await log.close();
  }

  const always: LogConfig = logConfig({ segmentBytes: 700, indexIntervalBytes: 100, retentionBytes: 1500, retentionMs: -1 });
  const never: LogConfig = logConfig({ ...always, fsync: { kind: "never" } });

  it.each([
    ["always", always],
    ["never", never],
  ] as const)("fsync %s: a power cut at any call never yields a corrupt batch or a reused offset (and under always loses nothing acknowledged)", async (policy, config) => {
    let crashPointsTried = 0;
    for (let seed = 1; seed <= CRASH_SEEDS; seed++) {
      // First a run without a crash, to count the file-system calls the workload makes.
      const probe = new SimStorageFs();
      probe.resetCounters();
      await workload(await PartitionLog.open({ fs: probe, dir: "/d/t-0", config, clock: new ManualClock() }), seededRandom(seed), []);
      const totalOps = probe.crashableOps;
      for (let crashAt = 1; crashAt <= totalOps; crashAt += 1 + (seed % 3)) {
        crashPointsTried++;
        const fs = new SimStorageFs();
        const acked: Acked[] = [];
        fs.scheduleCrash(crashAt, seed % 2 === 0 ? "drop" : "prefix", seededRandom(seed * 1000 + crashAt));
        try {
          await workload(await PartitionLog.open({ fs, dir: "/d/t-0", config, clock: new ManualClock() }), seededRandom(seed), acked);
        } catch {
          // The power cut surfaces as a StorageError somewhere in the workload.
        }
        expect(fs.scheduledCrashHappened, `crash at op ${crashAt}/${totalOps}`).toBe(true);
        // The old process is dead; a new one opens the log through a fresh view of the disk.
        const log = await PartitionLog.open({ fs: fs.restart(), dir: "/d/t-0", config, clock: new ManualClock() });
        const context = `seed ${seed}, crash at op ${crashAt}/${totalOps}`;
        // Every batch served passes its CRC, offsets only grow.
        const stored = await readWholeLog(log);
        const next = await log.append(buildTestBatch({ seed: 7 }), 9);
        expect(next.baseOffset, context).toBe(Math.max(-1, ...[...stored.values()].map((b) => batchesIn(b)[0]!.lastOffset)) + 1);
        if (policy === "always") {
          for (const append of acked) {
            // Retention may have removed it (only acknowledged retention runs before an acked append).
            if (append.lastOffset < log.logStartOffset) continue;
            expect(stored.get(append.baseOffset)?.equals(append.bytes), context).toBe(true);
          }
          // The next offset handed out is past everything acknowledged.
          expect(next.baseOffset, context).toBeGreaterThan(Math.max(-1, ...acked.map((a) => a.lastOffset)));
        }
        await log.close();
      }
    }
    expect(crashPointsTried).toBeGreaterThan(100);
  });
});

describe("damaged files on a real disk", () => {
  let root: string;
  const config = logConfig({ segmentBytes: 4000, indexIntervalBytes: 300 });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "sluice-crash-"));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  async function filledLog(fs: StorageFs, dir: string, batches: number): Promise<{ log: PartitionLog; inputs: Buffer[] }> {
    const log = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    const inputs: Buffer[] = [];
    for (let i = 0; i < batches; i++) {
      const input = buildTestBatch({ records: 1 + (i % 3), valueBytes: 40 + ((i * 37) % 200), seed: i });
      await log.append(input, 1);
      inputs.push(input);
    }
    return { log, inputs };
  }

  function segmentFiles(dir: string): string[] {
    return readdirSync(dir).filter((n) => n.endsWith(".log")).sort();
  }

  it("recovers everything fsynced after the process dies without closing", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const { log, inputs } = await filledLog(fs, dir, 60);
    const end = log.logEndOffset;
    log.abandon();
    const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    expect(reopened.recovery.clean).toBe(false);
    expect(reopened.logEndOffset).toBe(end);
    const stored = await readWholeLog(reopened);
    expect([...stored.values()].map((b) => b.byteLength)).toEqual(inputs.map((b) => b.byteLength));
    await reopened.close();
  });

  it("a file cut at any point is recovered to its last whole batch, and that offset is the next one handed out", async () => {
    for (let seed = 0; seed < 8; seed++) {
      const dir = join(root, `cut-${seed}`);
      const fs = new NodeStorageFs();
      const { log, inputs } = await filledLog(fs, dir, 30);
      log.abandon();
      const active = join(dir, segmentFiles(dir).at(-1) as string);
      const size = statSync(active).size;
      const cutAt = Math.floor(seededRandom(seed).nextInt(size));
      truncateSync(active, cutAt);
      const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
      // The cut segment keeps exactly its whole batches before the cut.
      expect(statSync(active).size).toBeLessThanOrEqual(cutAt);
      const stored = await readWholeLog(reopened);
      const storedBytes = [...stored.values()].reduce((n, b) => n + b.byteLength, 0);
      const firstInActive = Number(segmentFiles(dir).at(-1)?.slice(0, 20));
      const expectedWhole = inputs.filter((b) => batchesIn(b)[0]!.baseOffset < firstInActive).reduce((n, b) => n + b.byteLength, 0) + statSync(active).size;
      expect(storedBytes).toBe(expectedWhole);
      const next = await reopened.append(buildTestBatch({ seed: 99 }), 1);
      expect(next.baseOffset).toBe(Math.max(...[...stored.keys()].map((k) => batchesIn(stored.get(k)!)[0]!.lastOffset)) + 1);
      await reopened.close();
    }
  });

  it("a corrupt byte past the recovery point truncates the log at that batch; earlier batches stay", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const { log } = await filledLog(fs, dir, 12);
    log.abandon();
    const active = join(dir, segmentFiles(dir).at(-1) as string);
    const size = statSync(active).size;
    const position = Math.floor(size * 0.6);
    const fd = openSync(active, "r+");
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, position);
    one[0] = (one[0] ?? 0) ^ 0x5a;
    writeSync(fd, one, 0, 1, position);
    closeSync(fd);
    const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    expect(reopened.recovery.problems.join(" ")).toMatch(/cut at byte/);
    expect(statSync(active).size).toBeLessThanOrEqual(position);
    await readWholeLog(reopened);
    await reopened.close();
  });

  it("garbage or zeros appended after the last batch are cut off on recovery", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const { log } = await filledLog(fs, dir, 10);
    const end = log.logEndOffset;
    log.abandon();
    const active = join(dir, segmentFiles(dir).at(-1) as string);
    const size = statSync(active).size;
    appendFileSync(active, Buffer.alloc(5000));
    let reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    expect(reopened.logEndOffset).toBe(end);
    expect(statSync(active).size).toBe(size);
    await reopened.close();
    // After a clean close too: the tail is checked, not trusted.
    appendFileSync(active, Buffer.from("this is not a record batch, it is a sentence that goes on"));
    reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    expect(reopened.logEndOffset).toBe(end);
    expect(statSync(active).size).toBe(size);
    await readWholeLog(reopened);
    await reopened.close();
  });

  it("a corrupt byte in an old, checkpointed segment is reported on read, never served, and the rest still reads", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const { log } = await filledLog(fs, dir, 80);
    await log.close();
    const first = join(dir, segmentFiles(dir)[0] as string);
    const fd = openSync(first, "r+");
    writeSync(fd, Buffer.from([0xee]), 0, 1, 200);
    closeSync(fd);
    const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    let corrupt = 0;
    let offset = reopened.logStartOffset as number;
    let served = 0;
    while (offset < reopened.logEndOffset) {
      try {
        const result = await reopened.read(offset, 1);
        let at = 0;
        for (const b of batchesIn(result.records)) {
          validateBatch(result.records, at, 1 << 30);
          at += b.sizeBytes;
        }
        served++;
        offset = result.nextOffset;
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptRecordError);
        corrupt++;
        offset++;
      }
    }
    expect(corrupt).toBeGreaterThan(0);
    expect(served).toBeGreaterThan(60);
    expect(reopened.stats.corruptBatchesTotal).toBe(corrupt);
    await reopened.close();
  });

  it("missing or damaged index files are rebuilt from the log", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const { log } = await filledLog(fs, dir, 80);
    const before = await readWholeLog(log);
    await log.close();
    const names = readdirSync(dir);
    const indexes = names.filter((n) => n.endsWith(".index")).sort();
    unlinkSync(join(dir, indexes[0] as string));
    writeFileSync(join(dir, indexes[1] as string), Buffer.from([0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0]));
    writeFileSync(join(dir, names.filter((n) => n.endsWith(".timeindex")).sort()[2] as string), Buffer.alloc(7));
    const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    const after = await readWholeLog(reopened);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [base, bytes] of before) expect(after.get(base)?.equals(bytes)).toBe(true);
    expect(await reopened.offsetForTimestamp(0)).toEqual({ offset: 0, timestampMs: 1_700_000_000_000 });
    await reopened.close();
  });

  it("a lost .index is rebuilt with the segment's true largest timestamp, which survives the next restart", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const log = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    // The largest timestamp comes from the second batch, too close to the first for a spaced entry.
    await log.append(buildTestBatch({ records: 1, valueBytes: 10, baseTimestampMs: 1000, seed: 1 }), 1);
    await log.append(buildTestBatch({ records: 1, valueBytes: 10, baseTimestampMs: 5000, seed: 2 }), 1);
    await log.roll();
    await log.append(buildTestBatch({ records: 1, valueBytes: 10, baseTimestampMs: 9000, seed: 3 }), 1);
    await log.close();
    unlinkSync(join(dir, "00000000000000000000.index"));
    for (let restart = 0; restart < 2; restart++) {
      const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
      expect(await reopened.offsetForTimestamp(4000)).toEqual({ offset: 1, timestampMs: 5000 });
      expect((await reopened.segmentInfos())[0]?.largestTimestampMs).toBe(5000);
      await reopened.close();
    }
  });

  it("with no recovery checkpoint, an unclean open rescans every segment", async () => {
    const dir = join(root, "t-0");
    const fs = new NodeStorageFs();
    const { log } = await filledLog(fs, dir, 80);
    const size = log.sizeBytes;
    log.abandon();
    rmSync(join(dir, "recovery-point-checkpoint"));
    const reopened = await PartitionLog.open({ fs, dir, config, clock: new ManualClock() });
    expect(reopened.recovery.segmentsScanned).toBe(reopened.segmentCount);
    expect(reopened.recovery.bytesScanned).toBe(size);
    expect(reopened.recovery.bytesTruncated).toBe(0);
    await reopened.close();
  });
});
