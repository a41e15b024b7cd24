/**
 * The group consumer's membership state, pure (no timers, sockets or callbacks): what the next
 * ConsumerGroupHeartbeat says, what an answer or an error means, and which ownership change
 * comes next. `GroupConsumer` (group-consumer.ts) drives it: it sends `heartbeatFields()`,
 * feeds back `onResponse` / `onError`, and runs `nextStep()`'s revocations and assignments
 * (callbacks, commits, fetch start/stop) before telling it `released` / `acquired`.
 *
 * Invariants (KIP-848's client side, see broker/src/group/README.md for the coordinator's):
 * - `owned` is what the consumer may process right now, and exactly what every heartbeat
 *   reports; it only grows by `acquired`, and only with partitions the latest answer still
 *   assigns (a partition the coordinator withdrew meanwhile is never taken).
 * - Revoke before assign: `nextStep()` offers nothing to assign while anything owned is no
 *   longer assigned.
 * - The epoch sent is the last one received (0 to join; after fencing, 0 again with nothing
 *   owned: the caller drops everything first, as "lost" partitions).
 */
import type { api, ErrorName } from "@sluice/protocol";
import type { TopicPartition } from "./consumer.js";

/** KIP-848's epochs with a meaning of their own. */
export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;
/** A static member's leave that keeps its assignment until its session ends (it will be back). */
export const STATIC_LEAVE_EPOCH = -2;

export type Subscription = { readonly topics: readonly string[] } | { readonly topicRegex: string };

/** A set of topic partitions, keyed by `partitionKey`. */
export type PartitionSet = ReadonlyMap<string, TopicPartition>;

export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

export function partitionSet(list: Iterable<TopicPartition>): PartitionSet {
  const out = new Map<string, TopicPartition>();
  for (const tp of list) out.set(partitionKey(tp), { topic: tp.topic, partition: tp.partition });
  return out;
}

export function difference(a: PartitionSet, b: PartitionSet): PartitionSet {
  return new Map([...a].filter(([key]) => !b.has(key)));
}

export function intersection(a: PartitionSet, b: PartitionSet): PartitionSet {
  return new Map([...a].filter(([key]) => b.has(key)));
}

export function union(a: PartitionSet, b: PartitionSet): PartitionSet {
  return new Map([...a, ...b]);
}

/** Sorted by topic, then partition (stable output for callbacks, logs and tests). */
export function sortedPartitions(set: PartitionSet): TopicPartition[] {
  return [...set.values()].sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
}

/** The wire shape: one entry per topic, partitions ascending. */
export function toWire(set: PartitionSet): api.TopicPartitionsInput[] {
  const byTopic = new Map<string, number[]>();
  for (const tp of sortedPartitions(set)) {
    const list = byTopic.get(tp.topic) ?? [];
    list.push(tp.partition);
    byTopic.set(tp.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

export function fromWire(list: readonly api.TopicPartitions[]): PartitionSet {
  return partitionSet(list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))));
}

/**
 * What the driver does after a failed heartbeat:
 * - `find-coordinator`: the coordinator moved, is loading, or could not be reached: look it up
 *   again and retry with backoff (ownership is kept).
 * - `rejoin`: the coordinator no longer knows this member at this epoch: every owned partition
 *   is lost (it may already be someone else's); drop them all, then join again with epoch 0.
 * - `retry-join`: a static member's previous incarnation still holds the instance id; retry the
 *   join with backoff until that session expires.
 * - `fatal`: a request the coordinator will never accept (bad subscription, unknown assignor,
 *   full group, instance id taken over): stop and surface the error.
 */
export type HeartbeatFailureAction = "find-coordinator" | "rejoin" | "retry-join" | "fatal";

const coordinatorErrors: ReadonlySet<ErrorName> = new Set<ErrorName>([
  "NOT_COORDINATOR",
  "COORDINATOR_NOT_AVAILABLE",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "NETWORK_EXCEPTION",
  "REQUEST_TIMED_OUT",
]);

/** GROUP_ID_NOT_FOUND answers a non-zero epoch for a group that is gone (deleted or expired): rejoin. */
const rejoinErrors: ReadonlySet<ErrorName> = new Set<ErrorName>(["FENCED_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID", "GROUP_ID_NOT_FOUND"]);

export function heartbeatFailureAction(errorName: ErrorName, retriable: boolean): HeartbeatFailureAction {
  if (coordinatorErrors.has(errorName)) return "find-coordinator";
  if (rejoinErrors.has(errorName)) return "rejoin";
  if (errorName === "UNRELEASED_INSTANCE_ID") return "retry-join";
  return retriable ? "find-coordinator" : "fatal";
}

export interface MembershipOptions {
  readonly groupId: string;
  /** Client-generated (a UUID), stable for the consumer's lifetime. */
  readonly memberId: string;
  readonly instanceId?: string;
  readonly rackId?: string;
  readonly clientId?: string;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor?: string;
}

/** The next ownership change to carry out, revocations first. */
export type MembershipStep = { readonly kind: "revoke"; readonly partitions: PartitionSet } | { readonly kind: "assign"; readonly partitions: PartitionSet };

export class GroupMembership {
  private epoch = JOIN_EPOCH;
  private ownedSet: PartitionSet = new Map();
  private targetSet: PartitionSet | undefined;
  private subscription: Subscription | undefined;
  /** The subscription must travel on the next heartbeat (join, or changed since the last answer). */
  private subscriptionPending = false;
  private intervalMs: number | undefined;
  /** Bumped on every answer: lets the driver tell whether a target it acted on is still current. */
  private answers = 0;

  constructor(readonly options: MembershipOptions) {}

  get memberEpoch(): number {
    return this.epoch;
  }

  get owned(): PartitionSet {
    return this.ownedSet;
  }

  /** The assignment of the latest answer; undefined before the first one after (re)joining. */
  get target(): PartitionSet | undefined {
    return this.targetSet;
  }

  get heartbeatIntervalMs(): number | undefined {
    return this.intervalMs;
  }

  get answerCount(): number {
    return this.answers;
  }

  get subscribed(): Subscription | undefined {
    return this.subscription;
  }

  /** A joined member has an epoch above 0 from the coordinator. */
  get joined(): boolean {
    return this.epoch > JOIN_EPOCH;
  }

  subscribe(subscription: Subscription): void {
    this.subscription = subscription;
    this.subscriptionPending = true;
  }

  /**
   * The next heartbeat's fields and whether it carries the subscription (pass that back to
   * `onResponse`). The subscription travels when joining and after it changed.
   */
  heartbeatFields(): { readonly request: api.ConsumerGroupHeartbeatRequestInput; readonly carriesSubscription: boolean } {
    const carriesSubscription = this.subscription !== undefined && (this.subscriptionPending || this.epoch === JOIN_EPOCH);
    const o = this.options;
    const request: api.ConsumerGroupHeartbeatRequestInput = {
      groupId: o.groupId,
      memberId: o.memberId,
      memberEpoch: this.epoch,
      instanceId: o.instanceId ?? "",
      rackId: o.rackId ?? "",
      clientId: o.clientId ?? "",
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      serverAssignor: o.serverAssignor ?? "",
      ownedPartitions: toWire(this.ownedSet),
      ...(carriesSubscription && this.subscription !== undefined
        ? "topics" in this.subscription
          ? { subscribedTopicNames: [...this.subscription.topics] }
          : { subscribedTopicRegex: this.subscription.topicRegex }
        : {}),
    };
    return { request, carriesSubscription };
  }

  /** The leave heartbeat: -1, or -2 for a static member (its partitions wait for it to return). */
  leaveFields(): api.ConsumerGroupHeartbeatRequestInput {
    const o = this.options;
    return {
      groupId: o.groupId,
      memberId: o.memberId,
      memberEpoch: o.instanceId === undefined ? LEAVE_EPOCH : STATIC_LEAVE_EPOCH,
      instanceId: o.instanceId ?? "",
      ownedPartitions: [],
    };
  }

  /** A successful heartbeat answer. */
  onResponse(response: api.ConsumerGroupHeartbeatResponse, carriedSubscription: boolean): void {
    this.epoch = response.memberEpoch;
    this.intervalMs = response.heartbeatIntervalMs > 0 ? response.heartbeatIntervalMs : this.intervalMs;
    this.targetSet = fromWire(response.assignment);
    if (carriedSubscription) this.subscriptionPending = false;
    this.answers++;
  }

  /**
   * Forgets the membership after FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID (or a session the
   * consumer itself judged expired): returns every owned partition, now lost, and starts over
   * at epoch 0 with nothing owned. The caller must stop processing them before anything else.
   */
  fence(): PartitionSet {
    const lost = this.ownedSet;
    this.ownedSet = new Map();
    this.targetSet = undefined;
    this.epoch = JOIN_EPOCH;
    return lost;
  }

  /** What to do next: revoke owned partitions the coordinator took away, else take new ones. */
  nextStep(): MembershipStep | undefined {
    if (this.targetSet === undefined) return undefined;
    const revoke = difference(this.ownedSet, this.targetSet);
    if (revoke.size > 0) return { kind: "revoke", partitions: revoke };
    const assign = difference(this.targetSet, this.ownedSet);
    if (assign.size > 0) return { kind: "assign", partitions: assign };
    return undefined;
  }

  /** The consumer gave these partitions up (callbacks ran, positions committed). */
  released(partitions: PartitionSet): void {
    this.ownedSet = difference(this.ownedSet, partitions);
  }

  /**
   * The consumer is ready to process these partitions. Only those the latest answer still
   * assigns are taken (returned as `taken`); the rest were withdrawn while the consumer
   * prepared them and must be given up again (`withdrawn`).
   */
  acquired(partitions: PartitionSet): { readonly taken: PartitionSet; readonly withdrawn: PartitionSet } {
    const target = this.targetSet ?? new Map<string, TopicPartition>();
    const taken = intersection(partitions, target);
    this.ownedSet = union(this.ownedSet, taken);
    return { taken, withdrawn: difference(partitions, target) };
  }

  /** Whether owned already equals the latest assignment (the member is stable from its side). */
  get reconciled(): boolean {
    return this.targetSet !== undefined && this.nextStep() === undefined;
  }
}
