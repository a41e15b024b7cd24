/**
 * Range assignor: for each topic, the members subscribed to it (static members first by instance
 * id, then by member id) take consecutive ranges of partitions; the first `count % members`
 * members get one extra. Partition i of every topic lands on the same member when subscriptions
 * and counts match, which is what co-partitioned joins want.
 *
 * Balance guarantee: per topic, partition counts of the topic's subscribers differ by at most
 * one. Totals across topics are NOT balanced (the first members get every topic's extra one);
 * use uniform-sticky when that matters. Not sticky: it ignores current ownership.
 *
 * Pure (lint-enforced folder).
 */
import { asPartitionId, type PartitionId } from "@sluice/protocol";
import {
  compareMembersForAssignment,
  compareStrings,
  existingSubscriptions,
  topicPartitionsOf,
  type Assignor,
  type AssignorInput,
  type AssignorMember,
  type GroupAssignment,
} from "./assignment.js";
import { validateAssignorInput } from "./validate.js";

export function assignRange(input: AssignorInput): GroupAssignment {
  validateAssignorInput(input);
  const members = [...input.members].sort(compareMembersForAssignment);
  const subscribersByTopic = new Map<string, AssignorMember[]>();
  for (const m of members) {
    for (const t of existingSubscriptions(m, input.topics)) {
      let list = subscribersByTopic.get(t);
      if (list === undefined) subscribersByTopic.set(t, (list = []));
      list.push(m);
    }
  }
  const pairs = new Map<string, Array<[string, PartitionId]>>(members.map((m) => [m.memberId, []]));
  for (const topic of [...subscribersByTopic.keys()].sort(compareStrings)) {
    const subs = subscribersByTopic.get(topic) ?? [];
    const count = input.topics.get(topic) ?? 0;
    const base = Math.floor(count / subs.length);
    const extra = count % subs.length;
    let next = 0;
    subs.forEach((m, i) => {
      const take = base + (i < extra ? 1 : 0);
      const out = pairs.get(m.memberId) ?? [];
      for (let p = next; p < next + take; p++) out.push([topic, asPartitionId(p)]);
      next += take;
    });
  }
  return new Map(members.map((m) => [m.memberId, topicPartitionsOf(pairs.get(m.memberId) ?? [])]));
}

export const rangeAssignor: Assignor = { name: "range", assign: assignRange };
