// Proves the leader-epoch cache answers epochAt and Kafka's OffsetsForLeaderEpoch like a naive model built from per-offset epochs, and truncates from either end correctly.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LeaderEpochCache } from "./leader-epoch-cache.js";

/** A log as the epoch of each offset (non-decreasing), starting at offset `start`. */
const logArb = fc.record({
  start: fc.integer({ min: 0, max: 20 }),
  steps: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 30 }),
});

function epochsOf(log: { start: number; steps: Array<[number, number]> }): number[] {
  const epochs: number[] = [];
  let epoch = 0;
  for (const [bump, count] of log.steps) {
    epoch += bump;
    for (let i = 0; i < count; i++) epochs.push(epoch);
  }
  return epochs;
}

function cacheOf(start: number, epochs: number[]): LeaderEpochCache {
  const cache = new LeaderEpochCache();
  epochs.forEach((e, i) => {
    const latest = cache.latestEpoch();
    if (latest === undefined || e > latest) cache.assign(e, start + i);
  });
  return cache;
}

describe("LeaderEpochCache", () => {
  it("epochAt and endOffsetFor agree with a per-offset model", () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 0, max: 70 }), (log, asked) => {
        const epochs = epochsOf(log);
        const cache = cacheOf(log.start, epochs);
        const end = log.start + epochs.length;
        for (let o = log.start; o < end; o++) expect(cache.epochAt(o)).toBe(epochs[o - log.start]);
        expect(cache.epochAt(log.start - 1)).toBeUndefined();
        const latest = epochs.at(-1) as number;
        const answer = cache.endOffsetFor(asked, end);
        if (asked > latest) {
          expect(answer).toBeUndefined();
        } else if (asked === latest) {
          expect(answer).toEqual({ epoch: latest, endOffset: end });
        } else {
          const firstAfter = epochs.findIndex((e) => e > asked);
          const floor = [...epochs].reverse().find((e) => e <= asked);
          expect(answer).toEqual({ epoch: floor ?? asked, endOffset: log.start + firstAfter });
        }
      }),
    );
  });

  it("truncateFromEnd matches rebuilding from the kept prefix; truncateFromStart clamps the first entry", () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 0, max: 80 }), (log, cut) => {
        const epochs = epochsOf(log);
        const fromEnd = cacheOf(log.start, epochs);
        fromEnd.truncateFromEnd(cut);
        expect(fromEnd.entries()).toEqual(cacheOf(log.start, epochs.slice(0, Math.max(0, cut - log.start))).entries());
        const fromStart = cacheOf(log.start, epochs);
        fromStart.truncateFromStart(cut);
        const kept = epochs.slice(Math.max(0, cut - log.start));
        if (kept.length > 0) expect(fromStart.entries()).toEqual(cacheOf(Math.max(cut, log.start), kept).entries());
      }),
    );
  });

  it("assign drops conflicting entries, as Kafka does", () => {
    const cache = new LeaderEpochCache([
      { epoch: 1 as never, startOffset: 0 as never },
      { epoch: 3 as never, startOffset: 10 as never },
    ]);
    expect(cache.assign(3, 12)).toBe(false);
    expect(cache.assign(2, 5)).toBe(true);
    expect(cache.entries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 5 },
    ]);
  });
});
