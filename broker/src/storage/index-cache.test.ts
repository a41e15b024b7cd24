// Proves loaded indexes stay within the shared memory budget (least recently used go first, dirty ones stay) and that a log whose indexes are evicted and reloaded keeps reading correctly.
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig } from "./config.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { IndexCache, type IndexHolder } from "./index-cache.js";
import { PartitionLog } from "./partition-log.js";
import { batchesIn, buildTestBatch } from "./testing/batch-builder.js";

class Holder implements IndexHolder {
  dropped = 0;
  constructor(public dirty = false) {}
  dropIndexes(): boolean {
    if (this.dirty) return false;
    this.dropped++;
    return true;
  }
}

describe("IndexCache", () => {
  it("evicts the least recently used holders to stay within budget, skipping dirty ones", () => {
    const cache = new IndexCache(300);
    const [a, b, c, d] = [new Holder(), new Holder(true), new Holder(), new Holder()];
    cache.touch(a, 100);
    cache.touch(b, 100);
    cache.touch(c, 100);
    cache.touch(a, 100);
    expect(cache.loadedBytes).toBe(300);
    cache.touch(d, 100);
    // b is older than c but dirty: c goes.
    expect(c.dropped).toBe(1);
    expect(b.dropped).toBe(0);
    expect(cache.loadedSegments).toBe(3);
    expect(cache.loadedBytes).toBe(300);
    cache.remove(b);
    expect(cache.loadedBytes).toBe(200);
  });

  it("keeps a log's loaded index memory bounded while every segment is read, and reads stay right", async () => {
    const cache = new IndexCache(400);
    const log = await PartitionLog.open({ fs: new SimStorageFs(), dir: "/d/t-0", clock: new ManualClock(), config: logConfig({ segmentBytes: 600, indexIntervalBytes: 64 }), indexCache: cache });
    const bases: number[] = [];
    for (let i = 0; i < 80; i++) bases.push((await log.append(buildTestBatch({ records: 1 + (i % 3), valueBytes: 30, seed: i }), 1)).baseOffset);
    expect(log.segmentCount).toBeGreaterThan(10);
    for (let pass = 0; pass < 2; pass++) {
      const seen: number[] = [];
      let offset = 0;
      while (offset < log.logEndOffset) {
        const r = await log.read(offset, 200);
        seen.push(...batchesIn(r.records).map((b) => b.baseOffset));
        offset = r.nextOffset;
        // The active segment's dirty indexes may exceed the budget on their own; nothing else may.
        expect(cache.loadedSegments).toBeLessThanOrEqual(4);
      }
      expect(seen).toEqual(bases);
    }
    expect(cache.evictions).toBeGreaterThan(10);
  });
});
