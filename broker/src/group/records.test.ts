// Proves the __consumer_offsets record codec round-trips every record type, writes offset commits in
// Kafka's exact byte layout (key type 1, value v3), and rejects truncated, padded or garbled bytes
// with CorruptRecordError rather than crashing or returning wrong values.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptRecordError, SluiceError } from "@sluice/protocol";
import { topicPartitionsOf, topicPartitionsToObject } from "./assignors/assignment.js";
import { decodeRecord, encodeRecord, recordKeyId, type GroupRecord } from "./records.js";

const name = fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const partitions = fc
  .array(fc.tuple(fc.constantFrom("a", "b", "ü-topic"), fc.nat({ max: 2 ** 31 - 1 })), { maxLength: 12 })
  .map((pairs) => topicPartitionsOf(pairs));
const maybe = <T,>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
const nullable = <T,>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });

const recordArb: fc.Arbitrary<GroupRecord> = fc.oneof(
  fc.record({
    type: fc.constant("offset-commit" as const),
    groupId: name,
    topic: name,
    partition: fc.nat({ max: 2 ** 31 - 1 }),
    value: nullable(
      fc.record({
        offset: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        leaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
        metadata: fc.string({ maxLength: 50 }),
        commitTimestampMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      }),
    ),
  }),
  fc.record({
    type: fc.constant("group-metadata" as const),
    groupId: name,
    value: nullable(
      fc.record({
        groupEpoch: int32,
        emptySinceMs: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
        subscribedTopics: fc.dictionary(name, fc.nat({ max: 10_000 })).map((o) => new Map(Object.entries(o).sort((x, y) => (x[0] < y[0] ? -1 : 1)))),
      }),
    ),
  }),
  fc.record({
    type: fc.constant("member-metadata" as const),
    groupId: name,
    memberId: name,
    value: nullable(
      fc.record({
        instanceId: maybe(name),
        rackId: maybe(name),
        clientId: fc.string({ maxLength: 10 }),
        subscribedTopicNames: fc.uniqueArray(name, { maxLength: 5 }).map((xs) => xs.sort()),
        subscribedTopicRegex: maybe(fc.string({ maxLength: 10 })),
        rebalanceTimeoutMs: fc.nat({ max: 2 ** 31 - 1 }),
        serverAssignor: maybe(fc.constantFrom("uniform", "range")),
      }),
    ),
  }),
  fc.record({ type: fc.constant("target-assignment-metadata" as const), groupId: name, value: nullable(fc.record({ assignmentEpoch: int32 })) }),
  fc.record({ type: fc.constant("target-assignment-member" as const), groupId: name, memberId: name, value: nullable(fc.record({ partitions })) }),
  fc.record({
    type: fc.constant("current-assignment" as const),
    groupId: name,
    memberId: name,
    value: nullable(
      fc.record({
        memberEpoch: int32,
        previousMemberEpoch: int32,
        state: fc.constantFrom("stable" as const, "unrevoked_partitions" as const, "unreleased_partitions" as const),
        assigned: partitions,
        pendingRevocation: partitions,
      }),
    ),
  }),
);

/** Maps become plain objects so toEqual compares contents. */
function plain(r: GroupRecord): unknown {
  return JSON.parse(
    JSON.stringify(r, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, Array.isArray(x) ? x : x])) : v === undefined ? "<undef>" : v)),
  );
}

function hex(bytes: Uint8Array | null): string {
  return bytes === null ? "null" : Buffer.from(bytes).toString("hex");
}

describe("record codec", () => {
  it("round-trips every record type", () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const { key, value } = encodeRecord(record);
        const back = decodeRecord(key, value);
        expect(plain(back)).toEqual(plain(record));
        expect(recordKeyId(back)).toBe(recordKeyId(record));
        expect(value === null).toBe(record.value === null);
      }),
      { numRuns: 500 },
    );
  });

  it("writes offset commits in Kafka's layout: key v1 (type 1, group, topic, partition), value v3", () => {
    const { key, value } = encodeRecord({
      type: "offset-commit",
      groupId: "g1",
      topic: "t",
      partition: 5,
      value: { offset: 258, leaderEpoch: 7, metadata: "md", commitTimestampMs: 1_700_000_000_000 },
    });
    // int16 1 | int16 2 "g1" | int16 1 "t" | int32 5
    expect(hex(key)).toBe("0001" + "0002" + "6731" + "0001" + "74" + "00000005");
    // int16 3 | int64 258 | int32 7 | int16 2 "md" | int64 1700000000000 (0x18BCFE56800)
    expect(hex(value)).toBe("0003" + "0000000000000102" + "00000007" + "0002" + "6d64" + "0000018bcfe56800");
  });

  it("reads Kafka's older offset commit values (v0-v2, no leader epoch)", () => {
    const v1 = Buffer.from("0001" + "000000000000000a" + "0000" + "0000000000000064" + "ffffffffffffffff", "hex");
    const key = encodeRecord({ type: "offset-commit", groupId: "g", topic: "t", partition: 0, value: null }).key;
    const r = decodeRecord(key, v1);
    expect(r.value).toEqual({ offset: 10, leaderEpoch: -1, metadata: "", commitTimestampMs: 100 });
  });

  it("every strict prefix of a key or value, and any trailing byte, is a CorruptRecordError", () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const { key, value } = encodeRecord(record);
        for (let cut = 0; cut < key.length; cut++) expect(() => decodeRecord(key.subarray(0, cut), value)).toThrow(CorruptRecordError);
        if (value !== null) {
          for (let cut = 0; cut < value.length; cut++) expect(() => decodeRecord(key, value.subarray(0, cut))).toThrow(CorruptRecordError);
          expect(() => decodeRecord(key, Uint8Array.of(...value, 0))).toThrow(CorruptRecordError);
        }
        expect(() => decodeRecord(Uint8Array.of(...key, 0), value)).toThrow(CorruptRecordError);
      }),
      { numRuns: 100 },
    );
  });

  it("unknown types, versions, states and invalid UTF-8 are CorruptRecordError", () => {
    expect(() => decodeRecord(Uint8Array.of(0, 99, 0, 0), null)).toThrow(/unknown __consumer_offsets record type 99/);
    const member = encodeRecord({
      type: "current-assignment",
      groupId: "g",
      memberId: "m",
      value: { memberEpoch: 1, previousMemberEpoch: 0, state: "stable", assigned: topicPartitionsOf([]), pendingRevocation: topicPartitionsOf([]) },
    });
    const badVersion = Uint8Array.from(member.value as Uint8Array);
    badVersion[1] = 9;
    expect(() => decodeRecord(member.key, badVersion)).toThrow(/version 9/);
    const badState = Uint8Array.from(member.value as Uint8Array);
    badState[10] = 7;
    expect(() => decodeRecord(member.key, badState)).toThrow(/member state/);
    expect(() => decodeRecord(Uint8Array.of(0, 3, 0, 2, 0xc3, 0x28), null)).toThrow(/UTF-8/);
  });

  it("arbitrary bytes never crash the decoder: a record or a CorruptRecordError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.option(fc.uint8Array({ maxLength: 60 }), { nil: null }), (key, value) => {
        try {
          decodeRecord(key, value);
        } catch (e) {
          expect(e).toBeInstanceOf(SluiceError);
          expect((e as SluiceError).errorName).toBe("CORRUPT_MESSAGE");
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("partitions decode normalized (sorted, distinct) whatever order they were written in", () => {
    const tp = topicPartitionsOf([["b", 3], ["a", 2], ["b", 1], ["b", 3]]);
    const { key, value } = encodeRecord({ type: "target-assignment-member", groupId: "g", memberId: "m", value: { partitions: tp } });
    const back = decodeRecord(key, value);
    expect(back.type === "target-assignment-member" && back.value !== null ? topicPartitionsToObject(back.value.partitions) : null).toEqual({ a: [2], b: [1, 3] });
  });
});
