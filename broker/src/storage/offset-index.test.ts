// Proves the offset index: binary-search lookup agrees with a naive scan, the file format round-trips, damaged files are refused, and truncation drops exactly the entries past the cut.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OffsetIndex } from "./offset-index.js";

/** Strictly increasing (relativeOffset, position) pairs. */
const entriesArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 5000 })), { maxLength: 200 })
  .map((steps) => {
    let rel = -1;
    let pos = -1;
    return steps.map(([dr, dp]) => ({ relativeOffset: (rel += dr), position: (pos += dp) }));
  });

function build(entries: ReadonlyArray<{ relativeOffset: number; position: number }>): OffsetIndex {
  const index = new OffsetIndex(1);
  for (const e of entries) index.append(e.relativeOffset, e.position);
  return index;
}

describe("OffsetIndex", () => {
  it("lookup returns the last entry at or below the target, as a naive scan does", () => {
    fc.assert(
      fc.property(entriesArb, fc.integer({ min: -5, max: 12_000 }), (entries, target) => {
        const naive = [...entries].reverse().find((e) => e.relativeOffset <= target);
        expect(build(entries).lookup(target)).toEqual(naive);
      }),
    );
  });

  it("round-trips through its file format and refuses damaged files", () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const index = build(entries);
        const bytes = index.toBuffer();
        expect(bytes.byteLength).toBe(entries.length * 8);
        const logSize = (entries.at(-1)?.position ?? 0) + 1;
        const parsed = OffsetIndex.fromBuffer(bytes, logSize);
        expect(parsed?.entries).toBe(entries.length);
        for (let i = 0; i < entries.length; i++) expect(parsed?.entryAt(i)).toEqual(entries[i]);
        if (entries.length > 0) {
          // A position past the log, a torn entry, or offsets out of order: refused.
          expect(OffsetIndex.fromBuffer(bytes, logSize - 1)).toBeUndefined();
          expect(OffsetIndex.fromBuffer(bytes.subarray(0, bytes.byteLength - 3), logSize)).toBeUndefined();
        }
        if (entries.length > 1) {
          const swapped = Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8), bytes.subarray(16)]);
          expect(OffsetIndex.fromBuffer(swapped, logSize)).toBeUndefined();
        }
      }),
    );
  });

  it("truncateToPosition drops exactly the entries at or past the cut", () => {
    fc.assert(
      fc.property(entriesArb, fc.integer({ min: 0, max: 12_000 }), (entries, cut) => {
        const index = build(entries);
        index.truncateToPosition(cut);
        expect(index.entries).toBe(entries.filter((e) => e.position < cut).length);
      }),
    );
  });

  it("asserts on entries that do not increase (our bug, not input)", () => {
    const index = build([{ relativeOffset: 5, position: 100 }]);
    expect(() => index.append(5, 200)).toThrow(/assertion/);
    expect(() => index.append(6, 100)).toThrow(/assertion/);
  });
});
