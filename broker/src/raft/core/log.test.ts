// Proves RaftLog (storage + unstable tail) answers every lookup exactly like a naive array model, through appends, truncations, persistence, commits and compaction.
import fc from "fast-check";
import { AssertionError, asOffset } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { RaftLog, UNKNOWN_TERM } from "./log.js";
import { MemoryStorage } from "./storage.js";
import { asNodeId, asTerm, type Entry } from "./types.js";

function entry(term: number, base: number, last: number, size = 10): Entry {
  return { kind: "data", term: asTerm(term), baseOffset: asOffset(base), lastOffset: asOffset(last), sizeBytes: size, data: new Uint8Array(0) };
}

/** The naive model: the whole logical log after the snapshot, as one array. */
class Model {
  entries: Entry[] = [];
  snapOffset = -1;
  snapTerm = 0;
  last(): number {
    return this.entries[this.entries.length - 1]?.lastOffset ?? this.snapOffset;
  }
  termAtBoundary(o: number): number {
    if (o === this.snapOffset) return this.snapTerm;
    return this.entries.find((e) => e.lastOffset === o)?.term ?? UNKNOWN_TERM;
  }
  termAt(o: number): number {
    if (o === this.snapOffset) return this.snapTerm;
    return this.entries.find((e) => e.baseOffset <= o && o <= e.lastOffset)?.term ?? UNKNOWN_TERM;
  }
  boundaries(): number[] {
    return [this.snapOffset, ...this.entries.map((e) => e.lastOffset)];
  }
  findConflictByTerm(o: number, term: number): { offset: number; term: number } {
    const candidates = this.boundaries().filter((b) => b <= o).reverse();
    for (const b of candidates) {
      const bt = this.termAtBoundary(b);
      if (bt <= term) return { offset: b, term: bt };
    }
    return { offset: Math.min(o, this.snapOffset - 1), term: 0 };
  }
}

type Op =
  | { kind: "append"; truncateChoice: number; count: number; widths: number[]; termBump: number }
  | { kind: "persist" }
  | { kind: "commit"; choice: number }
  | { kind: "compact"; choice: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("append" as const),
    truncateChoice: fc.nat(),
    count: fc.integer({ min: 1, max: 4 }),
    widths: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    termBump: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({ kind: fc.constant("persist" as const) }),
  fc.record({ kind: fc.constant("commit" as const), choice: fc.nat() }),
  fc.record({ kind: fc.constant("compact" as const), choice: fc.nat() }),
);

describe("RaftLog", () => {
  it("agrees with a naive model on terms, boundaries, slices, backtracking and up-to-dateness", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.integer({ min: -2, max: 60 }), { minLength: 8, maxLength: 8 }), (ops, probes) => {
        const storage = new MemoryStorage({ voters: [asNodeId(1)], learners: [] });
        const log = new RaftLog(storage, -1, -1);
        const model = new Model();
        let term = 1;
        for (const op of ops) {
          if (op.kind === "append") {
            // Truncate at a boundary above the commit point (or append at the end).
            const choices = model.boundaries().filter((b) => b >= log.committed);
            const at = choices[op.truncateChoice % choices.length] as number;
            term += op.termBump;
            const fresh: Entry[] = [];
            let base = at + 1;
            for (let i = 0; i < op.count; i++) {
              const width = op.widths[i] as number;
              fresh.push(entry(term, base, base + width));
              base += width + 1;
            }
            const truncatedAt = log.append(fresh);
            expect(truncatedAt).toBe(at < model.last() ? at + 1 : -1);
            model.entries = model.entries.filter((e) => e.lastOffset <= at).concat(fresh);
          } else if (op.kind === "persist") {
            const unstable = log.unstableEntries().slice();
            storage.append(unstable);
            const tail = unstable[unstable.length - 1];
            if (tail !== undefined) log.stableTo(tail.lastOffset, tail.term);
            expect(log.unstableEntries()).toHaveLength(0);
          } else if (op.kind === "commit") {
            const stable = model.boundaries().filter((b) => b >= log.committed && b <= log.lastOffset());
            const to = stable[op.choice % stable.length] as number;
            log.commitTo(to);
            expect(log.committed).toBe(Math.max(to, log.committed));
          } else {
            // Compact storage at a committed, persisted boundary the application has applied.
            const persisted = log.stableLastOffset();
            const candidates = model.boundaries().filter((b) => b > model.snapOffset && b <= Math.min(log.committed, persisted));
            if (candidates.length === 0) continue;
            const at = candidates[op.choice % candidates.length] as number;
            log.appliedTo(at);
            storage.compact(asOffset(at), new Uint8Array(0));
            model.snapTerm = model.termAtBoundary(at);
            model.snapOffset = at;
            model.entries = model.entries.filter((e) => e.lastOffset > at);
          }
          expect(log.lastOffset()).toBe(model.last());
          expect(log.firstOffset()).toBe(model.snapOffset + 1);
          expect(log.lastTerm()).toBe(model.termAtBoundary(model.last()));
          for (const p of probes) {
            expect(log.termAtBoundary(p)).toBe(model.termAtBoundary(p));
            expect(log.termAt(p)).toBe(model.termAt(p));
            expect(log.findConflictByTerm(p, term - 1)).toEqual(model.findConflictByTerm(p, term - 1));
            if (p >= model.snapOffset) {
              const expected = p >= model.last() ? model.last() : Math.max(...model.boundaries().filter((b) => b <= p));
              expect(log.boundaryAtOrBefore(p)).toBe(expected);
            }
            expect(log.isUpToDate(p, term)).toBe(term > log.lastTerm() || (term === log.lastTerm() && p >= model.last()));
          }
          // Slices from every entry start, with a tight byte budget: always >= 1 entry, contiguous, in order.
          for (const start of model.entries) {
            const got = log.entriesFrom(start.baseOffset, 25, 100);
            const from = model.entries.indexOf(start);
            const expected = model.entries.slice(from, from + Math.max(1, Math.min(2, model.entries.length - from)));
            expect(got).toEqual(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("refuses to truncate committed entries (that would lose acknowledged data)", () => {
    const storage = new MemoryStorage();
    const log = new RaftLog(storage, -1, -1);
    log.append([entry(1, 0, 2), entry(1, 3, 3)]);
    log.commitTo(2);
    expect(() => log.append([entry(2, 0, 0)])).toThrow(AssertionError);
    expect(() => log.commitTo(9)).toThrow(AssertionError); // beyond the end: a lost log
    expect(log.maybeAppend(2, 1, 9, [entry(2, 3, 5)])).toEqual({ lastNewOffset: 5, appendedFrom: 0, truncatedAt: 3 });
    expect(log.committed).toBe(5); // min(leader commit 9, last new entry 5)
    expect(log.maybeAppend(4, 2, 9, [])).toBeNull(); // 4 is inside an entry
  });

  it("hands committed entries out once, from the snapshot on", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 0, 1), entry(1, 2, 2), entry(1, 3, 5)]);
    const log = new RaftLog(storage, 2, -1);
    expect(log.nextCommittedEntries(1000).map((e) => e.lastOffset)).toEqual([1, 2]);
    log.applyingTo(2);
    expect(log.hasNextCommittedEntries()).toBe(false);
    log.commitTo(5);
    expect(log.nextCommittedEntries(1000).map((e) => e.lastOffset)).toEqual([5]);
    log.restore({ meta: { offset: asOffset(9), term: asTerm(3), config: { voters: [], learners: [] } }, data: new Uint8Array(0) });
    expect([log.firstOffset(), log.lastOffset(), log.committed]).toEqual([10, 9, 9]);
    expect(log.nextCommittedEntries(1000)).toEqual([]);
    expect(log.termAtBoundary(9)).toBe(3);
    expect(log.termAt(4)).toBe(UNKNOWN_TERM);
  });
});
