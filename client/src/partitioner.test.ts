// Proves keyed records land where Kafka's Java client puts them (its murmur2 test vectors and
// kafkajs's Java-compatible DefaultPartitioner agree with us) and that null keys stick to one
// partition until its batch closes.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Partitioners } from "kafkajs";
import { murmur2, partitionForKey, StickyPartitioner, toPositive } from "./partitioner.js";
import { seededRandom } from "./runtime.js";

describe("murmur2", () => {
  // Apache Kafka clients/src/test/.../common/utils/UtilsTest.java, testMurmur2.
  const javaVectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  it.each(javaVectors)("hashes %j like Kafka's Java client", (input, expected) => {
    expect(murmur2(Buffer.from(input, "latin1"))).toBe(expected);
  });

  it("hashes every tail length (0-3 leftover bytes) like the reference vectors used by other ports", () => {
    // Values computed by Kafka's Utils.murmur2, as pinned by Akka's Kafka-compatible port.
    expect(murmur2(Buffer.from("1"))).toBe(-1993445489);
    expect(murmur2(Buffer.from("12"))).toBe(126087238);
    expect(murmur2(Buffer.from("123"))).toBe(-267702483);
    expect(murmur2(Buffer.from("1234"))).toBe(-1614185708);
    expect(murmur2(Buffer.from("12345"))).toBe(-1188365604);
  });

  it("toPositive clears the sign bit (not Math.abs)", () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(42)).toBe(42);
  });

  it("picks the same partition as kafkajs's DefaultPartitioner for arbitrary keys", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.integer({ min: 1, max: 500 }), (bytes, numPartitions) => {
        const key = Buffer.from(bytes);
        const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0] }));
        const theirs = kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } });
        expect(partitionForKey(key, numPartitions)).toBe(theirs);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("StickyPartitioner", () => {
  it("keeps one partition until that partition's batch closes, then moves to another", () => {
    const sticky = new StickyPartitioner(seededRandom(7));
    const all = [0, 1, 2, 3, 4, 5];
    const first = sticky.partition("t", 6, all);
    for (let i = 0; i < 100; i++) expect(sticky.partition("t", 6, all)).toBe(first);
    sticky.onBatchClosed("t", first, 6, all);
    const second = sticky.partition("t", 6, all);
    expect(second).not.toBe(first);
    for (let i = 0; i < 100; i++) expect(sticky.partition("t", 6, all)).toBe(second);
  });

  it("ignores closed batches of partitions it is not sticking to", () => {
    const sticky = new StickyPartitioner(seededRandom(1));
    const current = sticky.partition("t", 4, [0, 1, 2, 3]);
    sticky.onBatchClosed("t", (current + 1) % 4, 4, [0, 1, 2, 3]);
    expect(sticky.partition("t", 4, [0, 1, 2, 3])).toBe(current);
  });

  it("only picks partitions that have a leader, and spreads over all of them", () => {
    const sticky = new StickyPartitioner(seededRandom(3));
    const available = [1, 3];
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = sticky.partition("t", 4, available);
      expect(available).toContain(p);
      seen.add(p);
      sticky.onBatchClosed("t", p, 4, available);
    }
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it("stays on the only partition of a one-partition topic, and tracks topics separately", () => {
    const sticky = new StickyPartitioner(seededRandom(9));
    expect(sticky.partition("one", 1, [0])).toBe(0);
    sticky.onBatchClosed("one", 0, 1, [0]);
    expect(sticky.partition("one", 1, [0])).toBe(0);
    const a = sticky.partition("a", 8, []);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(8);
  });
});
