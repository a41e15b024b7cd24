// Proves clusterStatusFrom reports what the StatefulSet shows — creating, scaling, rolling,
// starting, all Ready, a broker lost after Ready, a stuck rollout, a spec problem — as the
// Ready/Progressing/Degraded conditions with reasons, counts and the bootstrap address, and that
// lastTransitionTime moves only when a condition's status flips.
import type { V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { Cluster, Condition } from "./spec.js";
import { clusterStatusFrom, conditionTime, mergeConditions, PROGRESS_DEADLINE_MS } from "./status.js";
import { makeCluster } from "./testing/clusters.js";

const t0 = new Date("2030-01-02T03:04:05.678Z");
const later = (ms: number): Date => new Date(t0.getTime() + ms);

function sts(status: NonNullable<V1StatefulSet["status"]> | undefined, replicas = 3, generation = 4): V1StatefulSet {
  return { metadata: { name: "events", generation }, spec: { replicas, selector: {}, template: {}, serviceName: "events-brokers" }, status };
}
const settled = (ready: number, replicas = 3): NonNullable<V1StatefulSet["status"]> => ({
  observedGeneration: 4,
  replicas,
  readyReplicas: ready,
  updatedReplicas: replicas,
  currentRevision: "events-abc",
  updateRevision: "events-abc",
});

/** "type=status/reason" of each condition, in order. */
const summary = (conditions: readonly Condition[] | undefined): string[] => (conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason}`);

describe("clusterStatusFrom", () => {
  const cluster = makeCluster({ replicas: 3, listeners: { internal: { port: 9200 } } }, { generation: 7 });

  it("says Creating while there is no StatefulSet, with the bootstrap address and observedGeneration", () => {
    const status = clusterStatusFrom(cluster, undefined, { now: t0 });
    expect(summary(status.conditions)).toEqual(["Ready=False/Creating", "Progressing=True/Creating", "Degraded=False/AsExpected"]);
    expect(status).toMatchObject({ observedGeneration: 7, replicas: 0, readyBrokers: 0, bootstrap: "events.streaming.svc:9200" });
    for (const c of status.conditions ?? []) {
      expect(c.lastTransitionTime).toBe("2030-01-02T03:04:05Z");
      expect(c.observedGeneration).toBe(7);
    }
  });

  it("follows a rollout: Reconciling, Scaling, RollingUpdate, BrokersStarting, then Ready", () => {
    const cases: Array<[V1StatefulSet, string]> = [
      [sts({ ...settled(0), observedGeneration: 3 }), "Reconciling"],
      [sts(settled(1, 1)), "Scaling"],
      [sts({ ...settled(3), updateRevision: "events-def", updatedReplicas: 1 }), "RollingUpdate"],
      [sts(settled(1)), "BrokersStarting"],
    ];
    for (const [statefulSet, reason] of cases) {
      const status = clusterStatusFrom(cluster, statefulSet, { now: t0 });
      expect(summary(status.conditions), reason).toEqual([`Ready=False/${reason}`, `Progressing=True/${reason}`, "Degraded=False/AsExpected"]);
    }
    const ready = clusterStatusFrom(cluster, sts(settled(3)), { now: t0 });
    expect(summary(ready.conditions)).toEqual(["Ready=True/AllBrokersReady", "Progressing=False/Stable", "Degraded=False/AsExpected"]);
    expect(ready).toMatchObject({ replicas: 3, readyBrokers: 3 });
    expect(ready.conditions?.[0]?.message).toBe("3/3 brokers ready");
  });

  it("reports Degraded when a broker stops being ready after all were, keeping untouched transition times", () => {
    const ready: Cluster = { ...cluster, status: clusterStatusFrom(cluster, sts(settled(3)), { now: t0 }) };
    const lost = clusterStatusFrom(ready, sts(settled(2)), { now: later(60_000) });
    expect(summary(lost.conditions)).toEqual(["Ready=False/BrokersNotReady", "Progressing=False/Stable", "Degraded=True/BrokersNotReady"]);
    expect(lost.conditions?.find((c) => c.type === "Degraded")?.message).toContain("1 of 3 brokers are not ready");
    const times = Object.fromEntries((lost.conditions ?? []).map((c) => [c.type, c.lastTransitionTime]));
    expect(times).toEqual({ Ready: conditionTime(later(60_000)), Progressing: conditionTime(t0), Degraded: conditionTime(later(60_000)) });
  });

  it("a new generation starts over: not-ready brokers after a spec change are starting, not degraded", () => {
    const ready: Cluster = { ...cluster, status: clusterStatusFrom(cluster, sts(settled(3)), { now: t0 }) };
    const changed: Cluster = { ...ready, metadata: { ...ready.metadata, generation: 8 } };
    expect(summary(clusterStatusFrom(changed, sts(settled(2)), { now: later(1000) }).conditions)[2]).toBe("Degraded=False/AsExpected");
  });

  it("flags a rollout still progressing after the deadline as Degraded, counting from when Progressing turned True", () => {
    const starting: Cluster = { ...cluster, status: clusterStatusFrom(cluster, sts(settled(1)), { now: t0 }) };
    // (lastTransitionTime keeps whole seconds: t0's 678 ms are dropped, so the deadline counts from 05 s.)
    const inTime = clusterStatusFrom(starting, sts(settled(2)), { now: later(PROGRESS_DEADLINE_MS - 678) });
    expect(summary(inTime.conditions)[2]).toBe("Degraded=False/AsExpected");
    const stuck = clusterStatusFrom(starting, sts(settled(2)), { now: later(PROGRESS_DEADLINE_MS - 677) });
    expect(summary(stuck.conditions)).toEqual(["Ready=False/BrokersStarting", "Progressing=True/BrokersStarting", "Degraded=True/ProgressDeadlineExceeded"]);
  });

  it("puts a problem (invalid spec, refused apply) in Ready and Degraded with its reason and message", () => {
    const status = clusterStatusFrom(cluster, sts(settled(3)), { now: t0, problem: { reason: "InvalidConfig", message: 'spec.config["fsync"]: bad' } });
    expect(summary(status.conditions)).toEqual(["Ready=False/InvalidConfig", "Progressing=False/InvalidConfig", "Degraded=True/InvalidConfig"]);
    expect(status.conditions?.[0]?.message).toBe('spec.config["fsync"]: bad');
    expect(status.readyBrokers).toBe(3);
  });
});

describe("mergeConditions", () => {
  it("keeps lastTransitionTime while the status stays, moves it when the status flips, drops conditions not given", () => {
    const first = mergeConditions(undefined, [{ type: "Ready", status: "False", reason: "A", message: "" }, { type: "Degraded", status: "False", reason: "B", message: "" }], t0, 1);
    const same = mergeConditions(first, [{ type: "Ready", status: "False", reason: "C", message: "changed" }], later(5000), 2);
    expect(same).toEqual([{ type: "Ready", status: "False", reason: "C", message: "changed", observedGeneration: 2, lastTransitionTime: "2030-01-02T03:04:05Z" }]);
    const flipped = mergeConditions(same, [{ type: "Ready", status: "True", reason: "D", message: "" }], later(5000), undefined);
    expect(flipped).toEqual([{ type: "Ready", status: "True", reason: "D", message: "", lastTransitionTime: "2030-01-02T03:04:10Z" }]);
  });
});
