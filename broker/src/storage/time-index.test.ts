// Proves the time index: entries only when the timestamp grows, lastBefore agrees with a naive scan, the file format round-trips, damaged files are refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TimeIndex } from "./time-index.js";

describe("TimeIndex", () => {
  it("keeps only growing timestamps and answers lastBefore like a naive scan", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 150 }), fc.integer({ min: -1, max: 10_001 }), (timestamps, target) => {
        const index = new TimeIndex(1);
        const kept: Array<{ timestampMs: number; relativeOffset: number }> = [];
        timestamps.forEach((ts, rel) => {
          const grows = kept.length === 0 || ts > (kept.at(-1) as { timestampMs: number }).timestampMs;
          expect(index.maybeAppend(ts, rel)).toBe(grows);
          if (grows) kept.push({ timestampMs: ts, relativeOffset: rel });
        });
        expect(index.entries).toBe(kept.length);
        expect(index.lastBefore(target)).toEqual([...kept].reverse().find((e) => e.timestampMs < target));
        const parsed = TimeIndex.fromBuffer(index.toBuffer());
        expect(parsed?.entries).toBe(kept.length);
        kept.forEach((e, i) => expect(parsed?.entryAt(i)).toEqual(e));
      }),
    );
  });

  it("refuses a torn or unordered file and truncates by offset", () => {
    const index = new TimeIndex();
    index.maybeAppend(100, 0);
    index.maybeAppend(200, 5);
    index.maybeAppend(300, 9);
    const bytes = index.toBuffer();
    expect(TimeIndex.fromBuffer(bytes.subarray(0, 30))).toBeUndefined();
    expect(TimeIndex.fromBuffer(Buffer.concat([bytes.subarray(12, 24), bytes.subarray(0, 12)]))).toBeUndefined();
    index.truncateToRelativeOffset(5);
    expect(index.lastEntry()).toEqual({ timestampMs: 100, relativeOffset: 0 });
  });
});
