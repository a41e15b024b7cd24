// Proves MemoryStorage keeps its log contiguous through appends that overwrite a suffix, snapshot installs and compaction, and rejects writes that would break that.
import { AssertionError, asOffset } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { MemoryStorage, indexOfEntryContaining } from "./storage.js";
import { asNodeId, asTerm, type ConfigEntry, type Entry } from "./types.js";

const e = (term: number, base: number, last = base, size = 10): Entry => ({
  kind: "data",
  term: asTerm(term),
  baseOffset: asOffset(base),
  lastOffset: asOffset(last),
  sizeBytes: size,
  data: new Uint8Array(0),
});

const conf = (term: number, at: number, learners: number[]): ConfigEntry => ({
  kind: "config",
  term: asTerm(term),
  baseOffset: asOffset(at),
  lastOffset: asOffset(at),
  sizeBytes: 1,
  change: { type: "add-learner", node: asNodeId(learners[learners.length - 1] ?? 0) },
  config: { voters: [asNodeId(1)], learners: learners.map(asNodeId) },
});

describe("MemoryStorage", () => {
  it("appends, overwrites a suffix from an entry boundary, and finds entries by offset", () => {
    const s = new MemoryStorage();
    s.append([e(1, 0, 2), e(1, 3, 3), e(1, 4, 7)]);
    expect([s.firstOffset(), s.lastOffset()]).toEqual([0, 7]);
    expect(s.entryAt(asOffset(5))?.baseOffset).toBe(4);
    expect(s.entryAt(asOffset(8))).toBeUndefined();
    s.append([e(2, 3, 5)]);
    expect(s.allEntries().map((x) => [x.term, x.baseOffset, x.lastOffset])).toEqual([
      [1, 0, 2],
      [2, 3, 5],
    ]);
    expect(() => s.append([e(2, 1, 1)])).toThrow(AssertionError); // not an entry boundary
    expect(() => s.append([e(2, 9, 9)])).toThrow(AssertionError); // a gap
  });

  it("slices within byte and count budgets, always returning at least one entry", () => {
    const s = new MemoryStorage();
    s.append([e(1, 0, 0, 100), e(1, 1, 1, 100), e(1, 2, 2, 100), e(1, 3, 3, 100)]);
    expect(s.entries(asOffset(0), asOffset(3), 250, 10).map((x) => x.baseOffset)).toEqual([0, 1]);
    expect(s.entries(asOffset(1), asOffset(3), 10, 10).map((x) => x.baseOffset)).toEqual([1]);
    expect(s.entries(asOffset(0), asOffset(3), 10_000, 3).map((x) => x.baseOffset)).toEqual([0, 1, 2]);
    expect(s.entries(asOffset(2), asOffset(2), 10_000, 10).map((x) => x.baseOffset)).toEqual([2]);
    expect(() => s.entries(asOffset(5), asOffset(6), 10, 10)).toThrow(AssertionError);
  });

  it("compacts at an entry boundary, carrying the configuration in force there", () => {
    const s = new MemoryStorage({ voters: [asNodeId(1)], learners: [] });
    s.append([e(1, 0, 1), conf(1, 2, [5]), e(1, 3, 4), conf(2, 5, [5, 6]), e(2, 6, 6)]);
    s.compact(asOffset(4), new Uint8Array([7]));
    expect(s.snapshotMeta()).toEqual({ offset: 4, term: 1, config: { voters: [1], learners: [5] } });
    expect(s.firstOffset()).toBe(5);
    expect(s.initialState().configEntries.map((c) => c.lastOffset)).toEqual([5]);
    expect(() => s.compact(asOffset(5), new Uint8Array(0))).not.toThrow();
    expect(() => s.compact(asOffset(9), new Uint8Array(0))).toThrow(AssertionError);
    s.compact(asOffset(3), new Uint8Array(0)); // older than the snapshot: no-op
    expect(s.snapshotMeta().offset).toBe(5);
  });

  it("installs a newer snapshot over the whole log and ignores older ones", () => {
    const s = new MemoryStorage();
    s.append([e(1, 0, 3)]);
    s.applySnapshot({ meta: { offset: asOffset(10), term: asTerm(2), config: { voters: [], learners: [] } }, data: new Uint8Array(0) });
    expect([s.firstOffset(), s.lastOffset(), s.allEntries().length]).toEqual([11, 10, 0]);
    s.applySnapshot({ meta: { offset: asOffset(5), term: asTerm(1), config: { voters: [], learners: [] } }, data: new Uint8Array(0) });
    expect(s.snapshotMeta().offset).toBe(10);
    const copy = s.clone();
    copy.append([e(2, 11, 11)]);
    expect(s.lastOffset()).toBe(10); // clones are independent
  });

  it("binary search finds the containing entry or -1", () => {
    const entries = [e(1, 0, 2), e(1, 3, 3), e(1, 4, 9)];
    expect([-1, 0, 2, 3, 4, 9, 10].map((o) => indexOfEntryContaining(entries, o))).toEqual([-1, 0, 0, 1, 2, 2, -1]);
  });
});
