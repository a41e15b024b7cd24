// Proves the pure rules of what a clean may touch: the dirty section starts at a checkpoint that fits the log (else at the log start), ends at the active segment, the first dirty segment within min.compaction.lag.ms, or the stable offset, whichever comes first; the dirty ratio is counted by segment bytes; and segment groups stay within their byte and int32-offset bounds.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cleanableRange, groupSegments, type CleanableInput } from "./cleanable.js";

const NOW = 1_000_000;

/** Four inactive segments of 100 bytes at 0, 10, 20, 30 and an active one at 40 (timestamps = base * 1000). */
function input(overrides: Partial<CleanableInput> = {}): CleanableInput {
  return {
    segments: [0, 10, 20, 30, 40].map((base) => ({ baseOffset: base, sizeBytes: 100, largestTimestampMs: base * 1000 })),
    logStartOffset: 0,
    logEndOffset: 45,
    checkpoint: undefined,
    stableOffset: 45,
    nowMs: NOW,
    minCompactionLagMs: 0,
    ...overrides,
  };
}

describe("cleanable range", () => {
  it("a never-cleaned log is all dirty up to the active segment", () => {
    expect(cleanableRange(input())).toEqual({ firstDirtyOffset: 0, firstUncleanableOffset: 40, firstSegmentIndex: 0, cleanBytes: 0, dirtyBytes: 400, dirtyRatio: 1 });
  });

  it("the checkpoint splits clean from dirty bytes; a checkpoint inside a segment makes that segment dirty", () => {
    expect(cleanableRange(input({ checkpoint: 20 }))).toMatchObject({ firstDirtyOffset: 20, cleanBytes: 200, dirtyBytes: 200, dirtyRatio: 0.5 });
    expect(cleanableRange(input({ checkpoint: 25 }))).toMatchObject({ firstDirtyOffset: 25, cleanBytes: 200, dirtyBytes: 200, dirtyRatio: 0.5 });
    expect(cleanableRange(input({ checkpoint: 30 }))).toMatchObject({ firstDirtyOffset: 30, cleanBytes: 300, dirtyBytes: 100, dirtyRatio: 0.25 });
    expect(cleanableRange(input({ checkpoint: 40 }))).toMatchObject({ firstDirtyOffset: 40, cleanBytes: 400, dirtyBytes: 0, dirtyRatio: 0 });
  });

  it("a checkpoint that cannot belong to this log (below its start, past its end or its active segment) means a full clean", () => {
    for (const checkpoint of [-1, 46, 41]) expect(cleanableRange(input({ checkpoint, logStartOffset: 0 })).firstDirtyOffset).toBe(0);
    expect(cleanableRange(input({ checkpoint: 5, logStartOffset: 12 })).firstDirtyOffset).toBe(12);
  });

  it("segments wholly below the log start are left to retention", () => {
    const range = cleanableRange(input({ logStartOffset: 21 }));
    expect(range).toMatchObject({ firstSegmentIndex: 2, firstDirtyOffset: 21, dirtyBytes: 200, cleanBytes: 0 });
  });

  it("stops at the first dirty segment younger than min.compaction.lag.ms, even if later ones are older", () => {
    // Segment 20's newest record is 5 ms old: too young for a 10 ms lag, old enough for 5 ms.
    const segments = [0, 10, 20, 30, 40].map((base) => ({ baseOffset: base, sizeBytes: 100, largestTimestampMs: base === 20 ? NOW - 5 : 0 }));
    expect(cleanableRange(input({ segments, minCompactionLagMs: 10 })).firstUncleanableOffset).toBe(20);
    expect(cleanableRange(input({ segments, minCompactionLagMs: 5 })).firstUncleanableOffset).toBe(40);
    // Clean segments are not asked again: they were old enough when cleaned.
    expect(cleanableRange(input({ segments, minCompactionLagMs: 10, checkpoint: 30 })).firstUncleanableOffset).toBe(40);
    // Unknown timestamps (-1) never hold compaction back.
    const unknown = segments.map((s) => ({ ...s, largestTimestampMs: -1 }));
    expect(cleanableRange(input({ segments: unknown, minCompactionLagMs: 1_000_000_000 })).firstUncleanableOffset).toBe(40);
  });

  it("never reaches the stable offset (high watermark); an unknown one below the log start cleans nothing", () => {
    expect(cleanableRange(input({ stableOffset: 27 }))).toMatchObject({ firstUncleanableOffset: 27, dirtyBytes: 300 });
    expect(cleanableRange(input({ stableOffset: 0, logStartOffset: 5 }))).toMatchObject({ firstUncleanableOffset: 5, dirtyBytes: 100 });
  });

  it("holds its invariants for arbitrary logs", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 1, max: 50 }), size: fc.nat(1000), ts: fc.integer({ min: -1, max: NOW }) }), { minLength: 1, maxLength: 8 }),
        fc.nat(100),
        fc.option(fc.integer({ min: -5, max: 400 }), { nil: undefined }),
        fc.nat(400),
        fc.nat(NOW),
        (specs, startPick, checkpoint, stable, lag) => {
          let base = 0;
          const segments = specs.map((s) => {
            const segment = { baseOffset: base, sizeBytes: s.size, largestTimestampMs: s.ts };
            base += s.gap;
            return segment;
          });
          const activeBase = (segments[segments.length - 1] as (typeof segments)[number]).baseOffset;
          const logEnd = activeBase + 3;
          const logStart = Math.min(startPick, logEnd);
          const range = cleanableRange({ segments, logStartOffset: logStart, logEndOffset: logEnd, checkpoint, stableOffset: stable, nowMs: NOW, minCompactionLagMs: lag });
          expect(range.firstDirtyOffset).toBeGreaterThanOrEqual(logStart);
          expect(range.firstDirtyOffset).toBeLessThanOrEqual(Math.max(logStart, activeBase));
          expect(range.firstUncleanableOffset).toBeLessThanOrEqual(Math.max(logStart, activeBase));
          expect(range.firstUncleanableOffset).toBeLessThanOrEqual(Math.max(stable, logStart));
          expect(range.dirtyRatio).toBeGreaterThanOrEqual(0);
          expect(range.dirtyRatio).toBeLessThanOrEqual(1);
          // Every segment with offsets in [firstDirty, firstUncleanable) is old enough.
          segments.forEach((s, i) => {
            const end = segments[i + 1]?.baseOffset ?? logEnd;
            if (i < segments.length - 1 && end > range.firstDirtyOffset && s.baseOffset < range.firstUncleanableOffset && lag > 0) {
              expect(s.largestTimestampMs).toBeLessThanOrEqual(NOW - lag);
            }
          });
        },
      ),
    );
  });
});

describe("segment groups", () => {
  it("groups consecutive segments while their bytes fit, a big segment alone", () => {
    const segments = [
      { baseOffset: 0, sizeBytes: 40 },
      { baseOffset: 10, sizeBytes: 50 },
      { baseOffset: 20, sizeBytes: 20 },
      { baseOffset: 30, sizeBytes: 500 },
      { baseOffset: 40, sizeBytes: 10 },
    ];
    expect(groupSegments(segments, 50, 100)).toEqual([[0, 10], [20], [30], [40]]);
    expect(groupSegments(segments, 50, 1000)).toEqual([[0, 10, 20, 30, 40]]);
    expect(groupSegments([], 0, 100)).toEqual([]);
  });

  it("never lets a group's offsets span more than an int32 from its base", () => {
    const big = 0x7fff_ffff;
    const segments = [
      { baseOffset: 0, sizeBytes: 1 },
      { baseOffset: big - 10, sizeBytes: 1 },
      { baseOffset: big + 5, sizeBytes: 1 },
    ];
    // The second segment may hold offsets up to big+4, more than an int32 past base 0; from base big-10 the rest fits.
    expect(groupSegments(segments, big + 100, 1000)).toEqual([[0], [big - 10, big + 5]]);
  });

  it("covers every segment once, in order, within the bounds", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ gap: fc.integer({ min: 1, max: 2 ** 30 }), size: fc.nat(300) }), { maxLength: 12 }), fc.integer({ min: 1, max: 600 }), (specs, maxBytes) => {
        let base = 0;
        const segments = specs.map((s) => {
          const segment = { baseOffset: base, sizeBytes: s.size };
          base += s.gap;
          return segment;
        });
        const groups = groupSegments(segments, base, maxBytes);
        expect(groups.flat()).toEqual(segments.map((s) => s.baseOffset));
        for (const group of groups) {
          const members = segments.filter((s) => group.includes(s.baseOffset));
          if (group.length > 1) expect(members.reduce((n, s) => n + s.sizeBytes, 0)).toBeLessThanOrEqual(maxBytes);
          const lastIndex = segments.findIndex((s) => s.baseOffset === group[group.length - 1]);
          const end = segments[lastIndex + 1]?.baseOffset ?? base;
          if (group.length > 1) expect(end - 1 - (group[0] as number)).toBeLessThanOrEqual(0x7fff_ffff);
        }
      }),
    );
  });
});
