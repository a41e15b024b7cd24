/**
 * DescribeGroups (sluice.v1.Groups/DescribeGroups): per group its state, epochs, assignor and
 * members (subscription, assignment, pending revocation, target); with `include_offsets` also,
 * per partition, the committed offset, log end offset (high watermark), lag, time lag and owner —
 * computed by `groupLag` (group-runtime/lag.ts), the same function the lag metrics use. A group
 * that does not exist is state "dead" with GROUP_ID_NOT_FOUND.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { GroupDescription, MemberDescription, OffsetFetchEntry } from "../../group/index.js";
import { groupLag } from "../../group-runtime/lag.js";
import { GROUP_IDS_PER_REQUEST_MAX } from "../../group-runtime/limits.js";
import { lagRowToWire, topicPartitionsToWire } from "../../group-runtime/wire.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleDescribeGroups(ctx: BrokerContext, request: api.DescribeGroupsRequest): Promise<api.DescribeGroupsResponseInput> {
  checkCount("group ids", request.groupIds.length, GROUP_IDS_PER_REQUEST_MAX);
  const groups: api.GroupDescriptionInput[] = [];
  for (const groupId of request.groupIds) {
    try {
      const shard = ctx.groups.shardFor(groupId);
      const found = await shard.run((c) => ({
        description: c.describeGroup(groupId),
        offsets: request.includeOffsets ? c.fetchOffsets(groupId) : [],
      }));
      groups.push(await describe(ctx, found.description, found.offsets, request.includeOffsets));
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      groups.push({ groupId, state: "dead", error: toErrorInfo(error), coordinatorId: ctx.identity.brokerId, members: [], offsets: [] });
    }
  }
  return { groups };
}

async function describe(ctx: BrokerContext, d: GroupDescription, offsets: readonly OffsetFetchEntry[], includeOffsets: boolean): Promise<api.GroupDescriptionInput> {
  const lag = includeOffsets ? await groupLag({ description: d, offsets, partitions: ctx.partitions, cache: ctx.groups.timeLag, nowMs: ctx.nowMs() }) : [];
  return {
    groupId: d.groupId,
    state: d.state,
    groupEpoch: d.groupEpoch,
    assignmentEpoch: d.assignmentEpoch,
    assignor: d.assignor,
    coordinatorId: ctx.identity.brokerId,
    members: d.members.map(memberToWire),
    offsets: lag.map(lagRowToWire),
  };
}

function memberToWire(m: MemberDescription): api.GroupMemberInput {
  return {
    memberId: m.memberId,
    instanceId: m.instanceId ?? "",
    rackId: m.rackId ?? "",
    clientId: m.clientId,
    memberEpoch: m.memberEpoch,
    state: m.state,
    subscribedTopicNames: [...m.subscribedTopicNames],
    subscribedTopicRegex: m.subscribedTopicRegex ?? "",
    assignment: topicPartitionsToWire(m.assignment),
    pendingRevocation: topicPartitionsToWire(m.pendingRevocation),
    targetAssignment: topicPartitionsToWire(m.targetAssignment),
  };
}
