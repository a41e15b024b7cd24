/**
 * Fetch (sluice.v1.Sluice/Fetch): whole record batches per partition below the high watermark,
 * with per-partition and total byte budgets and long-polling (min_bytes / max_wait_ms); the
 * algorithm is in partition/fetch.ts.
 *
 * Field rules: max_wait_ms is clamped to [0, FETCH_WAIT_MS_MAX]; max_bytes 0 means the largest
 * budget; partition_max_bytes 0 means Kafka's 1 MiB default; negative sizes are
 * INVALID_FETCH_SIZE; a negative fetch_offset is OFFSET_OUT_OF_RANGE; a negative partition is
 * INVALID_REQUEST. While the broker drains, fetches answer without waiting.
 *
 * Storage reads go into pooled buffers (partition/read-buffer-pool.ts); they return to the pool
 * when the response encoder has copied the records out (fetch-response-encoder.ts afterEncode).
 */
import { SluiceError } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { fetchPartitions, giveBackReadBuffers, toFetchResponse, type PreparedSpec } from "../../partition/fetch.js";
import {
  FETCH_RESPONSE_BYTES_MAX,
  FETCH_WAIT_MS_MAX,
  PARTITION_FETCH_BYTES_DEFAULT,
  REQUEST_PARTITIONS_MAX,
} from "../../partition/limits.js";
import { ReadBufferPool } from "../../partition/read-buffer-pool.js";
import type { BrokerContext } from "../context.js";
import { afterEncode } from "../fetch-response-encoder.js";
import { checkCount, partitionIndexError, RequestError, topicNameError } from "../request-checks.js";

const METHOD = "Fetch";

/** One pool per process: buffers are only ever held by one fetch between take and give. */
const readBuffers = new ReadBufferPool();

export async function handleFetch(ctx: BrokerContext, request: api.FetchRequest, cancelled: AbortSignal): Promise<api.FetchResponseInput> {
  if (request.maxBytes < 0) throw new RequestError(`max_bytes ${request.maxBytes} is negative`);
  const maxBytes = request.maxBytes === 0 ? FETCH_RESPONSE_BYTES_MAX : Math.min(request.maxBytes, FETCH_RESPONSE_BYTES_MAX);
  const maxWaitMs = ctx.drain.draining ? 0 : Math.min(Math.max(0, request.maxWaitMs), FETCH_WAIT_MS_MAX);
  checkCount("partitions", request.topics.reduce((n, t) => n + t.partitions.length, 0), REQUEST_PARTITIONS_MAX);

  const specs: PreparedSpec[] = [];
  for (const topicData of request.topics) {
    const nameError = topicNameError(topicData.topic);
    for (const p of topicData.partitions) {
      const base = {
        topic: topicData.topic,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        partitionMaxBytes: p.partitionMaxBytes === 0 ? PARTITION_FETCH_BYTES_DEFAULT : p.partitionMaxBytes,
      };
      const invalid =
        nameError ??
        partitionIndexError(p.partition) ??
        (p.partitionMaxBytes < 0 ? new SluiceError("INVALID_FETCH_SIZE", `partition_max_bytes ${p.partitionMaxBytes} is negative`) : null) ??
        (p.fetchOffset < 0 || !Number.isSafeInteger(p.fetchOffset)
          ? new SluiceError("OFFSET_OUT_OF_RANGE", `fetch_offset ${p.fetchOffset} is negative`)
          : null);
      specs.push(invalid === null ? base : { ...base, invalid });
    }
  }

  const signal = AbortSignal.any([ctx.drain.signal, cancelled]);
  const outcomes = await fetchPartitions((topic, partition) => ctx.partitions.get(topic, partition), specs, {
    minBytes: request.minBytes,
    maxWaitMs,
    maxBytes,
    signal,
    onWait: (waiting) => (waiting ? ctx.metrics.fetchWaiters.inc() : ctx.metrics.fetchWaiters.dec()),
    readBuffers,
  });
  for (const o of outcomes) {
    if (o.error !== null) ctx.metrics.partitionErrors.inc({ method: METHOD, error: o.error.errorName });
    else if (o.records.length > 0) ctx.metrics.topicBytesOut.inc({ topic: o.topic }, o.records.length);
  }
  const response = toFetchResponse(outcomes);
  afterEncode(response, () => giveBackReadBuffers(outcomes, readBuffers));
  return response;
}
