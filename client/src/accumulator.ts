/**
 * The producer's record accumulator: per-partition queues of batches waiting to be sent.
 *
 * A record joins the open (last) batch of its partition if the batch's size estimate stays
 * within `batchBytes`; otherwise that batch is closed and a new one starts. A partition is ready
 * to send when its head batch is closed (full), when more batches wait behind it, when it has
 * lingered `lingerMs`, or when the caller says "send now" (flush, close, memory pressure).
 *
 * In flight: up to `maxInFlight` *sends* per partition (`ready()`'s argument; 1 by default) —
 * each the head batches drained together (up to a byte budget) and carried as one partition
 * entry of one Produce request, which the broker appends all-or-nothing. With more than one,
 * the producer relies on an ordered broker stream (see produce-transport.ts). A partition that
 * is `blocked` (a send failed, the others still settling) sends nothing; once all settled,
 * `retry` puts every in-flight send back at the head of its queue, whole and in order. Together
 * this is what keeps a partition's records in order across retries, while a slow answer still
 * lets many batches of a partition travel together next time.
 *
 * Pure: time is an argument (`nowMs`), nothing here does I/O or sets timers.
 *
 * Invariants: batches of one partition leave in the order they were created, and a retried
 * send keeps its place at the head; at most `maxInFlight` sends per partition are in flight, in drain order; a batch's
 * estimate is an upper bound of its encoded size before compression.
 */
import { assert, BATCH_HEADER_BYTES, type RecordInput } from "@sluice/protocol";
import { COMPRESSION_OVERHEAD_BYTES_MAX, HEADER_OVERHEAD_BYTES_MAX, RECORD_OVERHEAD_BYTES_MAX } from "./limits.js";

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** -1 when acks=0 (the broker does not say). */
  readonly offset: number;
  /** The record's timestamp, or the broker's append time for `log-append` topics. */
  readonly timestamp: number;
}

/**
 * How a batch ended, for each of its records by index: the record's metadata, or (thrown) the
 * error that failed it.
 */
export type BatchOutcome = (index: number) => RecordMetadata;

/** An upper bound of one record's encoded size in a batch (before compression). */
export function estimateRecordBytes(record: RecordInput): number {
  let bytes = RECORD_OVERHEAD_BYTES_MAX + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  const headers = record.headers;
  if (headers !== undefined) {
    for (const header of headers) {
      bytes += HEADER_OVERHEAD_BYTES_MAX + Buffer.byteLength(header.key, "utf8") + (header.value?.length ?? 0);
    }
  }
  return bytes;
}

/**
 * One batch of one partition. Its records' promises hang on the batch's single `outcome`
 * promise instead of each holding a resolve/reject pair: a record costs one derived promise,
 * which matters because every record in flight survives young-generation collections until it
 * is acknowledged. `deliveryOfNextRecord()` is called once per record, in append order, and
 * nothing else attaches `takeNext`; reactions to one promise run in the order they were added
 * (ECMAScript TriggerPromiseReactions), so the k-th reaction is record k's.
 */
export class ProducerBatch {
  /** The records until the batch is encoded; then emptied (the bytes hold them, see `encoded`). */
  records: RecordInput[] = [];
  /** Each record's timestamp, by index (kept after encoding, for the acknowledgements). */
  readonly timestamps: number[] = [];
  recordCount = 0;
  /** Fulfilled once, when the batch is acknowledged or fails for good; never rejected. */
  readonly outcome: Promise<BatchOutcome>;
  /** Fulfils `outcome` (later calls do nothing). */
  readonly settle: (outcome: BatchOutcome) => void;
  private readonly takeNext: (outcome: BatchOutcome) => RecordMetadata;
  /** Upper bound of the encoded size; starts at the header (plus codec overhead). */
  estimatedBytes: number;
  /** Buffer-pool bytes this batch holds; released when the batch completes. */
  reservedBytes = 0;
  /** No more records may join (full, sent, or retried). */
  closed = false;
  /** Send attempts so far. */
  attempts = 0;
  /** The encoded RecordBatch, built once on first send and reused by retries. */
  encoded: Buffer | undefined = undefined;
  /** The reusable buffer `encoded` is a view of, while the batch holds it (batch-buffer-pool.ts). */
  pooledBuffer: Buffer | undefined = undefined;
  /** Produce requests carrying this batch that have not been serialized yet. */
  framesUnencoded = 0;
  /** Acknowledged or failed for good. */
  finished = false;
  lastError: unknown = undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdMs: number,
    compressed: boolean,
  ) {
    this.estimatedBytes = BATCH_HEADER_BYTES + (compressed ? COMPRESSION_OVERHEAD_BYTES_MAX : 0);
    let settle: ((outcome: BatchOutcome) => void) | undefined;
    this.outcome = new Promise<BatchOutcome>((resolve) => {
      settle = resolve;
    });
    assert(settle !== undefined);
    this.settle = settle;
    let next = 0;
    this.takeNext = (outcome) => outcome(next++);
  }

  /** The promise of the record just appended (call once per record, in append order). */
  deliveryOfNextRecord(): Promise<RecordMetadata> {
    return this.outcome.then(this.takeNext);
  }
}

export class PartitionQueue {
  readonly batches: ProducerBatch[] = [];
  /** The sends in flight (each its batches, in order), oldest first. */
  readonly inFlight: ProducerBatch[][] = [];
  /** A send failed: nothing leaves until every send in flight has settled and been re-queued. */
  blocked = false;
  /** A retried head batch waits until this time. */
  retryAtMs = 0;
  /** The next this-many batches leave one per send (to find the one a broker finds too large). */
  singleBatchSends = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

export interface AccumulatorOptions {
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly compressed: boolean;
  /** Called when a batch fills up (the producer encodes it then, while its records are fresh). */
  readonly onFull?: (batch: ProducerBatch) => void;
}

/** `append` result flags (a number, not an object: append runs once per record). */
export const APPENDED_NEW_BATCH = 1;
/** A batch of this partition was closed because it was full (the sticky partitioner moves on). */
export const APPENDED_CLOSED_FULL = 2;

export interface ReadyResult {
  readonly ready: PartitionQueue[];
  /** Earliest time at which something not ready now becomes ready (linger or backoff), if any. */
  readonly nextReadyMs: number | undefined;
}

export class RecordAccumulator {
  private readonly queues = new Map<string, PartitionQueue[]>();
  private batchCount = 0;

  constructor(private readonly options: AccumulatorOptions) {
    assert(options.batchBytes > BATCH_HEADER_BYTES, "batchBytes must exceed a batch header");
    assert(options.lingerMs >= 0, "lingerMs must be >= 0");
  }

  /** Batches queued or in flight. */
  get size(): number {
    return this.batchCount;
  }

  queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queues.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queues.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition);
      byPartition[partition] = queue;
    }
    return queue;
  }

  /** Adds a record to its partition's open batch (then `newestBatch`); returns APPENDED_* flags. */
  append(topic: string, partition: number, record: RecordInput, recordBytes: number, nowMs: number): number {
    const queue = this.queue(topic, partition);
    let batch = queue.batches[queue.batches.length - 1];
    let flags = 0;
    if (batch !== undefined && !batch.closed && batch.recordCount > 0 && batch.estimatedBytes + recordBytes > this.options.batchBytes) {
      batch.closed = true;
      flags |= APPENDED_CLOSED_FULL;
      this.options.onFull?.(batch);
    }
    if (batch === undefined || batch.closed) {
      batch = new ProducerBatch(topic, partition, nowMs, this.options.compressed);
      queue.batches.push(batch);
      this.batchCount++;
      flags |= APPENDED_NEW_BATCH;
    }
    batch.records.push(record);
    batch.timestamps.push(record.timestamp ?? nowMs);
    batch.recordCount++;
    batch.estimatedBytes += recordBytes;
    batch.reservedBytes += recordBytes;
    if (batch.estimatedBytes >= this.options.batchBytes) {
      // A record that alone exceeds batchBytes gets a batch of its own.
      batch.closed = true;
      flags |= APPENDED_CLOSED_FULL;
      this.options.onFull?.(batch);
    }
    return flags;
  }

  /** The batch the last `append` to this partition put its record in. */
  newestBatch(topic: string, partition: number): ProducerBatch {
    const batches = this.queue(topic, partition).batches;
    const newest = batches[batches.length - 1];
    assert(newest !== undefined, "append leaves a batch in its partition's queue");
    return newest;
  }

  /**
   * Partitions whose head batch may be sent now. `sendNow` overrides linger (flush, close,
   * producers blocked on memory).
   */
  ready(nowMs: number, sendNow: boolean, maxInFlight = 1): ReadyResult {
    const ready: PartitionQueue[] = [];
    let nextReadyMs: number | undefined;
    const consider = (at: number): void => {
      if (nextReadyMs === undefined || at < nextReadyMs) nextReadyMs = at;
    };
    for (const byPartition of this.queues.values()) {
      for (const queue of byPartition) {
        if (queue === undefined || queue.blocked || queue.inFlight.length >= maxInFlight) continue;
        const head = queue.batches[0];
        if (head === undefined) continue;
        if (queue.retryAtMs > nowMs) {
          consider(queue.retryAtMs);
          continue;
        }
        const lingerDoneMs = head.createdMs + this.options.lingerMs;
        if (sendNow || head.closed || queue.batches.length > 1 || lingerDoneMs <= nowMs) {
          ready.push(queue);
        } else {
          consider(lingerDoneMs);
        }
      }
    }
    return { ready, nextReadyMs };
  }

  /**
   * Takes the head batches of a ready queue for one send: as many as fit in `maxBytes` (at
   * least one). The send is in flight until `complete`, `retry` or `giveBack`.
   */
  drain(queue: PartitionQueue, maxBytes: number): ProducerBatch[] {
    assert(!queue.blocked, "partition is blocked by a failed send");
    assert(queue.batches.length > 0, "drain of an empty partition queue");
    const taken: ProducerBatch[] = [];
    let bytes = 0;
    const limit = queue.singleBatchSends > 0 ? 1 : Number.POSITIVE_INFINITY;
    while (queue.batches.length > 0 && taken.length < limit) {
      const head = queue.batches[0]!;
      const size = head.encoded?.length ?? head.estimatedBytes;
      if (taken.length > 0 && bytes + size > maxBytes) break;
      queue.batches.shift();
      head.closed = true;
      taken.push(head);
      bytes += size;
    }
    if (queue.singleBatchSends > 0) queue.singleBatchSends--;
    queue.inFlight.push(taken);
    return taken;
  }

  /** The oldest send in flight of `queue` is finished (acknowledged or failed for good). */
  complete(queue: PartitionQueue): ProducerBatch[] {
    const batches = queue.inFlight.shift();
    assert(batches !== undefined, "completing a partition with nothing in flight");
    this.batchCount -= batches.length;
    return batches;
  }

  /**
   * Puts every send in flight back at the head of its queue, to leave again at `retryAtMs`, as
   * `replacements` (the same batches, or split ones, in order), and unblocks the partition.
   * `singleBatchSends` > 0 makes the next sends carry one batch each.
   */
  retry(queue: PartitionQueue, replacements: readonly ProducerBatch[], retryAtMs: number, singleBatchSends = 0): void {
    const batches = queue.inFlight.splice(0).flat();
    queue.blocked = false;
    queue.retryAtMs = retryAtMs;
    queue.singleBatchSends = Math.max(queue.singleBatchSends, singleBatchSends);
    for (const replacement of replacements) replacement.closed = true;
    queue.batches.unshift(...replacements);
    this.batchCount += replacements.length - batches.length;
  }

  /** Returns an undelivered send untouched (no request slot was free); it may leave again at once. */
  giveBack(queue: PartitionQueue): void {
    const batches = queue.inFlight.pop();
    assert(batches !== undefined, "giving back a partition with nothing in flight");
    queue.batches.unshift(...batches);
  }

  /** Removes and returns queued (not in-flight) batches created at or before `createdBeforeMs`. */
  expire(createdAtOrBeforeMs: number): ProducerBatch[] {
    const expired: ProducerBatch[] = [];
    for (const byPartition of this.queues.values()) {
      for (const queue of byPartition) {
        if (queue === undefined) continue;
        while (queue.batches.length > 0 && queue.batches[0]!.createdMs <= createdAtOrBeforeMs) {
          expired.push(queue.batches.shift()!);
          this.batchCount--;
        }
      }
    }
    return expired;
  }

  /** Earliest creation time among queued (not in-flight) batches. */
  oldestQueuedMs(): number | undefined {
    let oldest: number | undefined;
    for (const byPartition of this.queues.values()) {
      for (const queue of byPartition) {
        const head = queue?.batches[0];
        if (head !== undefined && (oldest === undefined || head.createdMs < oldest)) oldest = head.createdMs;
      }
    }
    return oldest;
  }

  /** Every batch, queued or in flight (for flush and close). */
  *all(): IterableIterator<ProducerBatch> {
    for (const byPartition of this.queues.values()) {
      for (const queue of byPartition) {
        if (queue === undefined) continue;
        for (const send of queue.inFlight) yield* send;
        yield* queue.batches;
      }
    }
  }

  /** Ends every send in flight (close) and returns their batches. */
  completeAll(): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    for (const byPartition of this.queues.values()) {
      for (const queue of byPartition) {
        if (queue === undefined) continue;
        while (queue.inFlight.length > 0) out.push(...this.complete(queue));
        queue.blocked = false;
      }
    }
    return out;
  }

  /** Removes and returns every queued (not in-flight) batch. */
  drainAllQueued(): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    for (const byPartition of this.queues.values()) {
      for (const queue of byPartition) {
        if (queue === undefined) continue;
        out.push(...queue.batches.splice(0));
      }
    }
    this.batchCount -= out.length;
    return out;
  }
}
