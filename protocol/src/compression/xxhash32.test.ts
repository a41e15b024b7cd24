// Proves XXH32 matches the reference implementation's published values, whole and over a
// sub-range (the LZ4 frame header checksum hashes a slice of a larger buffer).
import { describe, expect, it } from "vitest";
import { xxhash32 } from "./xxhash32.js";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("xxhash32", () => {
  it("matches reference values (seed 0)", () => {
    expect(xxhash32(utf8(""))).toBe(0x02cc5d05);
    expect(xxhash32(utf8("a"))).toBe(0x550d7456);
    expect(xxhash32(utf8("abc"))).toBe(0x32d153ff);
    expect(xxhash32(utf8("Nobody inspects the spammish repetition"))).toBe(0xe2293b2f);
  });

  it("hashes a sub-range the same as a copy of it", () => {
    const data = utf8("xxNobody inspects the spammish repetitionyy");
    expect(xxhash32(data, 2, data.length - 2)).toBe(0xe2293b2f);
  });

  it("changes with the seed", () => {
    expect(xxhash32(utf8("abc"), 0, 3, 1)).not.toBe(xxhash32(utf8("abc")));
  });
});
