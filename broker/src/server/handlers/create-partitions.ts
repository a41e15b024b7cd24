/**
 * CreatePartitions (sluice.v1.Admin/CreatePartitions): raises a topic's partition count (never
 * lowers it: that would lose data and remap keys). New partitions start empty at offset 0.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { ADMIN_TOPICS_PER_REQUEST_MAX } from "../limits.js";
import { checkCount, topicNameError } from "../request-checks.js";

export async function handleCreatePartitions(ctx: BrokerContext, request: api.CreatePartitionsRequest): Promise<api.CreatePartitionsResponseInput> {
  checkCount("topics", request.topics.length, ADMIN_TOPICS_PER_REQUEST_MAX);
  const topics: api.CreatePartitionsResultInput[] = [];
  for (const update of request.topics) {
    try {
      const invalid = topicNameError(update.name);
      if (invalid !== null) throw invalid;
      await ctx.topics.createPartitions(update.name, update.count, request.validateOnly);
      topics.push({ name: update.name });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      ctx.metrics.partitionErrors.inc({ method: "CreatePartitions", error: error.errorName });
      topics.push({ name: update.name, error: toErrorInfo(error) });
    }
  }
  return { topics };
}
