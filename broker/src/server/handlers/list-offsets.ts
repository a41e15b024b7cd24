/**
 * ListOffsets (sluice.v1.Sluice/ListOffsets): per partition, the earliest offset (timestamp -2:
 * the log start), the latest (-1: the high watermark, the next offset a consumer would see), or
 * the first offset whose timestamp is >= a given time (offset -1 and timestamp -1 when no record
 * that new is visible yet). Other negative timestamps are INVALID_REQUEST.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { REQUEST_PARTITIONS_MAX } from "../../partition/limits.js";
import type { BrokerContext } from "../context.js";
import { checkCount, partitionIndexError, topicNameError } from "../request-checks.js";

const METHOD = "ListOffsets";
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export async function handleListOffsets(ctx: BrokerContext, request: api.ListOffsetsRequest): Promise<api.ListOffsetsResponseInput> {
  checkCount("partitions", request.topics.reduce((n, t) => n + t.partitions.length, 0), REQUEST_PARTITIONS_MAX);
  const topics: api.TopicListOffsetsResultInput[] = [];
  for (const topicData of request.topics) {
    const partitions: api.PartitionListOffsetsResultInput[] = [];
    for (const p of topicData.partitions) {
      try {
        const { offset, timestamp } = await lookup(ctx, topicData.topic, p.partition, p.timestamp);
        partitions.push({ partition: p.partition, offset, timestamp });
      } catch (error) {
        if (!(error instanceof SluiceError)) throw error;
        ctx.metrics.partitionErrors.inc({ method: METHOD, error: error.errorName });
        partitions.push({ partition: p.partition, error: toErrorInfo(error), offset: -1, timestamp: -1 });
      }
    }
    topics.push({ topic: topicData.topic, partitions });
  }
  return { topics };
}

async function lookup(ctx: BrokerContext, topic: string, index: number, timestamp: number): Promise<{ offset: number; timestamp: number }> {
  const invalid = topicNameError(topic) ?? partitionIndexError(index);
  if (invalid !== null) throw invalid;
  const partition = ctx.partitions.get(topic, index);
  if (partition instanceof SluiceError) throw partition;
  if (timestamp === EARLIEST_TIMESTAMP) return { offset: partition.logStartOffset, timestamp: -1 };
  if (timestamp === LATEST_TIMESTAMP) return { offset: partition.highWatermark, timestamp: -1 };
  if (timestamp < 0 || !Number.isSafeInteger(timestamp)) {
    throw new SluiceError("INVALID_REQUEST", `timestamp ${timestamp} is neither a time in ms nor -1 (latest) / -2 (earliest)`);
  }
  return (await partition.offsetForTimestamp(timestamp)) ?? { offset: -1, timestamp: -1 };
}
