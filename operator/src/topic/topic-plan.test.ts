// Proves the Topic planning rules: create when absent, manage what the operator created (grow,
// set and remove config to match the spec exactly), adopt a foreign topic only when it matches
// exactly and otherwise list every difference, never shrink partitions or change the replication
// factor, and compare config values in the broker's canonical spelling.
import { describe, expect, it } from "vitest";
import { canonicalConfigValue, diffConfig } from "./config-canonical.js";
import { differences, isNoOp, planTopic, type ObservedTopic } from "./topic-plan.js";
import type { DesiredTopic } from "./topic-plan.js";

const desired: DesiredTopic = { partitions: 3, replicationFactor: 1, config: { "retention.ms": "60000" } };
const observed: ObservedTopic = { topicId: "id-1", partitions: 3, replicationFactor: 1, config: { "retention.ms": "60000" } };
const ours = { recordedTopicId: "id-1", creationUnderWay: false };
const foreign = { recordedTopicId: undefined, creationUnderWay: false };

describe("planTopic", () => {
  it("creates a topic the cluster does not have", () => {
    expect(planTopic(desired, undefined, foreign)).toEqual({ action: "create" });
  });

  it("does nothing to a managed topic that matches", () => {
    expect(isNoOp(planTopic(desired, observed, ours))).toBe(true);
  });

  it("grows partitions and makes the overrides exactly the spec's", () => {
    const plan = planTopic({ ...desired, partitions: 5, config: { "retention.ms": "120000", "cleanup.policy": "compact" } }, { ...observed, config: { "retention.ms": "60000", "segment.bytes": "1048576" } }, ours);
    expect(plan).toEqual({
      action: "update",
      adopted: false,
      growPartitionsTo: 5,
      config: { set: { "cleanup.policy": "compact", "retention.ms": "120000" }, delete: ["segment.bytes"] },
    });
  });

  it("refuses to shrink partitions or change the replication factor of a managed topic", () => {
    expect(planTopic({ ...desired, partitions: 2 }, observed, ours)).toMatchObject({ action: "conflict", reason: "PartitionsCannotShrink" });
    expect(planTopic({ ...desired, replicationFactor: 3 }, observed, ours)).toMatchObject({ action: "conflict", reason: "ReplicationFactorMismatch" });
  });

  it("adopts a foreign topic that matches exactly, without changing it", () => {
    const plan = planTopic(desired, { ...observed, topicId: "other" }, foreign);
    expect(plan).toMatchObject({ action: "update", adopted: true });
    expect(isNoOp(plan)).toBe(true);
  });

  it("does not adopt a foreign topic that differs, and names every difference", () => {
    const plan = planTopic(desired, { topicId: "other", partitions: 6, replicationFactor: 1, config: { "cleanup.policy": "compact" } }, foreign);
    expect(plan.action).toBe("mismatch");
    expect(plan.action === "mismatch" ? plan.differences : []).toEqual([
      "partitions: the cluster has 6, spec asks 3",
      'config cleanup.policy: the cluster has "compact", spec does not set it',
      'config retention.ms: not set in the cluster, spec asks "60000"',
    ]);
  });

  it("treats a topic whose id differs from status.topicId as foreign (deleted and re-made behind the operator)", () => {
    expect(planTopic(desired, { ...observed, topicId: "new", partitions: 1 }, ours).action).toBe("mismatch");
  });

  it("claims a topic whose creation was under way when the operator stopped", () => {
    const plan = planTopic({ ...desired, partitions: 4 }, { ...observed, topicId: "x" }, { recordedTopicId: undefined, creationUnderWay: true });
    expect(plan).toMatchObject({ action: "update", adopted: false, growPartitionsTo: 4 });
  });
});

describe("config comparison", () => {
  it("uses the broker's canonical spelling", () => {
    expect(canonicalConfigValue("retention.ms", " 0060000 ")).toBe("60000");
    expect(canonicalConfigValue("retention.ms", "+5")).toBe("5");
    expect(canonicalConfigValue("cleanup.policy", "delete, compact")).toBe("compact,delete");
    expect(canonicalConfigValue("compression.type", "zstd")).toBe("zstd");
    expect(diffConfig({ "retention.ms": "060000", "cleanup.policy": "delete,compact" }, { "retention.ms": "60000", "cleanup.policy": "compact,delete" })).toEqual({ set: {}, delete: [] });
    expect(differences(desired, { ...observed, config: { "retention.ms": "0060000" } })).toEqual([]);
  });
});
