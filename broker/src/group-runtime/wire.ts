/**
 * Conversions between the Groups gRPC messages (`api.*`, proto3: absent strings arrive as "")
 * and the group core's request/response shapes. Shared by the handlers in
 * `server/handlers/` (one file per RPC).
 *
 * proto3 cannot tell an absent repeated field from an empty one, so a heartbeat's subscription
 * is read as: a non-empty regex subscribes by regex; otherwise non-empty topic names subscribe by
 * names; otherwise the subscription is unchanged (and a join without one is INVALID_REQUEST).
 * A member that wants no topics leaves the group instead.
 */
import { SluiceError, toErrorInfo, type api } from "@sluice/protocol";
import type { HeartbeatRequest, OffsetToCommit, PartitionResult, TopicPartitionRef, TopicPartitions } from "../group/index.js";
import type { PartitionLagRow } from "./lag.js";

export function topicPartitionsToWire(tp: TopicPartitions): api.TopicPartitionsInput[] {
  return [...tp].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
}

/** Merges repeated topics; the core checks counts and values. */
export function topicPartitionsFromWire(list: readonly api.TopicPartitions[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const entry of list) {
    const existing = out.get(entry.topic);
    if (existing === undefined) out.set(entry.topic, [...entry.partitions]);
    else existing.push(...entry.partitions);
  }
  return out;
}

export function partitionRefsFromWire(list: readonly api.TopicPartitions[]): TopicPartitionRef[] {
  return list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

export function partitionRefCount(list: readonly api.TopicPartitions[]): number {
  return list.reduce((n, t) => n + t.partitions.length, 0);
}

const orUndefined = (s: string): string | undefined => (s.length === 0 ? undefined : s);

export function heartbeatFromWire(req: api.ConsumerGroupHeartbeatRequest): HeartbeatRequest {
  const regex = orUndefined(req.subscribedTopicRegex);
  const names = regex === undefined && req.subscribedTopicNames.length > 0 ? req.subscribedTopicNames : undefined;
  return {
    groupId: req.groupId,
    memberId: req.memberId,
    memberEpoch: req.memberEpoch,
    instanceId: orUndefined(req.instanceId),
    rackId: orUndefined(req.rackId),
    clientId: req.clientId,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs === 0 ? undefined : req.rebalanceTimeoutMs,
    subscribedTopicNames: names,
    subscribedTopicRegex: regex,
    serverAssignor: orUndefined(req.serverAssignor),
    ownedPartitions: topicPartitionsFromWire(req.ownedPartitions),
  };
}

export function offsetsFromWire(topics: readonly api.OffsetCommitTopic[]): OffsetToCommit[] {
  return topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata })),
  );
}

export function offsetCount(topics: readonly api.OffsetCommitTopic[]): number {
  return topics.reduce((n, t) => n + t.partitions.length, 0);
}

/** Per-partition results grouped by topic in request order; successes carry no error. */
export function partitionResultsToWire(results: readonly PartitionResult[]): api.TopicPartitionErrorsInput[] {
  const byTopic = new Map<string, api.PartitionErrorInput[]>();
  for (const r of results) {
    let list = byTopic.get(r.topic);
    if (list === undefined) byTopic.set(r.topic, (list = []));
    list.push({ partition: r.partition, error: r.error === undefined ? null : toErrorInfo(new PartitionResultError(r)) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

export function lagRowToWire(row: PartitionLagRow): api.PartitionLagInput {
  return { ...row };
}

/** Carries a PartitionResult's error name into `toErrorInfo` with a message naming the partition. */
class PartitionResultError extends SluiceError {
  constructor(r: PartitionResult) {
    super(r.error ?? "UNKNOWN_SERVER_ERROR", `${r.topic}-${r.partition}`);
  }
}
