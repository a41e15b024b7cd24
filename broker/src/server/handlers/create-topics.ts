/**
 * CreateTopics (sluice.v1.Admin/CreateTopics): validates and creates each topic independently
 * (one bad topic does not stop the others). partitions / replication_factor 0 mean the broker
 * defaults. With validate_only nothing is created, but every check runs.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { ADMIN_TOPICS_PER_REQUEST_MAX } from "../limits.js";
import { checkCount } from "../request-checks.js";

export async function handleCreateTopics(ctx: BrokerContext, request: api.CreateTopicsRequest): Promise<api.CreateTopicsResponseInput> {
  checkCount("topics", request.topics.length, ADMIN_TOPICS_PER_REQUEST_MAX);
  const topics: api.CreateTopicResultInput[] = [];
  for (const spec of request.topics) {
    try {
      const record = await ctx.topics.createTopic(
        { name: spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor, configs: spec.configs },
        request.validateOnly,
      );
      topics.push({
        name: spec.name,
        topicId: request.validateOnly ? "" : record.topicId,
        partitions: record.partitionCount,
        replicationFactor: record.replicationFactor,
      });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      ctx.metrics.partitionErrors.inc({ method: "CreateTopics", error: error.errorName });
      topics.push({ name: spec.name, error: toErrorInfo(error), topicId: "", partitions: -1, replicationFactor: -1 });
    }
  }
  return { topics };
}
