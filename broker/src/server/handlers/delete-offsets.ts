/**
 * DeleteOffsets (sluice.v1.Groups/DeleteOffsets): forgets committed offsets of the named
 * partitions; refused per partition (GROUP_SUBSCRIBED_TO_TOPIC) for topics a live member
 * subscribes to; GROUP_ID_NOT_FOUND for a group with neither members nor offsets.
 */
import { OFFSETS_PER_REQUEST_MAX } from "../../group/index.js";
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { partitionRefCount, partitionRefsFromWire, partitionResultsToWire } from "../../group-runtime/wire.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleDeleteOffsets(ctx: BrokerContext, request: api.DeleteOffsetsRequest): Promise<api.DeleteOffsetsResponseInput> {
  checkCount("partitions", partitionRefCount(request.topics), OFFSETS_PER_REQUEST_MAX);
  try {
    const shard = ctx.groups.shardFor(request.groupId);
    const refs = partitionRefsFromWire(request.topics);
    const results = await shard.run((c, nowMs) => c.deleteOffsets(request.groupId, refs, nowMs));
    for (const r of results) if (r.error !== undefined) ctx.metrics.partitionErrors.inc({ method: "DeleteOffsets", error: r.error });
    return { topics: partitionResultsToWire(results) };
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    return { error: toErrorInfo(error), topics: [] };
  }
}
