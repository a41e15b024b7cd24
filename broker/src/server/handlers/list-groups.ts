/**
 * ListGroups (sluice.v1.Groups/ListGroups): every group this broker coordinates (members or only
 * committed offsets), sorted by id, optionally filtered by state. An unknown state name is
 * INVALID_REQUEST; partitions still loading are left out (they answer once loaded).
 */
import { SluiceError } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { GroupListing, GroupStateName } from "../../group/index.js";
import type { BrokerContext } from "../context.js";
import { RequestError } from "../request-checks.js";

const GROUP_STATES: readonly GroupStateName[] = ["empty", "assigning", "reconciling", "stable"];

export async function handleListGroups(ctx: BrokerContext, request: api.ListGroupsRequest): Promise<api.ListGroupsResponseInput> {
  for (const state of request.states) {
    if (!(GROUP_STATES as readonly string[]).includes(state)) throw new RequestError(`unknown group state "${state}"; states are ${GROUP_STATES.join(", ")}`);
  }
  const wanted = new Set(request.states);
  const listings: GroupListing[] = [];
  for (const shard of ctx.groups.allShards()) {
    if (shard.state !== "active") continue;
    try {
      listings.push(...(await shard.run((c) => c.listGroups())));
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
    }
  }
  const groups = listings
    .filter((g) => wanted.size === 0 || wanted.has(g.state))
    .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
    .map((g) => ({ groupId: g.groupId, state: g.state, memberCount: g.memberCount, coordinatorId: ctx.identity.brokerId }));
  return { groups };
}
