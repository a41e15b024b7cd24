// Proves the offset map keeps each key's latest offset, never exceeds its memory budget (a batch that does not fit changes nothing), stores long keys by digest without confusing them with short ones, and counts repeated keys once.
import { describe, expect, it } from "vitest";
import { OFFSET_MAP_ENTRY_OVERHEAD_BYTES, OFFSET_MAP_RAW_KEY_BYTES_MAX } from "./limits.js";
import { OffsetMap } from "./offset-map.js";

const k = (s: string): Buffer => Buffer.from(s);

describe("offset map", () => {
  it("keeps the latest offset per key and counts new keys once per batch", () => {
    const map = new OffsetMap(1 << 20);
    expect(map.putBatch([{ key: k("a"), offset: 0 }, { key: k("b"), offset: 1 }, { key: k("a"), offset: 2 }])).toEqual({ put: true, newKeys: 2 });
    expect(map.putBatch([{ key: k("b"), offset: 5 }])).toEqual({ put: true, newKeys: 0 });
    expect(map.get(k("a"))).toBe(2);
    expect(map.get(k("b"))).toBe(5);
    expect(map.get(k("c"))).toBeUndefined();
    expect(map.size).toBe(2);
    expect(map.latestOffset).toBe(5);
    expect(map.bytesUsed).toBe(2 * (2 + OFFSET_MAP_ENTRY_OVERHEAD_BYTES));
  });

  it("refuses a whole batch whose new keys would pass the budget, and stays usable", () => {
    const entry = 3 + OFFSET_MAP_ENTRY_OVERHEAD_BYTES; // "r" + two-byte key
    const map = new OffsetMap(3 * entry);
    expect(map.putBatch([{ key: k("k1"), offset: 0 }, { key: k("k2"), offset: 1 }]).put).toBe(true);
    expect(map.putBatch([{ key: k("k1"), offset: 2 }, { key: k("k3"), offset: 3 }, { key: k("k4"), offset: 4 }])).toEqual({ put: false, newKeys: 2 });
    // Nothing of the refused batch landed.
    expect(map.get(k("k1"))).toBe(0);
    expect(map.get(k("k3"))).toBeUndefined();
    expect(map.latestOffset).toBe(1);
    // Updates of known keys always fit; one more new key still does.
    expect(map.putBatch([{ key: k("k1"), offset: 5 }, { key: k("k3"), offset: 6 }]).put).toBe(true);
    expect(map.bytesUsed).toBeLessThanOrEqual(map.budgetBytes);
    expect(map.putBatch([{ key: k("k9"), offset: 7 }]).put).toBe(false);
  });

  it("holds long keys by digest: distinct long keys stay distinct, their cost does not grow with their length", () => {
    const long1 = Buffer.alloc(100_000, 1);
    const long2 = Buffer.from(long1);
    long2[99_999] = 2;
    const map = new OffsetMap(1 << 20);
    map.putBatch([{ key: long1, offset: 0 }, { key: long2, offset: 1 }]);
    expect(map.get(long1)).toBe(0);
    expect(map.get(Buffer.from(long1))).toBe(0);
    expect(map.get(long2)).toBe(1);
    expect(map.bytesUsed).toBe(2 * (33 + OFFSET_MAP_ENTRY_OVERHEAD_BYTES));
    // A short key whose bytes equal a digest's can never collide with it: the forms are tagged.
    const digestForm = OffsetMap.mapKey(long1).slice(1);
    expect(digestForm.length).toBe(32);
    expect(OffsetMap.mapKey(Buffer.from(digestForm, "latin1"))).not.toBe(OffsetMap.mapKey(long1));
    expect(OffsetMap.mapKey(Buffer.alloc(OFFSET_MAP_RAW_KEY_BYTES_MAX, 7)).startsWith("r")).toBe(true);
    expect(OffsetMap.mapKey(Buffer.alloc(OFFSET_MAP_RAW_KEY_BYTES_MAX + 1, 7)).startsWith("h")).toBe(true);
  });

  it("tells an empty key from no key and keeps binary keys exact", () => {
    const map = new OffsetMap(1 << 20);
    map.putBatch([{ key: Buffer.alloc(0), offset: 0 }, { key: Buffer.from([0xff, 0x00]), offset: 1 }, { key: Buffer.from([0xff]), offset: 2 }]);
    expect(map.get(Buffer.alloc(0))).toBe(0);
    expect(map.get(Buffer.from([0xff, 0x00]))).toBe(1);
    expect(map.get(Buffer.from([0xff]))).toBe(2);
    expect(map.size).toBe(3);
  });
});
