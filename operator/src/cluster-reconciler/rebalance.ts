/**
 * The seam for partition movement when a Cluster's broker count changes (the replication issue
 * fills it in; today every topic has replication factor 1 on a single broker, so nothing moves).
 *
 * DESIGN.md ("The operator", scaling): before the StatefulSet shrinks, the brokers that go away
 * must be drained (their replicas moved by Raft membership changes: add learner, catch up,
 * promote, remove); after it grows, the planner (a pure, property-tested function) moves replicas
 * and leaders onto the new brokers with the fewest moves. The Cluster reconciler calls
 * `beforeScale` when the replicas it is about to apply differ from the live StatefulSet's and
 * applies the new count only once `proceed` is true; `afterScale` runs once the new brokers are
 * ready.
 */
import type { Cluster } from "../cluster/index.js";

export interface ScaleDecision {
  /** True: apply the new replica count now. False: keep the current count and come back later. */
  readonly proceed: boolean;
  /** Reconcile again after this long while waiting (draining takes time). */
  readonly requeueAfterMs?: number;
  /** Shown in the Cluster's Progressing condition while waiting. */
  readonly message?: string;
}

export interface PartitionRebalancer {
  beforeScale(cluster: Cluster, fromReplicas: number, toReplicas: number): Promise<ScaleDecision>;
  afterScale(cluster: Cluster, replicas: number): Promise<void>;
}
