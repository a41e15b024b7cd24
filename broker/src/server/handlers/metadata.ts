/**
 * Metadata (sluice.v1.Sluice/Metadata): the brokers (host, gRPC port, data-listener port), and per topic its partitions with leader,
 * leader epoch, replicas and in-sync replicas. An empty topic list means every topic. A name
 * that does not exist answers UNKNOWN_TOPIC_OR_PARTITION; a name that cannot exist answers
 * INVALID_TOPIC_EXCEPTION. Topics are never created implicitly.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { TopicRecord } from "../../metadata/metadata-store.js";
import { isInternalTopic } from "../../metadata/topic-name.js";
import type { BrokerContext } from "../context.js";
import { topicNameError } from "../request-checks.js";

/**
 * This broker, with its gRPC port and its data-listener port. Without a data listener the field
 * is left out: absent is the proto3 default 0, "none; use gRPC".
 */
export function brokerList(ctx: BrokerContext): api.BrokerInfoInput[] {
  const { brokerId, advertisedHost, port, dataPort } = ctx.identity;
  return [{ brokerId, host: advertisedHost, port, rack: "", ...(dataPort > 0 ? { dataPort } : {}) }];
}

export function topicMetadata(ctx: BrokerContext, topic: TopicRecord): api.TopicMetadataInput {
  const brokerId = ctx.identity.brokerId;
  return {
    name: topic.name,
    topicId: topic.topicId,
    internal: isInternalTopic(topic.name),
    partitions: topic.leaderEpochs.map((leaderEpoch, partition) => ({
      partition,
      leaderId: brokerId,
      leaderEpoch,
      replicas: [brokerId],
      inSyncReplicas: [brokerId],
    })),
  };
}

export async function handleMetadata(ctx: BrokerContext, request: api.MetadataRequest): Promise<api.MetadataResponseInput> {
  const topics: api.TopicMetadataInput[] =
    request.topics.length === 0
      ? ctx.topics.topics().map((t) => topicMetadata(ctx, t))
      : request.topics.map((name) => {
          const record = ctx.topics.topic(name);
          if (record !== undefined) return topicMetadata(ctx, record);
          const error = topicNameError(name) ?? new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
          return { name, error: toErrorInfo(error), partitions: [] };
        });
  return {
    clusterId: ctx.identity.clusterId,
    controllerId: ctx.identity.brokerId,
    brokers: brokerList(ctx),
    topics,
  };
}
