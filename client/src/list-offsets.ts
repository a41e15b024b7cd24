/**
 * ListOffsets routed to partition leaders, shared by Consumer (seeks, offset resets) and Admin.
 * Partitions are grouped by leader; retriable failures (stale metadata, lost connections) are
 * retried with the RetryPolicy after a metadata refresh until the deadline; the first
 * non-retriable error rejects the whole call.
 *
 * Spec timestamps follow Kafka: -1 latest (the high watermark), -2 earliest (log start), any
 * other value is a time in ms: the first offset whose timestamp is >= it, or -1 when none.
 */
import { fromErrorInfo, SluiceError, type api } from "@sluice/protocol";
import type { ClusterClient } from "./cluster.js";
import { TimeoutError } from "./errors.js";
import { isRetriable } from "./retry.js";

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export type OffsetSpec = "earliest" | "latest" | { readonly timestamp: number };

export interface PartitionOffsetQuery {
  readonly topic: string;
  readonly partition: number;
  /** -1 latest, -2 earliest, else ms since epoch. */
  readonly timestamp: number;
}

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when a timestamp query found no record at or after the time. */
  readonly offset: number;
  /** The found record's timestamp for time queries; -1 otherwise. */
  readonly timestamp: number;
}

export function specTimestamp(spec: OffsetSpec): number {
  if (spec === "earliest") return EARLIEST_TIMESTAMP;
  if (spec === "latest") return LATEST_TIMESTAMP;
  if (!Number.isSafeInteger(spec.timestamp) || spec.timestamp < 0) {
    throw new SluiceError("INVALID_REQUEST", `offset timestamp must be an integer >= 0 (ms), got ${String(spec.timestamp)}`);
  }
  return spec.timestamp;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export async function listOffsets(cluster: ClusterClient, queries: readonly PartitionOffsetQuery[], timeoutMs: number, metadataWaitMs: number): Promise<PartitionOffset[]> {
  const deadlineMs = cluster.clock.now() + timeoutMs;
  const results = new Map<string, PartitionOffset>();
  let pending = [...queries];
  for (let attempt = 1; pending.length > 0; attempt++) {
    const byAddress = new Map<string, PartitionOffsetQuery[]>();
    let failure: unknown;
    for (const query of pending) {
      const topic = await cluster.topic(query.topic, metadataWaitMs);
      if (query.partition < 0 || query.partition >= topic.partitions.length) {
        throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${query.partition} of topic "${query.topic}" does not exist (${topic.partitions.length} partitions)`);
      }
      const leader = cluster.metadata.leaderOf(query.topic, query.partition);
      if (leader === undefined) {
        failure = new SluiceError("LEADER_NOT_AVAILABLE", `${query.topic}-${query.partition}`);
        continue;
      }
      const list = byAddress.get(leader.address) ?? [];
      list.push(query);
      byAddress.set(leader.address, list);
    }
    const retry: PartitionOffsetQuery[] = pending.filter((q) => cluster.metadata.leaderOf(q.topic, q.partition) === undefined);
    await Promise.all(
      [...byAddress].map(async ([address, list]) => {
        const byTopic = new Map<string, api.PartitionListOffsetsInput[]>();
        for (const q of list) {
          const partitions = byTopic.get(q.topic) ?? [];
          partitions.push({ partition: q.partition, timestamp: q.timestamp });
          byTopic.set(q.topic, partitions);
        }
        let response: api.ListOffsetsResponse;
        try {
          response = await cluster.connection(address).listOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }, cluster.requestTimeoutMs);
        } catch (error) {
          if (!isRetriable(error)) throw error;
          failure = error;
          retry.push(...list);
          return;
        }
        const answered = new Set<string>();
        for (const topic of response.topics) {
          for (const p of topic.partitions) {
            const key = keyOf(topic.topic, p.partition);
            const error = fromErrorInfo(p.error);
            answered.add(key);
            if (error === null) {
              results.set(key, { topic: topic.topic, partition: p.partition, offset: p.offset, timestamp: p.timestamp });
            } else if (error.retriable) {
              failure = error;
              retry.push({ topic: topic.topic, partition: p.partition, timestamp: list.find((q) => keyOf(q.topic, q.partition) === key)?.timestamp ?? LATEST_TIMESTAMP });
            } else {
              throw error;
            }
          }
        }
        for (const q of list) {
          if (!answered.has(keyOf(q.topic, q.partition))) throw new SluiceError("UNKNOWN_SERVER_ERROR", `no ListOffsets result for ${q.topic}-${q.partition}`);
        }
      }),
    );
    pending = retry;
    if (pending.length === 0) break;
    const decision = cluster.retry.decide(failure, attempt, cluster.clock.now(), deadlineMs, cluster.random);
    if (!decision.retry) {
      if (failure instanceof SluiceError && !isRetriable(failure)) throw failure;
      throw new TimeoutError(`ListOffsets for ${pending.map((q) => `${q.topic}-${q.partition}`).join(", ")}`, timeoutMs, { cause: failure });
    }
    await cluster.refreshMetadata(pending.map((q) => q.topic)).catch(() => undefined);
    await cluster.sleep(decision.delayMs);
  }
  return queries.map((q) => results.get(keyOf(q.topic, q.partition))!);
}
