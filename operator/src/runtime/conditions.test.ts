// Proves the condition helpers the reconcilers rely on: transition times move only when a status
// flips, long messages are cut to the limit, setting the same conditions twice is a no-op by
// jsonEqual, and jsonEqual ignores key order and undefined fields but nothing else.
import { describe, expect, it } from "vitest";
import { findCondition, jsonEqual, setConditions } from "./conditions.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T00:05:00Z");

describe("setConditions", () => {
  it("keeps lastTransitionTime when only the reason or message changes, moves it when the status flips", () => {
    const first = setConditions(undefined, [{ type: "Ready", status: "False", reason: "Creating", message: "a" }], 1, T0);
    expect(findCondition(first, "Ready")).toMatchObject({ observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z" });
    const same = setConditions(first, [{ type: "Ready", status: "False", reason: "ClusterUnreachable", message: "b" }], 2, T1);
    expect(findCondition(same, "Ready")).toMatchObject({ observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", reason: "ClusterUnreachable" });
    const flipped = setConditions(same, [{ type: "Ready", status: "True", reason: "TopicReady", message: "" }], 2, T1);
    expect(findCondition(flipped, "Ready")?.lastTransitionTime).toBe("2026-01-01T00:05:00Z");
  });

  it("cuts messages longer than the limit", () => {
    const out = setConditions(undefined, [{ type: "Ready", status: "False", reason: "X", message: "m".repeat(10_000) }], 1, T0);
    expect(out[0]?.message.length).toBe(4_096);
  });

  it("is idempotent: the same wanted conditions later yield an equal list", () => {
    const wanted = [{ type: "Ready" as const, status: "True" as const, reason: "TopicReady", message: "ok" }];
    const once = setConditions(undefined, wanted, 1, T0);
    expect(jsonEqual(setConditions(once, wanted, 1, T1), once)).toBe(true);
  });
});

describe("jsonEqual", () => {
  it("ignores key order and undefined fields but not values", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1, d: undefined })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
  });
});
