/**
 * `clusterStatusFrom`: a Cluster's status from what the operator observed — its StatefulSet (or
 * none yet) and any problem building or applying its children — as the conditions Ready,
 * Progressing and Degraded with reasons, plus replicas, readyBrokers, bootstrap and
 * observedGeneration.
 *
 *   situation                                      Ready   Progressing          Degraded
 *   spec cannot be built / apply refused           False   False  <problem>     True  <problem>
 *   no StatefulSet yet                             False   True   Creating      False
 *   StatefulSet spec not yet seen by its controller False  True   Reconciling   False
 *   Pods being added or removed                    False   True   Scaling       False
 *   Pods being replaced with a new template        False   True   RollingUpdate False
 *   brokers not Ready yet since this generation    False   True   BrokersStarting False
 *   every broker Ready                             True    False  Stable        False
 *   a broker not Ready after all were Ready        False   False  Stable        True  BrokersNotReady
 *   still Progressing after PROGRESS_DEADLINE_MS   False   True   <same>        True  ProgressDeadlineExceeded
 *
 * "Ready" of a broker is its Pod's readiness, which is the broker's gRPC health check (SERVING)
 * as the readiness probe sees it; StatefulSet status.readyReplicas counts them.
 *
 * Pure: time is the `now` argument; the previous status (on the Cluster) is an input, which is
 * how lastTransitionTime only moves when a condition's status flips.
 */
import type { V1StatefulSet } from "@kubernetes/client-node";
import { bootstrapAddress } from "./names.js";
import { withClusterDefaults, type Cluster, type ClusterStatus, type Condition, type ConditionStatus, type ConditionType } from "./spec.js";

/**
 * How long a rollout may stay Progressing before Degraded says so: longer than the broker's
 * startup probe budget (10 min, limits.ts) plus scheduling and image pulls, so a slow but
 * healthy log recovery is not flagged.
 */
export const PROGRESS_DEADLINE_MS = 15 * 60_000;

/** A condition before lastTransitionTime is decided. */
export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** Why the Cluster's children could not be built or applied (e.g. a ClusterSpecError's reason and detail). */
export interface ClusterProblem {
  readonly reason: string;
  readonly message: string;
}

export interface ClusterObservation {
  readonly now: Date;
  readonly problem?: ClusterProblem;
}

/** RFC 3339 at second precision, as metav1.Time serializes. */
export function conditionTime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The conditions `next` describes, each keeping the previous lastTransitionTime when its status
 * did not change; conditions not in `next` are dropped.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before !== undefined && before.status === c.status ? before.lastTransitionTime : conditionTime(now);
    return observedGeneration === undefined ? { ...c, lastTransitionTime } : { ...c, observedGeneration, lastTransitionTime };
  });
}

function previousCondition(cluster: Cluster, type: ConditionType): Condition | undefined {
  return cluster.status?.conditions?.find((c) => c.type === type);
}

interface Rollout {
  readonly progressing: ConditionInput | undefined;
  readonly ready: number;
  readonly replicas: number;
}

function rolloutOf(cluster: Cluster, statefulSet: V1StatefulSet, desired: number): Rollout {
  const status = statefulSet.status;
  const ready = status?.readyReplicas ?? 0;
  const replicas = status?.replicas ?? 0;
  const updated = status?.updatedReplicas ?? 0;
  const generation = statefulSet.metadata?.generation;
  const observed = status !== undefined && (generation === undefined || (status.observedGeneration ?? 0) >= generation);
  const brokers = (n: number): string => `${n} broker${n === 1 ? "" : "s"}`;
  if (!observed) return { ready, replicas, progressing: { type: "Progressing", status: "True", reason: "Reconciling", message: "the StatefulSet controller has not yet acted on the latest spec" } };
  if (replicas !== desired || statefulSet.spec?.replicas !== desired) {
    return { ready, replicas, progressing: { type: "Progressing", status: "True", reason: "Scaling", message: `${brokers(replicas)} exist, ${desired} wanted` } };
  }
  const rolling = status.updateRevision !== undefined && status.currentRevision !== status.updateRevision;
  if (rolling || updated < desired) {
    return { ready, replicas, progressing: { type: "Progressing", status: "True", reason: "RollingUpdate", message: `${updated} of ${brokers(desired)} run the latest template` } };
  }
  if (ready < desired) {
    // Not Ready since this generation's rollout began: still starting, not yet a failure.
    const before = previousCondition(cluster, "Ready");
    const wasReady = before?.status === "True" && before.observedGeneration === cluster.metadata.generation;
    if (!wasReady) {
      return { ready, replicas, progressing: { type: "Progressing", status: "True", reason: "BrokersStarting", message: `${ready} of ${brokers(desired)} ready` } };
    }
  }
  return { ready, replicas, progressing: undefined };
}

export function clusterStatusFrom(cluster: Cluster, statefulSet: V1StatefulSet | undefined, observation: ClusterObservation): ClusterStatus {
  const { now, problem } = observation;
  const spec = withClusterDefaults(cluster.spec);
  const desired = spec.replicas;
  const generation = cluster.metadata.generation;
  const namespace = cluster.metadata.namespace ?? "default";
  let next: ConditionInput[];
  let ready = 0;
  let replicas = 0;

  if (statefulSet !== undefined) {
    ready = statefulSet.status?.readyReplicas ?? 0;
    replicas = statefulSet.status?.replicas ?? 0;
  }
  if (problem !== undefined) {
    next = [
      { type: "Ready", status: "False", reason: problem.reason, message: problem.message },
      { type: "Progressing", status: "False", reason: problem.reason, message: "blocked until the problem is fixed" },
      { type: "Degraded", status: "True", reason: problem.reason, message: problem.message },
    ];
  } else if (statefulSet === undefined) {
    next = [
      { type: "Ready", status: "False", reason: "Creating", message: "the broker StatefulSet does not exist yet" },
      { type: "Progressing", status: "True", reason: "Creating", message: "creating the broker StatefulSet" },
      { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
    ];
  } else {
    const rollout = rolloutOf(cluster, statefulSet, desired);
    const allReady = rollout.progressing === undefined && rollout.ready >= desired;
    const readyCondition: ConditionInput = allReady
      ? { type: "Ready", status: "True", reason: "AllBrokersReady", message: `${rollout.ready}/${desired} brokers ready` }
      : { type: "Ready", status: "False", reason: rollout.progressing?.reason ?? "BrokersNotReady", message: `${rollout.ready}/${desired} brokers ready` };
    const progressing = rollout.progressing ?? { type: "Progressing", status: "False", reason: "Stable", message: "every broker runs the latest spec" };
    let degraded: ConditionInput = { type: "Degraded", status: "False", reason: "AsExpected", message: "" };
    if (rollout.progressing === undefined && !allReady) {
      degraded = { type: "Degraded", status: "True", reason: "BrokersNotReady", message: `${desired - rollout.ready} of ${desired} brokers are not ready (gRPC health check not SERVING)` };
    } else if (rollout.progressing !== undefined) {
      const since = previousCondition(cluster, "Progressing");
      const startedMs = since?.status === "True" ? Date.parse(since.lastTransitionTime) : now.getTime();
      if (now.getTime() - startedMs > PROGRESS_DEADLINE_MS) {
        degraded = {
          type: "Degraded",
          status: "True",
          reason: "ProgressDeadlineExceeded",
          message: `${rollout.progressing.reason} for more than ${PROGRESS_DEADLINE_MS / 60_000} minutes: ${rollout.progressing.message}; check the broker Pods' events and logs`,
        };
      }
    }
    next = [readyCondition, progressing, degraded];
  }

  const status: ClusterStatus = {
    replicas,
    readyBrokers: ready,
    bootstrap: bootstrapAddress(cluster.metadata.name, namespace, spec.listeners.internal.port),
    conditions: mergeConditions(cluster.status?.conditions, next, now, generation),
  };
  return generation === undefined ? status : { observedGeneration: generation, ...status };
}
