/**
 * AlterConfigs (sluice.v1.Admin/AlterConfigs): incremental changes per topic — SET a key or
 * DELETE it (back to the default). All changes of one topic apply together or not at all; an
 * unknown key or bad value is INVALID_CONFIG naming the key. Changes reach the partition logs at
 * once (segment size and age, retention, max.message.bytes, timestamp type...).
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { ADMIN_TOPICS_PER_REQUEST_MAX, CONFIG_ALTERATIONS_PER_TOPIC_MAX } from "../limits.js";
import { checkCount, topicNameError } from "../request-checks.js";

export async function handleAlterConfigs(ctx: BrokerContext, request: api.AlterConfigsRequest): Promise<api.AlterConfigsResponseInput> {
  checkCount("topics", request.topics.length, ADMIN_TOPICS_PER_REQUEST_MAX);
  const topics: api.AlterConfigsResultInput[] = [];
  for (const alteration of request.topics) {
    try {
      const invalid = topicNameError(alteration.topic);
      if (invalid !== null) throw invalid;
      if (alteration.alterations.length > CONFIG_ALTERATIONS_PER_TOPIC_MAX) {
        throw new SluiceError("INVALID_REQUEST", `${alteration.alterations.length} alterations, the limit is ${CONFIG_ALTERATIONS_PER_TOPIC_MAX}`);
      }
      const changes = alteration.alterations.map((a) => ({ name: a.name, value: a.value, op: a.op === "DELETE" ? ("DELETE" as const) : ("SET" as const) }));
      await ctx.topics.alterConfigs(alteration.topic, changes, request.validateOnly);
      topics.push({ topic: alteration.topic });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      ctx.metrics.partitionErrors.inc({ method: "AlterConfigs", error: error.errorName });
      topics.push({ topic: alteration.topic, error: toErrorInfo(error) });
    }
  }
  return { topics };
}
