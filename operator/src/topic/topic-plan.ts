/**
 * What to do about one Topic, given what the cluster has (pure; the reconciler does the I/O).
 *
 * Ownership decides between managing and adopting:
 *   - The operator manages a topic it created: its id is in status.topicId, or status says a
 *     creation was under way (Progressing, reason CreatingTopic) when the operator stopped before
 *     it could record the id. Managed topics are brought to the spec: partitions grown, config
 *     overrides set and removed until they are exactly spec.config.
 *   - Any other topic of that name is adopted only when it already matches the spec exactly
 *     (partitions, replication factor and config overrides); otherwise nothing is changed and the
 *     Topic reports TopicExistsMismatch with each difference, so a Topic resource can never
 *     silently rewrite a topic someone else made.
 *
 * Partitions never shrink and the replication factor cannot change (Kafka's rules): when a
 * managed topic has more partitions than the spec or another replication factor, the plan is a
 * conflict that the status explains.
 */
import { diffConfig, isEmptyDiff, canonicalConfig, type ConfigDiff } from "./config-canonical.js";
/** The topic a Topic asks for (ResolvedTopicSpec of operator/src/cluster/spec.ts fits). */
export interface DesiredTopic {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

export interface ObservedTopic {
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** The topic's config overrides (not defaults). */
  readonly config: Readonly<Record<string, string>>;
}

export interface Ownership {
  /** status.topicId */
  readonly recordedTopicId: string | undefined;
  /** status says a create was started and not confirmed. */
  readonly creationUnderWay: boolean;
}

export type TopicPlan =
  | { readonly action: "create" }
  | {
      readonly action: "update";
      readonly adopted: boolean;
      /** Grow to this many partitions, when more than the cluster has. */
      readonly growPartitionsTo: number | undefined;
      readonly config: ConfigDiff;
    }
  | { readonly action: "mismatch"; readonly differences: readonly string[] }
  | { readonly action: "conflict"; readonly reason: "PartitionsCannotShrink" | "ReplicationFactorMismatch"; readonly message: string };

export function isManaged(observed: ObservedTopic, ownership: Ownership): boolean {
  if (ownership.recordedTopicId !== undefined && ownership.recordedTopicId !== "") return ownership.recordedTopicId === observed.topicId;
  return ownership.creationUnderWay;
}

/** Every way `observed` differs from `desired`, in words (empty: identical). */
export function differences(desired: DesiredTopic, observed: ObservedTopic): string[] {
  const out: string[] = [];
  if (observed.partitions !== desired.partitions) out.push(`partitions: the cluster has ${observed.partitions}, spec asks ${desired.partitions}`);
  if (observed.replicationFactor !== desired.replicationFactor) {
    out.push(`replicationFactor: the cluster has ${observed.replicationFactor}, spec asks ${desired.replicationFactor}`);
  }
  const wanted = canonicalConfig(desired.config);
  const actual = canonicalConfig(observed.config);
  for (const key of [...new Set([...Object.keys(wanted), ...Object.keys(actual)])].sort()) {
    const w = wanted[key];
    const a = actual[key];
    if (w === a) continue;
    if (a === undefined) out.push(`config ${key}: not set in the cluster, spec asks "${w}"`);
    else if (w === undefined) out.push(`config ${key}: the cluster has "${a}", spec does not set it`);
    else out.push(`config ${key}: the cluster has "${a}", spec asks "${w}"`);
  }
  return out;
}

export function planTopic(desired: DesiredTopic, observed: ObservedTopic | undefined, ownership: Ownership): TopicPlan {
  if (observed === undefined) return { action: "create" };
  const managed = isManaged(observed, ownership);
  if (!managed) {
    const diff = differences(desired, observed);
    if (diff.length > 0) return { action: "mismatch", differences: diff };
    return { action: "update", adopted: true, growPartitionsTo: undefined, config: { set: {}, delete: [] } };
  }
  if (observed.replicationFactor !== desired.replicationFactor) {
    return {
      action: "conflict",
      reason: "ReplicationFactorMismatch",
      message: `the topic has replication factor ${observed.replicationFactor} and spec asks ${desired.replicationFactor}; the replication factor of a topic cannot change`,
    };
  }
  if (observed.partitions > desired.partitions) {
    return {
      action: "conflict",
      reason: "PartitionsCannotShrink",
      message: `the topic has ${observed.partitions} partitions and spec asks ${desired.partitions}; partitions cannot be removed: set spec.partitions to at least ${observed.partitions}`,
    };
  }
  return {
    action: "update",
    adopted: false,
    growPartitionsTo: observed.partitions < desired.partitions ? desired.partitions : undefined,
    config: diffConfig(desired.config, observed.config),
  };
}

/** True when an update plan changes nothing. */
export function isNoOp(plan: TopicPlan): boolean {
  return plan.action === "update" && plan.growPartitionsTo === undefined && isEmptyDiff(plan.config);
}
