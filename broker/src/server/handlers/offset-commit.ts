/**
 * OffsetCommit (sluice.v1.Groups/OffsetCommit): a member commits with its id and current epoch
 * (STALE_MEMBER_EPOCH / FENCED_MEMBER_EPOCH otherwise, request-level); a standalone consumer
 * commits with member_epoch -1 and no member id, only while the group has no members
 * (UNKNOWN_MEMBER_ID otherwise). Per-partition problems (unknown partition, negative offset,
 * metadata too large, a partition the member does not hold) are per-partition errors; the
 * partitions without one are durable when the answer arrives.
 */
import { OFFSETS_PER_REQUEST_MAX } from "../../group/index.js";
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { offsetCount, offsetsFromWire, partitionResultsToWire } from "../../group-runtime/wire.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleOffsetCommit(ctx: BrokerContext, request: api.OffsetCommitRequest): Promise<api.OffsetCommitResponseInput> {
  checkCount("partitions", offsetCount(request.topics), OFFSETS_PER_REQUEST_MAX);
  try {
    const shard = ctx.groups.shardFor(request.groupId);
    const offsets = offsetsFromWire(request.topics);
    const commit = { groupId: request.groupId, memberId: request.memberId.length === 0 ? undefined : request.memberId, memberEpoch: request.memberEpoch, offsets };
    const results = await shard.run((c, nowMs) => c.commitOffsets(commit, nowMs));
    for (const r of results) if (r.error !== undefined) ctx.metrics.partitionErrors.inc({ method: "OffsetCommit", error: r.error });
    return { topics: partitionResultsToWire(results) };
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    ctx.logger.debug({ group: request.groupId, memberId: request.memberId, err: error.message }, "offset commit refused");
    return { error: toErrorInfo(error), topics: [] };
  }
}
