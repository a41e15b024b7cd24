/**
 * Round-robin assignor: every partition of every subscribed topic, in (topic, partition) order,
 * goes to the next member in a fixed cycle (static members first by instance id, then member id)
 * that is subscribed to its topic.
 *
 * Balance guarantee: when all members subscribe to the same topics, total counts differ by at
 * most one. With different subscriptions it only guarantees every partition goes to a
 * subscriber (skipping non-subscribers can pile partitions up); uniform-sticky balances those.
 * Not sticky: it ignores current ownership.
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
  type GroupAssignment,
} from "./assignment.js";
import { validateAssignorInput } from "./validate.js";

export function assignRoundRobin(input: AssignorInput): GroupAssignment {
  validateAssignorInput(input);
  const members = [...input.members].sort(compareMembersForAssignment);
  const subscriptions = members.map((m) => new Set(existingSubscriptions(m, input.topics)));
  const topics = [...new Set(subscriptions.flatMap((s) => [...s]))].sort(compareStrings);
  const pairs: Array<Array<[string, PartitionId]>> = members.map(() => []);
  let cursor = 0;
  for (const topic of topics) {
    const count = input.topics.get(topic) ?? 0;
    for (let p = 0; p < count; p++) {
      // At least one member subscribes to `topic`, so this finds one within members.length steps.
      for (let step = 0; step < members.length; step++) {
        const i = (cursor + step) % members.length;
        if (subscriptions[i]?.has(topic) === true) {
          pairs[i]?.push([topic, asPartitionId(p)]);
          cursor = (i + 1) % members.length;
          break;
        }
      }
    }
  }
  return new Map(members.map((m, i) => [m.memberId, topicPartitionsOf(pairs[i] ?? [])]));
}

export const roundRobinAssignor: Assignor = { name: "round-robin", assign: assignRoundRobin };
