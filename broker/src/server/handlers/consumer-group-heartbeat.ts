/**
 * ConsumerGroupHeartbeat (sluice.v1.Groups/ConsumerGroupHeartbeat): join (epoch 0), heartbeat,
 * or leave (-1; -2 for a static member's temporary leave) — KIP-848 server-side membership. The
 * answer carries the member's epoch and exactly the partitions it may own; it is sent only once
 * the records the heartbeat produced are durable. Every refusal (NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS, FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, INVALID_REQUEST, ...) is
 * the response's `error`. How proto3 fields map to the core's request: group-runtime/wire.ts.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { heartbeatFromWire, topicPartitionsToWire } from "../../group-runtime/wire.js";
import type { BrokerContext } from "../context.js";

export async function handleConsumerGroupHeartbeat(ctx: BrokerContext, request: api.ConsumerGroupHeartbeatRequest): Promise<api.ConsumerGroupHeartbeatResponseInput> {
  try {
    const shard = ctx.groups.shardFor(request.groupId);
    const heartbeat = heartbeatFromWire(request);
    const response = await shard.run((c, nowMs) => c.heartbeat(heartbeat, nowMs));
    return {
      memberId: response.memberId,
      memberEpoch: response.memberEpoch,
      heartbeatIntervalMs: response.heartbeatIntervalMs,
      assignment: topicPartitionsToWire(response.assignment),
    };
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    ctx.logger.debug({ group: request.groupId, memberId: request.memberId, err: error.message }, "heartbeat refused");
    return { error: toErrorInfo(error), memberId: request.memberId, memberEpoch: request.memberEpoch, heartbeatIntervalMs: ctx.groups.config.heartbeatIntervalMs, assignment: [] };
  }
}
