/**
 * OffsetFetch (sluice.v1.Groups/OffsetFetch): a group's committed offsets — all of them, or the
 * named partitions (offset -1 where nothing is committed). Reads go through the coordinator's
 * queue, so a fetch after a commit's answer sees that commit.
 */
import { OFFSETS_PER_REQUEST_MAX } from "../../group/index.js";
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { partitionRefCount, partitionRefsFromWire } from "../../group-runtime/wire.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleOffsetFetch(ctx: BrokerContext, request: api.OffsetFetchRequest): Promise<api.OffsetFetchResponseInput> {
  checkCount("partitions", partitionRefCount(request.topics), OFFSETS_PER_REQUEST_MAX);
  try {
    const shard = ctx.groups.shardFor(request.groupId);
    const refs = request.topics.length === 0 ? undefined : partitionRefsFromWire(request.topics);
    const entries = await shard.run((c) => c.fetchOffsets(request.groupId, refs));
    return { offsets: entries.map((e) => ({ ...e })) };
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    return { error: toErrorInfo(error), offsets: [] };
  }
}
