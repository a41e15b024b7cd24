// Proves the compaction primitives: a cleaned segment replaces a group of old ones atomically (a crash at any call of the swap leaves either all-old or all-new data), reads handle the offset gaps it leaves, and changed sources or bad batches refuse the swap.
import { CorruptRecordError, SluiceError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig } from "./config.js";
import { SegmentSwapConflictError } from "./errors.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { seededRandom } from "./fs/sim-random.js";
import { IoThrottle } from "./io-throttle.js";
import { PartitionLog } from "./partition-log.js";
import { batchesIn, buildTestBatch, stampedCopy } from "./testing/batch-builder.js";

const DIR = "/data/t-0";
const config = logConfig({ segmentBytes: 500, indexIntervalBytes: 100 });

async function filled(fs = new SimStorageFs()): Promise<{ fs: SimStorageFs; log: PartitionLog }> {
  const log = await PartitionLog.open({ fs, dir: DIR, config, clock: new ManualClock() });
  for (let i = 0; i < 24; i++) await log.append(buildTestBatch({ records: 1 + (i % 2), valueBytes: 50, seed: i }), 1);
  return { fs, log };
}

async function visible(log: PartitionLog): Promise<number[]> {
  const bases: number[] = [];
  let offset = log.logStartOffset as number;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 10_000);
    if (r.records.byteLength === 0) break;
    bases.push(...batchesIn(r.records).map((b) => b.baseOffset));
    offset = r.nextOffset;
  }
  return bases;
}

/** Cleans the first two segments keeping every other batch; returns the bases kept. */
async function cleanFirstTwo(log: PartitionLog): Promise<{ kept: number[]; sources: number[]; swap: () => Promise<void> }> {
  const infos = await log.segmentInfos();
  const sources = [infos[0]?.baseOffset as number, infos[1]?.baseOffset as number];
  const writer = await log.createCleanedSegment(sources);
  const kept: number[] = [];
  let n = 0;
  for (const base of sources) {
    for await (const { batch, bytes } of log.readSegmentBatches(base)) {
      if (n++ % 2 === 0) {
        kept.push(batch.baseOffset);
        await writer.append(bytes);
      }
    }
  }
  await writer.finish();
  return { kept, sources, swap: () => log.replaceSegments(writer) };
}

describe("segment swap", () => {
  it("replaces a group of segments with a cleaned one; reads skip the gaps; reopening keeps it", async () => {
    const { fs, log } = await filled();
    const before = await visible(log);
    const segmentsBefore = log.segmentCount;
    const { kept, sources, swap } = await cleanFirstTwo(log);
    const thirdBase = (await log.segmentInfos())[2]?.baseOffset as number;
    await swap();
    expect(log.segmentCount).toBe(segmentsBefore - 1);
    const expected = [...kept, ...before.filter((b) => b >= thirdBase)];
    expect(await visible(log)).toEqual(expected);
    // Reading an offset in a gap returns the next batch kept.
    const gap = before.find((b) => b < thirdBase && !kept.includes(b)) as number;
    expect((await log.read(gap, 1)).firstOffset).toBeGreaterThan(gap);
    expect((await fs.readdir(DIR)).filter((n) => n.includes("cleaned") || n.includes("manifest"))).toEqual([]);
    expect((await log.segmentInfos())[0]?.baseOffset).toBe(sources[0]);
    await log.close();
    const reopened = await PartitionLog.open({ fs, dir: DIR, config, clock: new ManualClock() });
    expect(await visible(reopened)).toEqual(expected);
    const afterCrash = await PartitionLog.open({ fs: fs.crash(), dir: DIR, config, clock: new ManualClock() });
    expect(await visible(afterCrash)).toEqual(expected);
  });

  it("a crash at any call of the swap leaves all-old or all-new data, and no leftovers after reopening", async () => {
    // Count the swap's file-system calls once.
    const probe = await filled();
    const cleaned = await cleanFirstTwo(probe.log);
    probe.fs.resetCounters();
    await cleaned.swap();
    const swapOps = probe.fs.crashableOps;
    expect(swapOps).toBeGreaterThan(5);
    const outcomes = new Set<string>();
    for (let crashAt = 1; crashAt <= swapOps; crashAt++) {
      for (const mode of ["drop", "prefix"] as const) {
        const { fs, log } = await filled();
        const before = await visible(log);
        const { kept, swap } = await cleanFirstTwo(log);
        const thirdBase = (await log.segmentInfos())[2]?.baseOffset as number;
        const after = [...kept, ...before.filter((b) => b >= thirdBase)];
        fs.scheduleCrash(crashAt, mode, seededRandom(crashAt));
        await swap().catch(() => undefined);
        fs.cancelScheduledCrash();
        log.abandon();
        const rebooted = fs.restart();
        const reopened = await PartitionLog.open({ fs: rebooted, dir: DIR, config, clock: new ManualClock() });
        const now = await visible(reopened);
        const which = JSON.stringify(now) === JSON.stringify(before) ? "old" : JSON.stringify(now) === JSON.stringify(after) ? "new" : "mixed";
        expect(which, `crash at ${crashAt} (${mode})`).not.toBe("mixed");
        outcomes.add(which);
        expect((await rebooted.readdir(DIR)).filter((n) => n.includes("cleaned") || n.includes("manifest") || n.endsWith(".tmp"))).toEqual([]);
        await reopened.close();
      }
    }
    expect(outcomes).toEqual(new Set(["old", "new"]));
  });

  it("refuses a swap whose sources changed, an unfinished writer, or a replacement overlapping the next segment", async () => {
    const { log } = await filled();
    const infos = await log.segmentInfos();
    const [a, b, c] = [infos[0]?.baseOffset as number, infos[1]?.baseOffset as number, infos[2]?.baseOffset as number];
    await expect(log.createCleanedSegment([a, c])).rejects.toBeInstanceOf(SegmentSwapConflictError);
    await expect(log.createCleanedSegment([infos.at(-1)?.baseOffset as number])).rejects.toBeInstanceOf(SegmentSwapConflictError);

    const unfinished = await log.createCleanedSegment([a]);
    await expect(log.replaceSegments(unfinished)).rejects.toBeInstanceOf(SegmentSwapConflictError);
    await unfinished.abort();

    const overlapping = await log.createCleanedSegment([a]);
    for await (const { bytes } of log.readSegmentBatches(b)) await overlapping.append(bytes);
    await overlapping.finish();
    await expect(log.replaceSegments(overlapping)).rejects.toBeInstanceOf(SegmentSwapConflictError);

    const stale = await log.createCleanedSegment([b]);
    for await (const { bytes } of log.readSegmentBatches(b)) await stale.append(bytes);
    await stale.finish();
    await log.truncateTo(b);
    await expect(log.replaceSegments(stale)).rejects.toBeInstanceOf(SegmentSwapConflictError);
    // Nothing changed for readers.
    expect((await visible(log))[0]).toBe(a);
  });

  it("the cleaned writer refuses batches out of order, below its base, or failing their CRC", async () => {
    const { log } = await filled();
    const infos = await log.segmentInfos();
    const writer = await log.createCleanedSegment([infos[1]?.baseOffset as number]);
    const base = infos[1]?.baseOffset as number;
    await writer.append(stampedCopy(buildTestBatch({ records: 2 }), base + 2, 1));
    await expect(writer.append(stampedCopy(buildTestBatch({ records: 1 }), base + 3, 1))).rejects.toBeInstanceOf(SluiceError);
    await expect(writer.append(stampedCopy(buildTestBatch({ records: 1 }), base - 1, 1))).rejects.toBeInstanceOf(SluiceError);
    const corrupt = stampedCopy(buildTestBatch({ records: 1, valueBytes: 30 }), base + 10, 1);
    corrupt[corrupt.byteLength - 2] = (corrupt[corrupt.byteLength - 2] ?? 0) ^ 1;
    await expect(writer.append(corrupt)).rejects.toBeInstanceOf(CorruptRecordError);
    expect(writer.nextOffset).toBe(base + 4);
    await writer.abort();
  });

  it("reads segment batches through a throttle", async () => {
    const { log } = await filled();
    const infos = await log.segmentInfos();
    const clock = new ManualClock(0);
    const throttle = new IoThrottle({ bytesPerSecond: 1000, burstBytes: 100, clock, sleep: async (ms) => clock.advance(ms) });
    let bytes = 0;
    for await (const item of log.readSegmentBatches(infos[0]?.baseOffset as number, throttle)) bytes += item.bytes.byteLength;
    expect(throttle.grantedBytes).toBe(bytes);
    expect(bytes).toBe(infos[0]?.sizeBytes);
    expect(clock.nowMs()).toBeGreaterThan(0);
  });
});
