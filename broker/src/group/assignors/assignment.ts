/**
 * The shapes every assignor shares, and small pure helpers over them.
 *
 * An assignment is a map topic -> partitions. Invariants of a normalized `TopicPartitions`
 * (what every function here returns): partitions ascending and distinct, no topic with an empty
 * list, topics inserted in ascending name order (so iteration order, JSON and equality are
 * deterministic).
 *
 * This file is in a lint-enforced pure folder: no clock, randomness, I/O or Node imports.
 */
import { asPartitionId, type PartitionId } from "@sluice/protocol";

/** topic name -> ascending distinct partition ids. */
export type TopicPartitions = ReadonlyMap<string, readonly PartitionId[]>;

/** memberId -> what that member should own. Every member given to an assignor has an entry. */
export type GroupAssignment = ReadonlyMap<string, TopicPartitions>;

export interface AssignorMember {
  readonly memberId: string;
  /** Static membership id; range and round-robin order static members by it so restarts keep their partitions. */
  readonly instanceId?: string | undefined;
  /**
   * Carried for rack-aware placement. The assignors here ignore it: the topic image does not
   * carry replica racks yet, so there is nothing to match a member's rack against.
   */
  readonly rackId?: string | undefined;
  /** Resolved topic names (regex subscriptions already expanded). Names not in `topics` are ignored. */
  readonly subscribedTopics: readonly string[];
  /** What the member is assigned now (the coordinator passes the previous target): the sticky assignor keeps it. */
  readonly owned: TopicPartitions;
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[];
  /** topic name -> partition count, for every topic that exists. */
  readonly topics: ReadonlyMap<string, number>;
}

export interface Assignor {
  readonly name: string;
  /** Pure and deterministic: the same input (in any order) gives the same output. */
  assign(input: AssignorInput): GroupAssignment;
}

export const EMPTY_TOPIC_PARTITIONS: TopicPartitions = new Map();

/** Builds a normalized TopicPartitions from any list of (topic, partition) pairs (duplicates collapse). */
export function topicPartitionsOf(pairs: Iterable<readonly [string, number]>): TopicPartitions {
  const byTopic = new Map<string, Set<number>>();
  for (const [topic, partition] of pairs) {
    let set = byTopic.get(topic);
    if (set === undefined) byTopic.set(topic, (set = new Set()));
    set.add(partition);
  }
  const out = new Map<string, PartitionId[]>();
  for (const topic of [...byTopic.keys()].sort(compareStrings)) {
    const set = byTopic.get(topic);
    if (set === undefined || set.size === 0) continue;
    out.set(topic, [...set].sort((a, b) => a - b).map(asPartitionId));
  }
  return out;
}

/** Normalizes a possibly unsorted, possibly duplicated map (e.g. decoded from a request). */
export function normalizeTopicPartitions(tp: ReadonlyMap<string, readonly number[]>): TopicPartitions {
  return topicPartitionsOf(pairsOf(tp));
}

export function* pairsOf(tp: ReadonlyMap<string, readonly number[]>): Generator<[string, number]> {
  for (const [topic, partitions] of tp) for (const p of partitions) yield [topic, p];
}

export function countPartitions(tp: ReadonlyMap<string, readonly number[]>): number {
  let n = 0;
  for (const partitions of tp.values()) n += partitions.length;
  return n;
}

export function hasPartition(tp: TopicPartitions, topic: string, partition: number): boolean {
  const list = tp.get(topic);
  if (list === undefined) return false;
  // Lists are short relative to the cost of building a set per call; binary search keeps it O(log n).
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid] as number;
    if (v === partition) return true;
    if (v < partition) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function unionOf(a: TopicPartitions, b: TopicPartitions): TopicPartitions {
  return topicPartitionsOf([...pairsOf(a), ...pairsOf(b)]);
}

/** a minus b */
export function differenceOf(a: TopicPartitions, b: TopicPartitions): TopicPartitions {
  return topicPartitionsOf([...pairsOf(a)].filter(([t, p]) => !hasPartition(b, t, p)));
}

export function intersectionOf(a: TopicPartitions, b: TopicPartitions): TopicPartitions {
  return topicPartitionsOf([...pairsOf(a)].filter(([t, p]) => hasPartition(b, t, p)));
}

export function isSubsetOf(a: TopicPartitions, b: TopicPartitions): boolean {
  for (const [t, p] of pairsOf(a)) if (!hasPartition(b, t, p)) return false;
  return true;
}

export function isEmptyAssignment(tp: TopicPartitions): boolean {
  for (const list of tp.values()) if (list.length > 0) return false;
  return true;
}

export function topicPartitionsEqual(a: TopicPartitions, b: TopicPartitions): boolean {
  if (countPartitions(a) !== countPartitions(b)) return false;
  return isSubsetOf(a, b);
}

/** Plain-object form for snapshots, logs and test diagnostics. */
export function topicPartitionsToObject(tp: TopicPartitions): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [topic, partitions] of tp) out[topic] = [...partitions];
  return out;
}

/** Code-unit order, independent of locale, so every broker sorts names the same way. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The order range and round-robin walk members in: static members first by instance id, then
 * dynamic members by member id (Kafka's classic assignors do the same, which is what keeps a
 * restarted static member on the same partitions).
 */
export function compareMembersForAssignment(a: AssignorMember, b: AssignorMember): number {
  const ai = a.instanceId;
  const bi = b.instanceId;
  if (ai !== undefined && bi !== undefined) return compareStrings(ai, bi) || compareStrings(a.memberId, b.memberId);
  if (ai !== undefined) return -1;
  if (bi !== undefined) return 1;
  return compareStrings(a.memberId, b.memberId);
}

/** Subscribed topics that exist, sorted and distinct. */
export function existingSubscriptions(member: AssignorMember, topics: ReadonlyMap<string, number>): string[] {
  const set = new Set<string>();
  for (const t of member.subscribedTopics) {
    const count = topics.get(t);
    if (count !== undefined && count > 0) set.add(t);
  }
  return [...set].sort(compareStrings);
}
