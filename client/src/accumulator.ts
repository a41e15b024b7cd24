/**
 * The producer's record accumulator: per-partition queues of batches waiting to be sent.
 *
 * A record is encoded into the open (last) batch of its partition as it is appended
 * (RecordBatchBuilder: its exact size is known then); when it would take that batch past
 * `batchBytes`, the batch is closed and a new one starts with it. A batch also closes as soon
 * as another record like the last one would not fit, so a full batch leaves without waiting
 * for the record that overflows it. A partition is ready to send when its head batch is closed
 * (full), when more batches wait behind it, when it has lingered `lingerMs`, or when the caller
 * says "send now" (flush, close, memory pressure).
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
 * `sizeBytes` is an upper bound of its encoded size (exact before compression), and at most
 * `batchBytes` unless its one record alone is larger; a batch's buffer is at most twice its
 * size, or its partition's previous batch's, or a reusable buffer taken early for a batch that
 * will likely fill (batch-buffer-pool.ts, which bounds those).
 */
import { assert, BATCH_HEADER_BYTES, CompressionCodec, RecordBatchBuilder, type CompressionCodecId, type RecordBytes, type RecordHeadersInput, type RecordInput } from "@sluice/protocol";
import type { BatchBufferPool } from "./batch-buffer-pool.js";
import type { BatchOutcome, RecordMetadata } from "./batch-outcome.js";
import { COMPRESSION_OVERHEAD_BYTES_MAX, HEADER_OVERHEAD_BYTES_MAX, RECORD_OVERHEAD_BYTES_MAX } from "./limits.js";

export type { BatchOutcome, RecordMetadata } from "./batch-outcome.js";

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

/** How batches are encoded and where their buffers come from. */
export interface BatchFormat {
  readonly compression: CompressionCodecId;
  /** A batch's records (uncompressed, header included) stay within this, unless one record alone exceeds it. */
  readonly limitBytes: number;
  /** Reused batch buffers; without it every batch grows in buffers of its own. */
  readonly buffers?: BatchBufferPool | undefined;
}

/**
 * One batch of one partition, encoded as records are appended. Records' promises hang on the
 * batch's single `outcome` promise instead of each holding a resolve/reject pair: a record
 * costs one derived promise, which matters because every record in flight survives
 * young-generation collections until it is acknowledged. Reactions to one promise run in the
 * order they were added (ECMAScript TriggerPromiseReactions), so while every record so far asked
 * for its promise in append order, the k-th `takeNext` reaction is record k's and needs no
 * closure of its own (`deliveryOf`); records appended by `enqueueMany` ask for none.
 */
export class ProducerBatch {
  /** Each record's timestamp, by index (for the acknowledgements). */
  readonly timestamps: number[] = [];
  recordCount = 0;
  /** Fulfilled once, when the batch is acknowledged or fails for good; never rejected. */
  readonly outcome: Promise<BatchOutcome>;
  /** How the batch ended, once it did (what `outcome` fulfils with). */
  result: BatchOutcome | undefined = undefined;
  private readonly resolveOutcome: (outcome: BatchOutcome) => void;
  private readonly takeNext: (outcome: BatchOutcome) => RecordMetadata;
  /** `takeNext` reactions attached so far (records 0 .. reactions-1). */
  private reactions = 0;
  /** Encodes the records until `finish` (then undefined; `encoded` holds the batch). */
  private builder: RecordBatchBuilder | undefined;
  /** The batch holds a reusable buffer it took before it was half full (batch-buffer-pool.ts takeEarly). */
  private early = false;
  /** Bytes the last record took: another like it would not fit past `limitBytes`. */
  private lastRecordBytes = 0;
  private readonly limitBytes: number;
  private readonly buffers: BatchBufferPool | undefined;
  /** The encoded size may exceed the records' by this much (compression framing). */
  private readonly overheadBytes: number;
  /** Buffer-pool bytes this batch holds; released when the batch completes. */
  reservedBytes = 0;
  /** No more records may join (full, sent, or retried). */
  closed = false;
  /** Send attempts so far. */
  attempts = 0;
  /** The encoded RecordBatch, finished once on first send (or when full) and reused by retries. */
  encoded: Buffer | undefined = undefined;
  /** The reusable buffer the batch is written into, while the batch holds one (batch-buffer-pool.ts). */
  pooledBuffer: Buffer | undefined = undefined;
  /** Produce requests carrying this batch that have not been serialized yet. */
  framesUnencoded = 0;
  /** Acknowledged or failed for good. */
  finished = false;
  lastError: unknown = undefined;
  /** The enqueueMany call that last appended here (so a call lists each of its batches once). */
  lastCall: object | undefined = undefined;

  /**
   * The first buffer is sized for the first record (`firstRecordBytes`, an upper bound of its
   * size) and for what the partition's previous batch reached (`previousBatchBytes`, 0 for
   * none): a batch likely to pass a quarter of a reusable buffer starts in one if the pool
   * allows one early; else in a buffer of its own, as large as the previous batch (up to half
   * a reusable one), so a partition's batches seldom have to grow.
   */
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly createdMs: number,
    format: BatchFormat,
    firstRecordBytes = 0,
    previousBatchBytes = 0,
  ) {
    this.limitBytes = format.limitBytes;
    this.buffers = format.buffers;
    this.overheadBytes = format.compression === CompressionCodec.none ? 0 : COMPRESSION_OVERHEAD_BYTES_MAX;
    let outcomeResolve: ((outcome: BatchOutcome) => void) | undefined;
    this.outcome = new Promise<BatchOutcome>((resolve) => {
      outcomeResolve = resolve;
    });
    assert(outcomeResolve !== undefined);
    this.resolveOutcome = outcomeResolve;
    let next = 0;
    this.takeNext = (outcome) => outcome.metadata(next++);
    const buffers = this.buffers;
    let buffer = buffers !== undefined && previousBatchBytes * 4 > buffers.bufferBytes ? buffers.takeEarly() : undefined;
    if (buffer !== undefined) {
      this.pooledBuffer = buffer;
      this.early = true;
    } else {
      const needed = BATCH_HEADER_BYTES + firstRecordBytes;
      const cap = buffers === undefined ? Number.POSITIVE_INFINITY : Math.floor(buffers.bufferBytes / 2);
      buffer = Buffer.allocUnsafe(Math.max(needed, Math.min(Math.max(2 * needed, previousBatchBytes), cap)));
    }
    this.builder = new RecordBatchBuilder({ compression: format.compression, limitBytes: format.limitBytes, grow: (neededBytes, current) => this.grow(neededBytes, current) }, buffer);
  }

  /** An upper bound of the encoded batch's size: exact once encoded, before that the records' plus compression overhead. */
  get sizeBytes(): number {
    return this.encoded?.length ?? (this.builder === undefined ? BATCH_HEADER_BYTES : this.builder.sizeBytes + this.overheadBytes);
  }

  /** Counts the batch's reusable buffer as taken early no more (it is half full, given back, dropped, or the batch finished). */
  endEarly(): void {
    if (!this.early) return;
    this.early = false;
    this.buffers?.endEarly();
  }

  /** Bytes of the buffer the batch holds (0 once its bytes were dropped). */
  get bufferBytes(): number {
    return this.builder?.buffer.length ?? this.pooledBuffer?.length ?? this.encoded?.length ?? 0;
  }

  /** Another record like the last one would not fit. */
  get full(): boolean {
    return this.builder === undefined || this.builder.sizeBytes + this.lastRecordBytes > this.limitBytes;
  }

  /**
   * Encodes a record at the end of the batch; false (nothing written) when it does not fit.
   * `reservedBytes`: what the producer reserved for it in its buffer pool. Bad fields throw
   * (the producer checks them before), leaving the batch unchanged.
   */
  append(timestamp: number, key: RecordBytes | null | undefined, value: RecordBytes | null, headers: RecordHeadersInput | undefined, reservedBytes: number): boolean {
    assert(this.builder !== undefined && !this.closed, "append to a closed batch");
    const size = this.builder.append(timestamp, key, value, headers);
    if (size === 0) return false;
    this.timestamps.push(timestamp);
    this.recordCount++;
    this.reservedBytes += reservedBytes;
    this.lastRecordBytes = size;
    if (this.early && this.builder.sizeBytes * 2 > this.buffers!.bufferBytes) this.endEarly();
    return true;
  }

  /** Completes the encoding (header, compression, CRC) once; the batch takes no more records. */
  finish(): Buffer {
    if (this.encoded === undefined) {
      assert(this.builder !== undefined, "a batch is finished once");
      const encoded = this.builder.finish();
      this.builder = undefined;
      this.closed = true;
      const pooled = this.pooledBuffer;
      if (pooled !== undefined && encoded.buffer !== pooled.buffer) {
        // Compressed into a buffer of its own: the pooled one holds nothing any more.
        this.pooledBuffer = undefined;
        this.endEarly();
        this.buffers?.give(pooled);
      }
      this.encoded = encoded;
    }
    return this.encoded;
  }

  /** The promise of record `index`'s metadata. */
  deliveryOf(index: number): Promise<RecordMetadata> {
    if (index === this.reactions) {
      this.reactions++;
      return this.outcome.then(this.takeNext);
    }
    return this.outcome.then((outcome) => outcome.metadata(index));
  }

  /** Records how the batch ended and fulfils `outcome` (later calls do nothing). */
  settle(outcome: BatchOutcome): void {
    if (this.result !== undefined) return;
    this.result = outcome;
    this.resolveOutcome(outcome);
  }

  /** Lets the batch's reusable buffer go to the garbage collector instead of back to the pool. */
  forgetBuffer(): void {
    this.endEarly();
    this.pooledBuffer = undefined;
  }

  /** Gives the batch's reusable buffer back (it is finished and no request still reads it) and drops its bytes. */
  releaseBuffer(): Buffer | undefined {
    this.endEarly();
    const pooled = this.pooledBuffer;
    this.pooledBuffer = undefined;
    this.encoded = undefined;
    this.builder = undefined;
    return pooled;
  }

  /**
   * Room for `neededBytes` when the records outgrow `current`: a reusable buffer once they need
   * more than half of one, else a buffer of its own twice as large but at most half a reusable
   * one (a record larger than a reusable buffer gets one of exactly its size). So a buffer is
   * never more than twice the bytes it holds, except a first one sized after the previous batch.
   */
  private grow(neededBytes: number, current: Buffer): Buffer {
    const buffers = this.buffers;
    const reusable = buffers !== undefined && neededBytes <= buffers.bufferBytes && neededBytes * 2 > buffers.bufferBytes;
    let next: Buffer;
    if (reusable) next = buffers.take();
    else {
      // Own buffers stop at half a reusable one: past that the batch moves into a reusable one.
      const cap = buffers === undefined ? Number.POSITIVE_INFINITY : Math.floor(buffers.bufferBytes / 2);
      next = Buffer.allocUnsafe(Math.max(neededBytes, Math.min(2 * current.length, cap)));
    }
    if (current === this.pooledBuffer) {
      // Only a record larger than a reusable buffer outgrows one. The builder copies from
      // `current` before anything else runs, so it may go back to the pool now.
      this.pooledBuffer = undefined;
      this.endEarly();
      buffers?.give(current);
    }
    if (reusable) this.pooledBuffer = next;
    return next;
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
  /** Bytes of the last batch when it closed full or left (0: none yet): the next one's likely size. */
  lastBatchBytes = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

export interface AccumulatorOptions {
  /** Largest batch (encoded, header included), unless one record alone is larger. */
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly compression: CompressionCodecId;
  /** Reused batch buffers (batch-buffer-pool.ts); without it every batch has buffers of its own. */
  readonly buffers?: BatchBufferPool | undefined;
  /** Called when a batch fills up (the producer completes its encoding then). */
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
  private readonly format: BatchFormat;

  constructor(private readonly options: AccumulatorOptions) {
    assert(options.batchBytes > BATCH_HEADER_BYTES, "batchBytes must exceed a batch header");
    assert(options.lingerMs >= 0, "lingerMs must be >= 0");
    const overheadBytes = options.compression === CompressionCodec.none ? 0 : COMPRESSION_OVERHEAD_BYTES_MAX;
    // Compression may add a little: the records leave room for it (at least one byte of records).
    this.format = { compression: options.compression, limitBytes: Math.max(BATCH_HEADER_BYTES + 1, options.batchBytes - overheadBytes), buffers: options.buffers };
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

  /**
   * Encodes a record into its partition's open batch, or a new one when it does not fit (then
   * `newestBatch` is where it went); returns APPENDED_* flags. `recordBytes` is what the
   * producer reserved for it (an upper bound of its size). Bad fields throw (the producer
   * checks them first) and change nothing.
   */
  append(
    topic: string,
    partition: number,
    timestamp: number,
    key: RecordBytes | null | undefined,
    value: RecordBytes | null,
    headers: RecordHeadersInput | undefined,
    recordBytes: number,
    nowMs: number,
  ): number {
    const queue = this.queue(topic, partition);
    const open = queue.batches[queue.batches.length - 1];
    let flags = 0;
    if (open !== undefined && !open.closed) {
      if (open.append(timestamp, key, value, headers, recordBytes)) return open.full ? this.closeFull(queue, open, flags) : flags;
      flags = this.closeFull(queue, open, flags);
    }
    const batch = new ProducerBatch(topic, partition, nowMs, this.format, recordBytes, queue.lastBatchBytes);
    try {
      assert(batch.append(timestamp, key, value, headers, recordBytes), "a batch takes its first record");
    } catch (error) {
      const pooled = batch.releaseBuffer();
      if (pooled !== undefined) this.format.buffers?.give(pooled);
      throw error;
    }
    queue.batches.push(batch);
    this.batchCount++;
    flags |= APPENDED_NEW_BATCH;
    return batch.full ? this.closeFull(queue, batch, flags) : flags;
  }

  /** Closes a batch that is full: it may leave at once (and the sticky partitioner moves on). */
  private closeFull(queue: PartitionQueue, batch: ProducerBatch, flags: number): number {
    batch.closed = true;
    queue.lastBatchBytes = batch.sizeBytes;
    this.options.onFull?.(batch);
    return flags | APPENDED_CLOSED_FULL;
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
      const size = head.sizeBytes;
      if (taken.length > 0 && bytes + size > maxBytes) break;
      queue.batches.shift();
      if (!head.closed) queue.lastBatchBytes = size; // left before it filled (linger, flush, memory pressure)
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
