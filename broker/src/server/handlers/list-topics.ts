/**
 * ListTopics (sluice.v1.Admin/ListTopics): every topic, sorted by name; internal topics
 * (names starting "__") only when asked for.
 */
import type { api } from "@sluice/protocol";
import { isInternalTopic } from "../../metadata/topic-name.js";
import type { BrokerContext } from "../context.js";

export async function handleListTopics(ctx: BrokerContext, request: api.ListTopicsRequest): Promise<api.ListTopicsResponseInput> {
  const topics = ctx.topics
    .topics()
    .filter((t) => request.includeInternal || !isInternalTopic(t.name))
    .map((t) => ({
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitionCount,
      replicationFactor: t.replicationFactor,
      internal: isInternalTopic(t.name),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { topics };
}
