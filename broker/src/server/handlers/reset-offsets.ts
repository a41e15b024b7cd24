/**
 * ResetOffsets (sluice.v1.Groups/ResetOffsets): admin move of committed offsets, backwards too,
 * to exact offsets the client resolved. Only while the group has no members (NON_EMPTY_GROUP,
 * request-level). Per-partition checks as for commits. `validate_only` runs the same checks and
 * writes nothing.
 */
import { checkOffsetEntry, OFFSETS_PER_REQUEST_MAX, type PartitionResult } from "../../group/index.js";
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { offsetCount, offsetsFromWire, partitionResultsToWire } from "../../group-runtime/wire.js";
import type { BrokerContext } from "../context.js";
import { checkCount } from "../request-checks.js";

export async function handleResetOffsets(ctx: BrokerContext, request: api.ResetOffsetsRequest): Promise<api.ResetOffsetsResponseInput> {
  checkCount("partitions", offsetCount(request.topics), OFFSETS_PER_REQUEST_MAX);
  try {
    const shard = ctx.groups.shardFor(request.groupId);
    const offsets = offsetsFromWire(request.topics);
    const groupId = request.groupId;
    const results = await shard.run((c, nowMs): PartitionResult[] => {
      if (!request.validateOnly) return c.resetOffsets(groupId, offsets, nowMs);
      const members = c.listGroups().find((g) => g.groupId === groupId)?.memberCount ?? 0;
      if (members > 0) throw new SluiceError("NON_EMPTY_GROUP", `group "${groupId}": ${members} members; offsets can be reset only when the group is empty`);
      const image = ctx.groups.topicImage();
      return offsets.map((e) => ({ topic: e.topic, partition: e.partition, error: checkOffsetEntry(e, image, c.config.offsetMetadataMaxBytes) }));
    });
    for (const r of results) if (r.error !== undefined) ctx.metrics.partitionErrors.inc({ method: "ResetOffsets", error: r.error });
    return { topics: partitionResultsToWire(results) };
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    return { error: toErrorInfo(error), topics: [] };
  }
}
