/**
 * DeleteGroups (sluice.v1.Groups/DeleteGroups): deletes each named group and its committed
 * offsets; per group NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when unknown.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { GROUP_IDS_PER_REQUEST_MAX } from "../../group-runtime/limits.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleDeleteGroups(ctx: BrokerContext, request: api.DeleteGroupsRequest): Promise<api.DeleteGroupsResponseInput> {
  checkCount("group ids", request.groupIds.length, GROUP_IDS_PER_REQUEST_MAX);
  const groups: api.DeleteGroupResultInput[] = [];
  for (const groupId of request.groupIds) {
    try {
      await ctx.groups.shardFor(groupId).run((c, nowMs) => c.deleteGroup(groupId, nowMs));
      ctx.logger.info({ group: groupId }, "group deleted");
      groups.push({ groupId });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      groups.push({ groupId, error: toErrorInfo(error) });
    }
  }
  return { groups };
}
