/**
 * FindCoordinator (sluice.v1.Groups/FindCoordinator): per group id, the broker coordinating it
 * and its `__consumer_offsets` partition (`groupPartition(id, partitions)`). An empty or too long
 * id is INVALID_GROUP_ID; a partition this broker does not lead (or could not load) is
 * COORDINATOR_NOT_AVAILABLE (retriable: ask again).
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { GROUP_IDS_PER_REQUEST_MAX } from "../../group-runtime/limits.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleFindCoordinator(ctx: BrokerContext, request: api.FindCoordinatorRequest): Promise<api.FindCoordinatorResponseInput> {
  checkCount("group ids", request.groupIds.length, GROUP_IDS_PER_REQUEST_MAX);
  const { brokerId, advertisedHost, port } = ctx.identity;
  const coordinators = request.groupIds.map((groupId): api.CoordinatorInput => {
    try {
      const shard = ctx.groups.shardFor(groupId);
      if (shard.state === "not-leader" || shard.state === "closed") {
        throw new SluiceError("COORDINATOR_NOT_AVAILABLE", `__consumer_offsets-${shard.partitionIndex} has no coordinator on this broker right now`);
      }
      return { groupId, partition: shard.partitionIndex, broker: { brokerId, host: advertisedHost, port, rack: "" } };
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      return { groupId, partition: -1, error: toErrorInfo(error) };
    }
  });
  return { coordinators };
}
