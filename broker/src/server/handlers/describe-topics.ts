/**
 * DescribeTopics (sluice.v1.Admin/DescribeTopics): per topic its id, replication factor, config
 * overrides and, per partition, leader, epoch, replicas, log start offset, high watermark and
 * size on disk. An empty name list describes every topic.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { isInternalTopic } from "../../metadata/topic-name.js";
import type { BrokerContext } from "../context.js";
import { ADMIN_TOPICS_PER_REQUEST_MAX } from "../limits.js";
import { checkCount, topicNameError } from "../request-checks.js";

export async function handleDescribeTopics(ctx: BrokerContext, request: api.DescribeTopicsRequest): Promise<api.DescribeTopicsResponseInput> {
  checkCount("topics", request.names.length, ADMIN_TOPICS_PER_REQUEST_MAX);
  const names = request.names.length === 0 ? ctx.topics.topics().map((t) => t.name) : request.names;
  const brokerId = ctx.identity.brokerId;
  const topics = names.map((name): api.TopicDescriptionInput => {
    const record = ctx.topics.topic(name);
    if (record === undefined) {
      const error = topicNameError(name) ?? new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
      return { name, error: toErrorInfo(error), partitions: [], configs: {} };
    }
    const partitions = ctx.partitions.partitionsOf(name) ?? [];
    return {
      name,
      topicId: record.topicId,
      internal: isInternalTopic(name),
      replicationFactor: record.replicationFactor,
      configs: { ...record.configs },
      partitions: partitions.map((p) => ({
        partition: p.partition,
        leaderId: brokerId,
        leaderEpoch: p.leaderEpoch,
        replicas: [brokerId],
        inSyncReplicas: [brokerId],
        logStartOffset: p.logStartOffset,
        highWatermark: p.highWatermark,
        sizeBytes: p.sizeBytes,
      })),
    };
  });
  return { topics };
}
