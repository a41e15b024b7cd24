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
 * No lost wake-ups: appends may land while the first pass is still reading (every read awaits
 * the disk), before any listener exists. Each read therefore returns the partition's
 * `visibleBytes` mark taken with its high watermark; before waiting, the bytes that became
 * visible above those marks count as already seen, and a partition deleted meanwhile ends the
 * wait at once. That check and the listener registration run in one synchronous stretch, so no
 * append can fall between them.
 *
 * Invariants: nothing at or above a high watermark is ever returned (Partition.read); every
 * listener and timer registered by a fetch is removed before it answers. With a read-buffer pool,
 * an outcome's `readBuffer` is the pooled buffer its records may view: the caller gives it back
 * once the records were copied out (the reads of a first pass that is discarded for a wait are
 * given back here).
 */
import { SluiceError, toErrorInfo } from "@sluice/protocol";
import type { api } from "@sluice/protocol";
import { PARTITION_FETCH_BYTES_DEFAULT } from "./limits.js";
import type { Partition } from "./partition.js";
import type { ReadBufferPool } from "./read-buffer-pool.js";

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
  /** The pooled buffer `records` may be a view of; give it back after copying `records` out. */
  readonly readBuffer?: Buffer;
}

export interface FetchOptions {
  readonly minBytes: number;
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  /** Aborting ends the wait early; the fetch then reads once more and answers. */
  readonly signal?: AbortSignal;
  /** Called when a fetch starts/stops waiting (metrics gauge). */
  readonly onWait?: (waiting: boolean) => void;
  /** Storage reads go into buffers from this pool (see `readBuffer`) instead of fresh ones. */
  readonly readBuffers?: ReadBufferPool;
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
  const first = await readAll(lookup, specs, options.maxBytes, options.readBuffers);
  if (!shouldWait(first, options)) return first.outcomes;
  if (options.readBuffers !== undefined) giveBackReadBuffers(first.outcomes, options.readBuffers);

  const needed = options.minBytes - first.totalBytes;
  if (bytesVisibleSince(first.marks) < needed) await waitForBytes([...first.marks.keys()], needed, options);
  return (await readAll(lookup, specs, options.maxBytes, options.readBuffers)).outcomes;
}

/**
 * Bytes that became visible on the partitions after the first pass took their marks; Infinity
 * when one was deleted meanwhile (its wake-up already happened: answer now, the re-read reports it).
 */
function bytesVisibleSince(marks: ReadonlyMap<Partition, number>): number {
  let bytes = 0;
  for (const [partition, mark] of marks) {
    if (partition.isDeleted) return Infinity;
    bytes += partition.visibleBytes - mark;
  }
  return bytes;
}

/** Returns the outcomes' pooled read buffers; their records must not be read afterwards. */
export function giveBackReadBuffers(outcomes: readonly FetchPartitionOutcome[], pool: ReadBufferPool): void {
  for (const o of outcomes) if (o.readBuffer !== undefined) pool.give(o.readBuffer);
}

interface ReadAllResult {
  readonly outcomes: FetchPartitionOutcome[];
  readonly totalBytes: number;
  readonly anyError: boolean;
  /** Each partition found, with its `visibleBytes` when the pass read it (the lowest if named twice). */
  readonly marks: Map<Partition, number>;
}

function shouldWait(result: ReadAllResult, options: FetchOptions): boolean {
  if (result.anyError || options.maxWaitMs <= 0) return false;
  if (options.signal?.aborted === true) return false;
  // min_bytes <= 0 means "answer at once", as in Kafka.
  return result.totalBytes < options.minBytes;
}

async function readAll(lookup: PartitionLookup, specs: readonly PreparedSpec[], maxBytes: number, pool: ReadBufferPool | undefined): Promise<ReadAllResult> {
  const outcomes: FetchPartitionOutcome[] = [];
  const marks = new Map<Partition, number>();
  const mark = (partition: Partition, visibleBytes: number): void => {
    const earlier = marks.get(partition);
    marks.set(partition, earlier === undefined ? visibleBytes : Math.min(earlier, visibleBytes));
  };
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
      mark(found, found.visibleBytes);
      outcomes.push({ ...base, error: null, highWatermark: found.highWatermark, logStartOffset: found.logStartOffset, records: empty });
      continue;
    }
    const budget = Math.min(spec.partitionMaxBytes, left);
    // A pooled buffer only where it can hold the read (budget + storage's lookahead); else storage allocates.
    const leased = pool !== undefined && budget <= PARTITION_FETCH_BYTES_DEFAULT ? pool.take() : undefined;
    try {
      const read = await found.read(spec.fetchOffset, budget, leased);
      mark(found, read.visibleBytesMark);
      // Over budget is allowed for the first non-empty partition only.
      const records = totalBytes > 0 && read.records.length > left ? empty : read.records;
      totalBytes += records.length;
      const outcome = { ...base, error: null, highWatermark: read.highWatermark, logStartOffset: read.logStartOffset, records };
      if (leased !== undefined && records.length > 0) outcomes.push({ ...outcome, readBuffer: leased });
      else {
        if (leased !== undefined) pool?.give(leased);
        outcomes.push(outcome);
      }
    } catch (error) {
      // The read is over (every file read is awaited), so nothing still writes into the buffer.
      if (leased !== undefined) pool?.give(leased);
      if (!(error instanceof SluiceError)) throw error;
      outcomes.push(failed(error, found.isDeleted ? -1 : found.highWatermark, found.isDeleted ? -1 : found.logStartOffset));
    }
  }
  return { outcomes, totalBytes, anyError, marks };
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
