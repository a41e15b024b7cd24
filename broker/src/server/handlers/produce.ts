/**
 * Produce (sluice.v1.Sluice/Produce, and each request of ProduceStream): append each partition's
 * record batches and answer per partition.
 *
 * - acks must be -1, 0 or 1, otherwise every partition gets INVALID_REQUIRED_ACKS and nothing is
 *   written. Semantics on one broker: see partition/partition.ts.
 * - Each partition's bytes go to storage as they arrived; storage validates every batch (CRC,
 *   size against max.message.bytes, magic) and writes nothing for that partition if any batch is
 *   bad. Errors are per partition: one bad partition does not fail the others.
 * - Appends start in request order, so two batches for the same partition in one request (or in
 *   pipelined requests of a stream) keep their order.
 * - Ordered streams (a ProduceStream opened with `sluice-ordered: 1`, see produce-stream.ts) pass a
 *   StreamOrder: a partition's append waits for that partition's previous outcome on the stream,
 *   and once a partition fails on the stream it fails in every later request of that stream
 *   (POISONED), so a client pipelining sends can never see request k fail and k+1 succeed.
 * - Broker-owned topics (`__consumer_offsets`) refuse client appends: INVALID_TOPIC_EXCEPTION.
 * - timeout_ms > 0 bounds the wait for durability: past it the partition answers
 *   REQUEST_TIMED_OUT (retriable) while the append may still complete, as in Kafka.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { refuseBrokerOwnedTopicProduce } from "../../metadata/internal-topics.js";
import type { Acks } from "../../partition/partition.js";
import type { BrokerContext } from "../context.js";
import { partitionIndexError, topicNameError } from "../request-checks.js";

const METHOD = "Produce";

interface PartitionOutcome {
  readonly partition: number;
  readonly error: SluiceError | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
}

function isAcks(value: number): value is Acks {
  return value === -1 || value === 0 || value === 1;
}

/**
 * Per-stream ordering state of an ordered ProduceStream. Invariants: per partition, appends start
 * in request order, each only after the previous outcome settled; a partition that failed once
 * stays failed (poisoned) until the stream ends and this object is dropped.
 */
export class StreamOrder {
  private readonly last = new Map<string, Promise<unknown>>();
  private readonly poisoned = new Map<string, SluiceError>();

  /** The error a poisoned partition answers with: retriable, on a new stream. */
  poisonError(key: string): SluiceError | undefined {
    const cause = this.poisoned.get(key);
    if (cause === undefined) return undefined;
    return new SluiceError("NETWORK_EXCEPTION", `an earlier request of this stream failed for this partition (${cause.errorName}); resend on a new stream`);
  }

  /** Runs `start` after the partition's previous outcome on this stream; records the new outcome. */
  chain(key: string, start: () => Promise<PartitionOutcome>, partition: number): Promise<PartitionOutcome> {
    const previous = this.last.get(key);
    const outcome =
      previous === undefined
        ? start()
        : previous.then(() => {
            const poison = this.poisonError(key);
            return poison === undefined ? start() : { partition, error: poison, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
          });
    const recorded = outcome.then(
      (result) => {
        if (result.error !== null && !this.poisoned.has(key)) this.poisoned.set(key, result.error);
        return result;
      },
      (error: unknown) => {
        if (!this.poisoned.has(key)) this.poisoned.set(key, new SluiceError("UNKNOWN_SERVER_ERROR", String(error)));
        throw error;
      },
    );
    this.last.set(key, recorded.catch(() => undefined));
    return recorded;
  }

  /** Marks a partition failed without an append (a request-level check refused it). */
  poison(key: string, error: SluiceError): void {
    if (!this.poisoned.has(key)) this.poisoned.set(key, error);
  }
}

export function handleProduce(ctx: BrokerContext, request: api.ProduceRequest): Promise<api.ProduceResponseInput> {
  return produceRequest(ctx, request, undefined);
}

/** One Produce request; `order` is the stream's ordering state on an ordered ProduceStream. */
export async function produceRequest(ctx: BrokerContext, request: api.ProduceRequest, order: StreamOrder | undefined): Promise<api.ProduceResponseInput> {
  const acks = request.acks;
  const validAcks = isAcks(acks);
  const pending: Array<{ topic: string; outcome: Promise<PartitionOutcome> }> = [];

  for (const topicData of request.topics) {
    const topic = topicData.topic;
    for (const data of topicData.partitions) {
      const key = `${topic}\u0000${data.partition}`;
      const fail = (error: SluiceError): Promise<PartitionOutcome> => {
        order?.poison(key, error);
        return Promise.resolve({ partition: data.partition, error, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 });
      };
      const poisoned = order?.poisonError(key);
      if (poisoned !== undefined) {
        pending.push({ topic, outcome: fail(poisoned) });
        continue;
      }
      if (!validAcks) {
        pending.push({ topic, outcome: fail(new SluiceError("INVALID_REQUIRED_ACKS", `acks=${acks}`)) });
        continue;
      }
      const invalid = topicNameError(topic) ?? refuseBrokerOwnedTopicProduce(topic) ?? partitionIndexError(data.partition);
      if (invalid !== null) {
        pending.push({ topic, outcome: fail(invalid) });
        continue;
      }
      if (data.records.length === 0) {
        pending.push({ topic, outcome: fail(new SluiceError("CORRUPT_MESSAGE", "no record batch in the request")) });
        continue;
      }
      const partition = ctx.partitions.get(topic, data.partition);
      if (partition instanceof SluiceError) {
        pending.push({ topic, outcome: fail(partition) });
        continue;
      }
      // Started synchronously, in request order (on an ordered stream: after this partition's
      // previous outcome on the stream): this is what keeps per-partition order.
      const start = (): Promise<PartitionOutcome> => withTimeout(partition.append(data.records, acks).then(
        (result): PartitionOutcome => {
          ctx.metrics.topicBytesIn.inc({ topic }, result.sizeBytes);
          ctx.metrics.topicRecordsIn.inc({ topic }, result.lastOffset - result.baseOffset + 1);
          return {
            partition: data.partition,
            error: null,
            baseOffset: result.baseOffset,
            logAppendTimeMs: result.logAppendTimeMs,
            logStartOffset: result.logStartOffset,
          };
        },
        (error: unknown): PartitionOutcome => {
          if (!(error instanceof SluiceError)) throw error;
          ctx.logger.debug({ topic, partition: data.partition, err: error.message }, "produce refused");
          return { partition: data.partition, error, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: partition.logStartOffset };
        },
      ), request.timeoutMs, data.partition);
      pending.push({ topic, outcome: order === undefined ? start() : order.chain(key, start, data.partition) });
    }
  }

  const results = await Promise.all(pending.map((p) => p.outcome));
  const topics = new Map<string, api.PartitionProduceResultInput[]>();
  for (const [i, { topic }] of pending.entries()) {
    const result = results[i];
    if (result === undefined) continue;
    if (result.error !== null) ctx.metrics.partitionErrors.inc({ method: METHOD, error: result.error.errorName });
    let list = topics.get(topic);
    if (list === undefined) {
      list = [];
      topics.set(topic, list);
    }
    // acks=0: the producer asked for no answer; it gets the partition list and nothing else.
    list.push(
      validAcks && acks === 0
        ? { partition: result.partition, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 }
        : {
            partition: result.partition,
            error: result.error === null ? null : toErrorInfo(result.error),
            baseOffset: result.baseOffset,
            logAppendTimeMs: result.logAppendTimeMs,
            logStartOffset: result.logStartOffset,
          },
    );
  }
  return {
    correlationId: request.correlationId,
    topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
    throttleMs: 0,
  };
}

function withTimeout(outcome: Promise<PartitionOutcome>, timeoutMs: number, partition: number): Promise<PartitionOutcome> {
  if (!(timeoutMs > 0)) return outcome;
  return new Promise<PartitionOutcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      resolve({
        partition,
        error: new SluiceError("REQUEST_TIMED_OUT", `append not durable within timeout_ms=${timeoutMs}`),
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
      });
    }, timeoutMs);
    outcome.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
