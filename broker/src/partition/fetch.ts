/**
 * The Fetch algorithm over many partitions: byte budgets and long-polling.
 *
 * 1. Read every requested partition in request order, each up to min(its budget, what is left of
 *    the response budget). A batch larger than the budget is returned only while the response is
 *    still empty (Kafka's rule: a consumer is never stuck behind a large batch, and a response
 *    never grows past its budget by more than one batch).
 * 2. Answer now if the response holds at least `minBytes`, any partition has an error, or the
 *    caller does not want to wait.
 * 3. Otherwise wait — without polling — for the partitions' high-watermark listeners to report
 *    at least `minBytes` new visible bytes, or for `maxWaitMs`, or for `abort` (shutdown, topic
 *    deletion); then read again and answer.
 *
 * Invariants: nothing at or above a high watermark is ever returned (Partition.read); every
 * listener and timer registered by a fetch is removed before it answers.
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import type { Partition } from "./partition.js";

export interface FetchPartitionSpec {
  readonly topic: string;
  readonly partition: number;
  readonly fetchOffset: number;
  readonly partitionMaxBytes: number;
}

export interface FetchPartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly error: SluiceError | null;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly records: Buffer;
}

export interface FetchOptions {
  readonly minBytes: number;
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  /** Aborting ends the wait early; the fetch then reads once more and answers. */
  readonly signal?: AbortSignal;
  /** Called when a fetch starts/stops waiting (metrics gauge). */
  readonly onWait?: (waiting: boolean) => void;
}

/** Finds a partition or explains why it is not here (typed error). */
export type PartitionLookup = (topic: string, partition: number) => Partition | SluiceError;

const empty = Buffer.alloc(0);

/** A request-level problem (bad offset, unknown partition) found before reading, kept per partition. */
export type PreparedSpec = FetchPartitionSpec & { readonly invalid?: SluiceError };

export async function fetchPartitions(
  lookup: PartitionLookup,
  specs: readonly PreparedSpec[],
  options: FetchOptions,
): Promise<FetchPartitionOutcome[]> {
  const first = await readAll(lookup, specs, options.maxBytes);
  if (!shouldWait(first, options)) return first.outcomes;

  const partitions = new Set<Partition>();
  for (const spec of specs) {
    const found = lookup(spec.topic, spec.partition);
    if (!(found instanceof SluiceError)) partitions.add(found);
  }
  const needed = options.minBytes - first.totalBytes;
  await waitForBytes([...partitions], needed, options);
  return (await readAll(lookup, specs, options.maxBytes)).outcomes;
}

interface ReadAllResult {
  readonly outcomes: FetchPartitionOutcome[];
  readonly totalBytes: number;
  readonly anyError: boolean;
}

function shouldWait(result: ReadAllResult, options: FetchOptions): boolean {
  if (result.anyError || options.maxWaitMs <= 0) return false;
  if (options.signal?.aborted === true) return false;
  // min_bytes <= 0 means "answer at once", as in Kafka.
  return result.totalBytes < options.minBytes;
}

async function readAll(lookup: PartitionLookup, specs: readonly PreparedSpec[], maxBytes: number): Promise<ReadAllResult> {
  const outcomes: FetchPartitionOutcome[] = [];
  let totalBytes = 0;
  let anyError = false;
  for (const spec of specs) {
    const base = { topic: spec.topic, partition: spec.partition };
    const failed = (error: SluiceError, hwm = -1, start = -1): FetchPartitionOutcome => {
      anyError = true;
      return { ...base, error, highWatermark: hwm, logStartOffset: start, records: empty };
    };
    if (spec.invalid !== undefined) {
      outcomes.push(failed(spec.invalid));
      continue;
    }
    const found = lookup(spec.topic, spec.partition);
    if (found instanceof SluiceError) {
      outcomes.push(failed(found));
      continue;
    }
    const left = maxBytes - totalBytes;
    if (left <= 0) {
      outcomes.push({ ...base, error: null, highWatermark: found.highWatermark, logStartOffset: found.logStartOffset, records: empty });
      continue;
    }
    try {
      const read = await found.read(spec.fetchOffset, Math.min(spec.partitionMaxBytes, left));
      // Over budget is allowed for the first non-empty partition only.
      const records = totalBytes > 0 && read.records.length > left ? empty : read.records;
      totalBytes += records.length;
      outcomes.push({ ...base, error: null, highWatermark: read.highWatermark, logStartOffset: read.logStartOffset, records });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      outcomes.push(failed(error, found.isDeleted ? -1 : found.highWatermark, found.isDeleted ? -1 : found.logStartOffset));
    }
  }
  return { outcomes, totalBytes, anyError };
}

/** Resolves when `neededBytes` new bytes became visible on the partitions, on timeout, or on abort. */
function waitForBytes(partitions: readonly Partition[], neededBytes: number, options: FetchOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    let seen = 0;
    let done = false;
    const removers: Array<() => void> = [];
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const remove of removers) remove();
      options.signal?.removeEventListener("abort", finish);
      options.onWait?.(false);
      resolve();
    };
    const timer = setTimeout(finish, options.maxWaitMs);
    options.onWait?.(true);
    options.signal?.addEventListener("abort", finish, { once: true });
    for (const partition of partitions) {
      removers.push(
        partition.onAdvance((newBytes) => {
          seen += newBytes;
          // A wake with no bytes is a deletion or shutdown: answer now.
          if (seen >= neededBytes || newBytes === 0) finish();
        }),
      );
    }
  });
}

/** Converts outcomes to the wire shape, grouped by topic in first-seen order. */
export function toFetchResponse(outcomes: readonly FetchPartitionOutcome[]): api.FetchResponseInput {
  const topics = new Map<string, api.PartitionFetchResultInput[]>();
  for (const o of outcomes) {
    let list = topics.get(o.topic);
    if (list === undefined) {
      list = [];
      topics.set(o.topic, list);
    }
    list.push({
      partition: o.partition,
      error: o.error === null ? null : toErrorInfo(o.error),
      highWatermark: o.highWatermark,
      logStartOffset: o.logStartOffset,
      records: o.records,
    });
  }
  return { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })), throttleMs: 0 };
}
