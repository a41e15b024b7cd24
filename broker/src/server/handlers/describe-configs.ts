/**
 * DescribeConfigs (sluice.v1.Admin/DescribeConfigs): a topic's config overrides, or with
 * include_defaults every key with its effective value, its source (default, broker-wide
 * default, topic override) and its documentation.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { describeTopicConfig } from "../../metadata/topic-config.js";
import type { BrokerContext } from "../context.js";
import { ADMIN_TOPICS_PER_REQUEST_MAX } from "../limits.js";
import { checkCount, topicNameError } from "../request-checks.js";

export async function handleDescribeConfigs(ctx: BrokerContext, request: api.DescribeConfigsRequest): Promise<api.DescribeConfigsResponseInput> {
  checkCount("topics", request.topics.length, ADMIN_TOPICS_PER_REQUEST_MAX);
  const topics = request.topics.map((name): api.TopicConfigsInput => {
    const record = ctx.topics.topic(name);
    if (record === undefined) {
      const error = topicNameError(name) ?? new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
      ctx.metrics.partitionErrors.inc({ method: "DescribeConfigs", error: error.errorName });
      return { topic: name, error: toErrorInfo(error), entries: [] };
    }
    const entries = describeTopicConfig(record.configs, ctx.topics.topicDefaults)
      .filter((e) => request.includeDefaults || e.source === "TOPIC_OVERRIDE")
      .map((e) => ({ name: e.name, value: e.value, source: e.source, readOnly: false, documentation: e.doc }));
    return { topic: name, entries };
  });
  return { topics };
}
