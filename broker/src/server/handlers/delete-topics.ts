/**
 * DeleteTopics (sluice.v1.Admin/DeleteTopics): removes each named topic, its metadata first,
 * then its logs; fetches waiting on it answer UNKNOWN_TOPIC_OR_PARTITION.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { ADMIN_TOPICS_PER_REQUEST_MAX } from "../limits.js";
import { checkCount, topicNameError } from "../request-checks.js";

export async function handleDeleteTopics(ctx: BrokerContext, request: api.DeleteTopicsRequest): Promise<api.DeleteTopicsResponseInput> {
  checkCount("topics", request.names.length, ADMIN_TOPICS_PER_REQUEST_MAX);
  const topics: api.DeleteTopicResultInput[] = [];
  for (const name of request.names) {
    try {
      const invalid = topicNameError(name);
      if (invalid !== null) throw invalid;
      await ctx.topics.deleteTopic(name);
      ctx.metrics.forgetTopic(name);
      topics.push({ name });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      ctx.metrics.partitionErrors.inc({ method: "DeleteTopics", error: error.errorName });
      topics.push({ name, error: toErrorInfo(error) });
    }
  }
  return { topics };
}
