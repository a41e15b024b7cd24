/**
 * One member's step toward its target assignment (KIP-848's "current assignment builder"):
 * given what the member is allowed to own now, what it reports owning, and its target, compute
 * what it is allowed to own next. This is where "revoke before assign" is enforced:
 *
 * 1. Partitions to take away become `pendingRevocation` and the member stays at its epoch
 *    (state `unrevoked_partitions`) until a heartbeat reports it no longer owns any of them.
 *    Partitions it reports not holding are dropped at once (there is nothing to wait for).
 * 2. Only then does the member move to the target epoch and receive new partitions, and only
 *    those no other member holds (assigned or pending revocation); the rest wait (state
 *    `unreleased_partitions`) and are handed over on a later heartbeat once released.
 *
 * So a partition is in at most one member's assigned+pending set at any time, and a member
 * only ever starts owning a partition after the previous owner acknowledged letting it go or
 * was removed.
 *
 * Pure: no clock, randomness or I/O.
 */
import {
  differenceOf,
  intersectionOf,
  isEmptyAssignment,
  pairsOf,
  topicPartitionsOf,
  unionOf,
  type TopicPartitions,
} from "./assignors/assignment.js";
import type { CurrentAssignmentValue } from "./records.js";

export interface ReconcileInput {
  readonly memberId: string;
  readonly current: CurrentAssignmentValue;
  /** What the member's heartbeat says it owns. */
  readonly owned: TopicPartitions;
  readonly targetEpoch: number;
  readonly target: TopicPartitions;
  /** Current holder of a partition among all members (assigned or pending revocation). */
  readonly ownerOf: (topic: string, partition: number) => string | undefined;
}

export function reconcileMember(input: ReconcileInput): CurrentAssignmentValue {
  let current = input.current;
  if (current.state === "unrevoked_partitions") {
    if (!isEmptyAssignment(intersectionOf(current.pendingRevocation, input.owned))) return current;
    // Revocation acknowledged: the partitions are released, compute the next step below.
    current = { ...current, state: "stable", pendingRevocation: topicPartitionsOf([]) };
  } else if (current.memberEpoch === input.targetEpoch && current.state === "stable") {
    return current;
  }
  const kept = intersectionOf(current.assigned, input.target);
  const revoke = intersectionOf(differenceOf(current.assigned, input.target), input.owned);
  if (!isEmptyAssignment(revoke)) {
    return {
      memberEpoch: current.memberEpoch,
      previousMemberEpoch: current.previousMemberEpoch,
      state: "unrevoked_partitions",
      assigned: kept,
      pendingRevocation: revoke,
    };
  }
  const wanted = differenceOf(input.target, kept);
  const free = topicPartitionsOf(
    [...pairsOf(wanted)].filter(([t, p]) => {
      const holder = input.ownerOf(t, p);
      return holder === undefined || holder === input.memberId;
    }),
  );
  const unreleased = differenceOf(wanted, free);
  return {
    memberEpoch: input.targetEpoch,
    previousMemberEpoch: current.memberEpoch === input.targetEpoch ? current.previousMemberEpoch : current.memberEpoch,
    state: isEmptyAssignment(unreleased) ? "stable" : "unreleased_partitions",
    assigned: unionOf(kept, free),
    pendingRevocation: topicPartitionsOf([]),
  };
}

export function currentAssignmentEqual(a: CurrentAssignmentValue, b: CurrentAssignmentValue): boolean {
  return (
    a.memberEpoch === b.memberEpoch &&
    a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state &&
    sameTopicPartitions(a.assigned, b.assigned) &&
    sameTopicPartitions(a.pendingRevocation, b.pendingRevocation)
  );
}

function sameTopicPartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  return isEmptyAssignment(differenceOf(a, b)) && isEmptyAssignment(differenceOf(b, a));
}
