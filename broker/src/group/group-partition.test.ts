// Proves groupPartition reproduces Java's String.hashCode and Kafka's abs-mod mapping, using
// values Java itself prints for these strings (including the one whose hash is Integer.MIN_VALUE).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { groupPartition, javaStringHashCode, kafkaAbs } from "./group-partition.js";

describe("javaStringHashCode", () => {
  it("matches values computed by the JVM", () => {
    // Well-known JVM values: "Aa" and "BB" collide; "polygenelubricants" hashes to Integer.MIN_VALUE.
    expect(javaStringHashCode("")).toBe(0);
    expect(javaStringHashCode("hello")).toBe(99162322);
    expect(javaStringHashCode("Aa")).toBe(2112);
    expect(javaStringHashCode("BB")).toBe(2112);
    expect(javaStringHashCode("polygenelubricants")).toBe(-2147483648);
    expect(javaStringHashCode("Hello, World!")).toBe(1498789909);
  });

  it("equals the recurrence h = 31*h + c evaluated exactly with BigInt and wrapped to int32", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), (s) => {
        let h = 0n;
        for (let i = 0; i < s.length; i++) h = BigInt.asIntN(32, h * 31n + BigInt(s.charCodeAt(i)));
        expect(javaStringHashCode(s)).toBe(Number(h));
      }),
    );
  });
});

describe("groupPartition", () => {
  it("is abs(hash) % n, with Integer.MIN_VALUE mapping to partition 0", () => {
    expect(kafkaAbs(-2147483648)).toBe(0);
    expect(groupPartition("polygenelubricants", 50)).toBe(0);
    expect(groupPartition("hello", 50)).toBe(99162322 % 50);
    expect(groupPartition("Hello, World!", 50)).toBe(1498789909 % 50);
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (g, n) => {
        const p = groupPartition(g, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        const h = javaStringHashCode(g);
        expect(p).toBe((h === -2147483648 ? 0 : Math.abs(h)) % n);
      }),
    );
  });

  it("rejects a partition count below one with a typed error", () => {
    expect(() => groupPartition("g", 0)).toThrow(SluiceError);
    expect(() => groupPartition("g", 1.5)).toThrow(SluiceError);
  });
});
