/**
 * The Producer: `send()` a record, get a promise of its offset.
 *
 * Path of a record: check its fields and bound its size (producer-record.ts, no object made) →
 * choose a partition (explicit, murmur2 of the key, or sticky) → reserve its size in the
 * BufferPool (back-pressure: wait up to `maxBlockMs`) → encode it into its partition's open
 * batch in the RecordAccumulator (RecordBatch v2, straight from the caller's bytes into the
 * batch's buffer, a reused one once the batch is more than half full, batch-buffer-pool.ts) →
 * each batch is completed once (header, compression, CRC) as soon as it is full, or when it is
 * sent → a partition is sent when its head batch is full, has lingered `lingerMs`, or a
 * flush/close asks; sends for the same leader broker are packed into Produce requests of about
 * `maxRequestBytes` (pipelined on one ProduceStream) → the answer settles each batch's one
 * outcome (batch-outcome.ts), from which every record's promise takes
 * `{ topic, partition, offset, timestamp }` (accumulator.ts ProducerBatch), or a bulk call's
 * one promise its report (delivery-report.ts).
 *
 * Bulk: `enqueueMany` / `sendMany` admit an array of records in order, exactly as that many
 * `enqueue` calls would, but create no promise or object per record: one promise for the call,
 * settled from its batches' outcomes.
 *
 * Retries: retriable errors (per partition or for the whole request) put the send back at the
 * head of its partition queue, after a backoff from the RetryPolicy, until the delivery
 * timeout; stale-metadata errors refresh metadata first; MESSAGE_TOO_LARGE makes a multi-batch
 * send go again one batch at a time and a one-batch send split in two. The same encoded bytes
 * are resent (never re-encoded, except when split: the records are then decoded back from the
 * batch's bytes and encoded into two new batches, a rare path that needs no copy of the inputs).
 *
 * Ordering: up to `maxInFlightPerPartition` sends per partition in flight (default
 * IN_FLIGHT_SENDS_PER_PARTITION_DEFAULT; more than one only on an ordered ProduceStream, else
 * one). A send is the partition's head batches (up to PRODUCE_PARTITION_SEND_BYTES_MAX),
 * concatenated into one partition entry that the broker appends all-or-nothing. A partition's
 * sends are only ever in flight to one broker, on one stream; the ordered stream appends them
 * in order, each after the previous one's outcome, and fails every later one once one failed.
 * Answers are taken oldest first: a send is acknowledged only after every earlier send of its
 * partition was; on a failure the partition sends nothing more until all its sends settled,
 * then they all go back, in order, at the head of its queue (the stream is reset first, so the
 * resend does not meet the broker's poisoned partition). So records of a partition are appended
 * and acknowledged in `send()` order even across retries, and a slow broker makes sends bigger
 * instead of the pipeline shallower. A retry after a lost answer, or of a send that followed a
 * failed one, can duplicate records (at-least-once; there is no idempotent producer yet).
 *
 * Bounds: buffered bytes ≤ bufferMemoryBytes; requests in flight per broker ≤
 * maxInFlightRequestsPerBroker; one request ≤ PRODUCE_REQUEST_BYTES_MAX.
 */
import { assert, BATCH_HEADER_BYTES, CompressionCodec, decodeRecordBatch, fromErrorInfo, MessageTooLargeError, SluiceError, type api, type CompressionCodecId } from "@sluice/protocol";
import { APPENDED_CLOSED_FULL, APPENDED_NEW_BATCH, estimateRecordBytes, ProducerBatch, RecordAccumulator, type PartitionQueue } from "./accumulator.js";
import { Acknowledged, Failed, Split, type RecordMetadata } from "./batch-outcome.js";
import { BatchBufferPool } from "./batch-buffer-pool.js";
import { BufferPool } from "./buffer-pool.js";
import { ClusterClient, positiveIntOption, type ClientOptions } from "./cluster.js";
import { BulkDelivery, type DeliveryReport, type EnqueuedMany } from "./delivery-report.js";
import { ClientClosedError, ConfigError, TimeoutError } from "./errors.js";
import {
  BATCH_BUFFERS_POOLED_MAX,
  BATCH_BYTES_DEFAULT,
  BATCH_BYTES_MAX,
  BUFFER_MEMORY_BYTES_DEFAULT,
  DELIVERY_TIMEOUT_MS_DEFAULT,
  IN_FLIGHT_REQUESTS_PER_BROKER_DEFAULT,
  IN_FLIGHT_REQUESTS_PER_BROKER_MAX,
  IN_FLIGHT_SENDS_PER_PARTITION_DEFAULT,
  IN_FLIGHT_SENDS_PER_PARTITION_MAX,
  LINGER_MS_DEFAULT,
  LINGER_MS_MAX,
  MAX_BLOCK_MS_DEFAULT,
  METADATA_WAIT_MS_DEFAULT,
  PRODUCE_PARTITION_SEND_BYTES_MAX,
  PRODUCE_REQUEST_BYTES_DEFAULT,
  PRODUCE_REQUEST_BYTES_MAX,
} from "./limits.js";
import type { TopicInfo } from "./metadata.js";
import { partitionForKey, StickyPartitioner } from "./partitioner.js";
import type { ProduceFrame, ProducePartitionFrame } from "./produce-request.js";
import { DataProduceTransport } from "./data-produce-transport.js";
import { StreamProduceTransport, UnaryProduceTransport, type ProduceTransport } from "./produce-transport.js";
import { recordBytesOf, type Bytes, type ProducerRecord } from "./producer-record.js";
import { needsMetadataRefresh } from "./retry.js";
import type { TimerHandle } from "./runtime.js";

export type { RecordMetadata } from "./batch-outcome.js";
export type { Bytes, ProducerRecord } from "./producer-record.js";
export type { DeliveryFailure, DeliveryReport, EnqueuedMany } from "./delivery-report.js";

export type Acks = 0 | 1 | -1 | "all";
export type CompressionName = keyof typeof CompressionCodec;

export interface ProducerOptions extends ClientOptions {
  /** 0: no answer awaited; 1: the leader appended; -1 or "all": committed (default). */
  readonly acks?: Acks;
  readonly compression?: CompressionName;
  /**
   * Largest batch per partition (its records' encoded bytes plus the header, less room for
   * compression framing when compressing; a record larger than that gets a batch of its own);
   * default BATCH_BYTES_DEFAULT (512 KiB).
   */
  readonly batchBytes?: number;
  /** How long a batch waits for more records; default LINGER_MS_DEFAULT (5 ms). */
  readonly lingerMs?: number;
  /** Memory for records not yet acknowledged; default BUFFER_MEMORY_BYTES_DEFAULT (32 MiB). */
  readonly bufferMemoryBytes?: number;
  /** How long `send()` waits for buffer memory before BufferExhaustedError; default 60 s. */
  readonly maxBlockMs?: number;
  /** Time from `send()` to acknowledgement, retries included; default 120 s. */
  readonly deliveryTimeoutMs?: number;
  readonly maxInFlightRequestsPerBroker?: number;
  /** Record-batch bytes per Produce request; default PRODUCE_REQUEST_BYTES_DEFAULT. */
  readonly maxRequestBytes?: number;
  /** How long `send()` waits for an unknown topic to appear in metadata; default 5 s. */
  readonly metadataWaitMs?: number;
  /** Pipelined ProduceStream (default) or one unary Produce call per request. */
  readonly useProduceStream?: boolean;
  /**
   * Sends per partition in flight, on an ordered ProduceStream; default
   * IN_FLIGHT_SENDS_PER_PARTITION_DEFAULT. 1 waits for each answer; unary Produce always uses 1.
   */
  readonly maxInFlightPerPartition?: number;
}

/** What `enqueue()` resolves to once the record is buffered (the wrapper keeps the inner promise from being flattened). */
export interface Enqueued {
  readonly delivered: Promise<RecordMetadata>;
}

const acksValues = new Map<unknown, 0 | 1 | -1>([
  [0, 0],
  [1, 1],
  [-1, -1],
  ["all", -1],
]);

const RESOLVED: Promise<void> = Promise.resolve();

const noop = (): void => undefined;

/** The bytes murmur2 hashes for a key (a string key as UTF-8). */
function keyBytes(key: Bytes): Uint8Array {
  return typeof key === "string" ? Buffer.from(key, "utf8") : key;
}

/** The batches of one partition that travel together in one request. */
interface PartitionSend {
  readonly queue: PartitionQueue;
  readonly batches: ProducerBatch[];
}

/** How one send ended: appended at `baseOffset`, or `error` (`fromBroker`: a partition error in an answer). */
type SendOutcome = { readonly ok: true; readonly baseOffset: number; readonly logAppendTimeMs: number } | { readonly ok: false; readonly error: unknown; readonly fromBroker: boolean };

export class Producer {
  readonly cluster: ClusterClient;
  private readonly acks: 0 | 1 | -1;
  private readonly codec: CompressionCodecId;
  private readonly batchBytes: number;
  private readonly lingerMs: number;
  private readonly maxBlockMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxRequestBytes: number;
  private readonly metadataWaitMs: number;
  private readonly useStream: boolean;
  private readonly maxInFlightPerPartition: number;
  /** Outcomes of sends still in their partition's in-flight list (keyed by the send's batch array). */
  private readonly outcomes = new WeakMap<ProducerBatch[], SendOutcome>();
  /** The broker address a partition's sends in flight went to. */
  private readonly inFlightAddress = new WeakMap<PartitionQueue, string>();
  private readonly accumulator: RecordAccumulator;
  private readonly pool: BufferPool;
  private readonly batchBuffers: BatchBufferPool;
  private readonly sticky: StickyPartitioner;
  private readonly transports = new Map<string, ProduceTransport>();
  private readonly inFlightByAddress = new Map<string, number>();
  /** Admissions that had to wait (metadata, memory) run in order behind this chain. */
  private admitChain: Promise<void> = RESOLVED;
  private waitingAdmits = 0;
  private flushing = 0;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private wakeTimer: TimerHandle | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private metadataRefreshPending = false;

  constructor(options: ProducerOptions) {
    this.cluster = new ClusterClient(options);
    const acks = acksValues.get(options.acks ?? -1);
    if (acks === undefined) throw new ConfigError("acks", `must be 0, 1, -1 or "all", got ${String(options.acks)}`);
    this.acks = acks;
    const compression = options.compression ?? "none";
    if (!Object.hasOwn(CompressionCodec, compression)) {
      throw new ConfigError("compression", `must be one of ${Object.keys(CompressionCodec).join(", ")}, got ${String(compression)}`);
    }
    this.codec = CompressionCodec[compression];
    this.batchBytes = positiveIntOption("batchBytes", options.batchBytes, BATCH_BYTES_DEFAULT, BATCH_BYTES_MAX, BATCH_HEADER_BYTES + 1);
    const lingerMs = positiveIntOption("lingerMs", options.lingerMs, LINGER_MS_DEFAULT, LINGER_MS_MAX, 0);
    this.lingerMs = lingerMs;
    const bufferMemoryBytes = positiveIntOption("bufferMemoryBytes", options.bufferMemoryBytes, BUFFER_MEMORY_BYTES_DEFAULT);
    this.maxBlockMs = positiveIntOption("maxBlockMs", options.maxBlockMs, MAX_BLOCK_MS_DEFAULT, Number.MAX_SAFE_INTEGER, 0);
    this.deliveryTimeoutMs = positiveIntOption("deliveryTimeoutMs", options.deliveryTimeoutMs, DELIVERY_TIMEOUT_MS_DEFAULT);
    this.maxInFlight = positiveIntOption("maxInFlightRequestsPerBroker", options.maxInFlightRequestsPerBroker, IN_FLIGHT_REQUESTS_PER_BROKER_DEFAULT, IN_FLIGHT_REQUESTS_PER_BROKER_MAX);
    this.maxRequestBytes = positiveIntOption("maxRequestBytes", options.maxRequestBytes, PRODUCE_REQUEST_BYTES_DEFAULT, PRODUCE_REQUEST_BYTES_MAX, BATCH_HEADER_BYTES + 1);
    this.metadataWaitMs = positiveIntOption("metadataWaitMs", options.metadataWaitMs, METADATA_WAIT_MS_DEFAULT, Number.MAX_SAFE_INTEGER, 0);
    this.useStream = options.useProduceStream ?? true;
    this.maxInFlightPerPartition = positiveIntOption("maxInFlightPerPartition", options.maxInFlightPerPartition, IN_FLIGHT_SENDS_PER_PARTITION_DEFAULT, IN_FLIGHT_SENDS_PER_PARTITION_MAX);
    this.batchBuffers = new BatchBufferPool(this.batchBytes, BATCH_BUFFERS_POOLED_MAX);
    this.accumulator = new RecordAccumulator({
      batchBytes: this.batchBytes,
      lingerMs,
      compression: this.codec,
      buffers: this.batchBuffers,
      // Completing a batch as soon as it is full spreads the compression and CRC work over the
      // appends instead of piling it onto the sender's pass; a failure is left for the send.
      onFull: (batch) => {
        try {
          this.encode(batch);
        } catch {
          // reported when the batch is sent
        }
      },
    });
    this.pool = new BufferPool(bufferMemoryBytes, this.cluster.scheduler);
    this.sticky = new StickyPartitioner(this.cluster.random);
  }

  /**
   * Sends a record; resolves when the broker acknowledged it (per `acks`). Waits for buffer
   * memory first when the producer is full (up to `maxBlockMs`).
   */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    let delivered: Promise<RecordMetadata> | undefined;
    let sizeBytes: number;
    try {
      sizeBytes = this.check(record);
      delivered = this.admitNow(record, sizeBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    return delivered ?? this.admitInOrder(record, sizeBytes).then((enqueued) => enqueued.delivered);
  }

  /**
   * Back-pressure-friendly send: resolves as soon as the record is buffered (waiting when the
   * buffer is full), with the promise of its acknowledgement. Awaiting each `enqueue()` keeps
   * memory bounded however fast the caller produces.
   */
  enqueue(record: ProducerRecord): Promise<Enqueued> {
    let delivered: Promise<RecordMetadata> | undefined;
    let sizeBytes: number;
    try {
      sizeBytes = this.check(record);
      delivered = this.admitNow(record, sizeBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    return delivered === undefined ? this.admitInOrder(record, sizeBytes) : Promise.resolve({ delivered });
  }

  /**
   * Bulk `enqueue`: admits the records in order, waiting for buffer memory as `enqueue` does,
   * and resolves once all are buffered, with one promise for all of them (no promise or object
   * per record). `delivered` resolves with a DeliveryReport when every record is acknowledged;
   * if any failed it rejects, once all have settled, with a DeliveryFailure: the first failed
   * record's error (its class, as `send()` would reject with) carrying `failedCount` and the
   * `report`.
   *
   * Every record is checked first: a bad one rejects the call with its error and nothing is
   * admitted; so does a refusal before the first record is admitted (closed producer, unknown
   * topic or partition, no memory within `maxBlockMs`). A refusal after that ends the call's
   * admission instead: the records not admitted fail with it in `delivered`.
   */
  enqueueMany(records: readonly ProducerRecord[]): Promise<EnqueuedMany> {
    if (!Array.isArray(records)) return Promise.reject(new SluiceError("INVALID_RECORD", "enqueueMany takes an array of records"));
    if (this.closing) return Promise.reject(new ClientClosedError("producer"));
    const count = records.length;
    const sizes = new Int32Array(count);
    try {
      for (let i = 0; i < count; i++) {
        const sizeBytes = this.check(records[i]!);
        if (sizeBytes > this.pool.capacityBytes) throw new MessageTooLargeError(sizeBytes, this.pool.capacityBytes);
        sizes[i] = sizeBytes;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const call = new BulkDelivery(count);
    if (this.waitingAdmits === 0) {
      try {
        this.admitManyNow(records, sizes, call);
      } catch (error) {
        if (call.admitted === 0) return Promise.reject(error);
        call.refuse(error instanceof Error ? error : new Error(String(error)));
        return Promise.resolve({ delivered: call.delivered() });
      }
      if (call.admitted === count) return Promise.resolve({ delivered: call.delivered() });
    }
    return this.inOrder(() => this.admitManySlow(records, sizes, call));
  }

  /** Bulk `send`: `enqueueMany`, then its `delivered`. */
  sendMany(records: readonly ProducerRecord[]): Promise<DeliveryReport> {
    return this.enqueueMany(records).then((enqueued) => enqueued.delivered);
  }

  /** Sends everything buffered now (ignoring linger) and waits until those records are answered. */
  async flush(): Promise<void> {
    await this.admitChain.catch(() => undefined);
    const batches = [...this.accumulator.all()];
    if (batches.length === 0) return;
    this.flushing++;
    try {
      const done = this.whenDone(batches);
      this.wake(0);
      await done;
    } finally {
      this.flushing--;
    }
  }

  /**
   * Stops accepting records, sends and awaits what is buffered (up to `timeoutMs`, default the
   * delivery timeout), then fails whatever is left with ClientClosedError and closes connections.
   */
  close(timeoutMs: number = this.deliveryTimeoutMs): Promise<void> {
    this.closePromise ??= this.doClose(timeoutMs);
    return this.closePromise;
  }

  /** Buffer-pool bytes in use (records accepted, not yet answered). */
  get bufferedBytes(): number {
    return this.pool.used;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    this.closing = true;
    let timer: TimerHandle | undefined;
    try {
      await Promise.race([
        this.flush(),
        new Promise<void>((resolve) => {
          timer = this.cluster.scheduler.after(timeoutMs, resolve);
        }),
      ]);
    } catch {
      // records carry their own errors; close goes on
    } finally {
      timer?.cancel();
    }
    this.closed = true;
    this.wakeTimer?.cancel();
    const closedError = new ClientClosedError("producer");
    this.fail(this.accumulator.drainAllQueued(), closedError);
    this.fail(this.accumulator.completeAll(), closedError);
    this.pool.close();
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
    this.cluster.close();
  }

  // ---- admission ----------------------------------------------------------------------------

  /** Checks a record (typed errors); returns the bytes it reserves. Throws ClientClosedError once closing. */
  private check(record: ProducerRecord): number {
    if (this.closing) throw new ClientClosedError("producer");
    const sizeBytes = recordBytesOf(record);
    if (sizeBytes + BATCH_HEADER_BYTES > BATCH_BYTES_MAX) throw new MessageTooLargeError(sizeBytes + BATCH_HEADER_BYTES, BATCH_BYTES_MAX);
    return sizeBytes;
  }

  /** The record's topic when it is known and has the record's partition. */
  private knownTopic(record: ProducerRecord): TopicInfo | undefined {
    const topic = this.cluster.metadata.topic(record.topic);
    if (topic === undefined || (record.partition !== undefined && record.partition >= topic.partitions.length)) return undefined;
    return topic;
  }

  /**
   * The fast path of a checked record: nothing waiting ahead, topic known, memory available.
   * Returns its delivery, or undefined when it has to wait (admitInOrder).
   */
  private admitNow(record: ProducerRecord, sizeBytes: number): Promise<RecordMetadata> | undefined {
    if (this.waitingAdmits > 0) return undefined;
    const topic = this.knownTopic(record);
    if (topic === undefined || !this.pool.tryReserve(sizeBytes)) return undefined;
    const batch = this.append(record, sizeBytes, topic, this.cluster.clock.now());
    return batch.deliveryOf(batch.recordCount - 1);
  }

  /** Runs an admission that had to wait, in order behind earlier waiting ones (keeps per-partition send order). */
  private inOrder<T>(admit: () => Promise<T>): Promise<T> {
    this.waitingAdmits++;
    const admitted = this.admitChain.catch(noop).then(admit);
    const done = (): void => {
      this.waitingAdmits--;
    };
    this.admitChain = admitted.then(done, done);
    return admitted;
  }

  private admitInOrder(record: ProducerRecord, sizeBytes: number): Promise<Enqueued> {
    return this.inOrder(async () => {
      const batch = await this.admitWaiting(record, sizeBytes);
      return { delivered: batch.deliveryOf(batch.recordCount - 1) };
    });
  }

  /**
   * Admits one record at the head of the admission order, waiting for its topic's metadata and
   * for buffer memory as needed; returns the batch it went into (as the batch's newest record).
   */
  private async admitWaiting(record: ProducerRecord, sizeBytes: number): Promise<ProducerBatch> {
    // Records handed over before close() still go out (close flushes them); only a closed producer refuses.
    if (this.closed) throw new ClientClosedError("producer");
    let topic = this.knownTopic(record) ?? (await this.cluster.topic(record.topic, this.metadataWaitMs));
    if (record.partition !== undefined && record.partition >= topic.partitions.length) {
      await this.cluster.refreshMetadata([record.topic]);
      topic = this.cluster.metadata.topic(record.topic) ?? topic;
      if (record.partition >= topic.partitions.length) {
        throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${record.partition} of topic "${record.topic}" does not exist (${topic.partitions.length} partitions)`);
      }
    }
    if (!this.pool.tryReserve(sizeBytes)) {
      this.wake(0); // blocked senders: send without lingering to free memory sooner
      await this.pool.reserve(sizeBytes, this.maxBlockMs);
    }
    if (this.closed) {
      this.pool.release(sizeBytes);
      throw new ClientClosedError("producer");
    }
    return this.append(record, sizeBytes, topic, this.cluster.clock.now());
  }

  /** Admits the call's next records while none has to wait (topic known, memory free). */
  private admitManyNow(records: readonly ProducerRecord[], sizes: Int32Array, call: BulkDelivery): void {
    const nowMs = this.cluster.clock.now();
    for (let i = call.admitted; i < records.length; i++) {
      const record = records[i]!;
      const topic = this.knownTopic(record);
      if (topic === undefined || !this.pool.tryReserve(sizes[i]!)) return;
      const batch = this.append(record, sizes[i]!, topic, nowMs);
      call.add(batch, batch.recordCount - 1);
    }
  }

  /** Admits the rest of a bulk call at the head of the admission order, waiting where needed. */
  private async admitManySlow(records: readonly ProducerRecord[], sizes: Int32Array, call: BulkDelivery): Promise<EnqueuedMany> {
    while (call.admitted < records.length) {
      try {
        const i = call.admitted;
        const batch = await this.admitWaiting(records[i]!, sizes[i]!);
        call.add(batch, batch.recordCount - 1);
        this.admitManyNow(records, sizes, call);
      } catch (error) {
        if (call.admitted === 0) throw error;
        call.refuse(error instanceof Error ? error : new Error(String(error)));
        break;
      }
    }
    return { delivered: call.delivered() };
  }

  /** Encodes an admitted record into its partition's batch; returns that batch (the record is its newest). */
  private append(record: ProducerRecord, sizeBytes: number, topic: TopicInfo, nowMs: number): ProducerBatch {
    const numPartitions = topic.partitions.length;
    const key = record.key;
    const keyed = key !== null && key !== undefined;
    let partition: number;
    if (record.partition !== undefined) partition = record.partition;
    else if (keyed) partition = partitionForKey(keyBytes(key), numPartitions);
    else partition = this.sticky.partition(record.topic, numPartitions, topic.available);
    let flags: number;
    try {
      flags = this.accumulator.append(record.topic, partition, record.timestamp ?? nowMs, key, record.value, record.headers, sizeBytes, nowMs);
    } catch (error) {
      this.pool.release(sizeBytes); // bad input recordBytesOf let through: nothing was appended
      throw error;
    }
    if ((flags & APPENDED_CLOSED_FULL) !== 0) {
      if (!keyed && record.partition === undefined) this.sticky.onBatchClosed(record.topic, partition, numPartitions, topic.available);
      this.wake(0);
    } else if ((flags & APPENDED_NEW_BATCH) !== 0) {
      // A new batch: the sender looks again when its linger is over.
      this.wake(this.flushing > 0 || this.closing || this.pool.hasWaiters ? 0 : this.lingerMs);
    }
    return this.accumulator.newestBatch(record.topic, partition);
  }

  // ---- sending ------------------------------------------------------------------------------

  /** Runs the sender after `delayMs` (coalesced with any earlier scheduled run). */
  private wake(delayMs: number): void {
    if (this.closed) return;
    const atMs = this.cluster.clock.now() + Math.max(0, delayMs);
    if (this.wakeTimer !== undefined && this.wakeAtMs <= atMs) return;
    this.wakeTimer?.cancel();
    this.wakeAtMs = atMs;
    this.wakeTimer = this.cluster.scheduler.after(Math.max(0, delayMs), () => {
      this.wakeTimer = undefined;
      this.wakeAtMs = Number.POSITIVE_INFINITY;
      this.runSender();
    });
  }

  /**
   * One pass of the sender: fail expired batches, drain every ready partition whose leader has
   * a free request slot, pack the sends into requests per broker, and schedule the next pass.
   */
  private runSender(): void {
    if (this.closed) return;
    const now = this.cluster.clock.now();
    for (const batch of this.accumulator.expire(now - this.deliveryTimeoutMs)) {
      this.fail([batch], new TimeoutError(`delivery of ${batch.recordCount} record(s) to ${batch.topic}-${batch.partition}`, this.deliveryTimeoutMs, { cause: batch.lastError }));
    }
    const sendNow = this.flushing > 0 || this.closing || this.pool.hasWaiters;
    const { ready, nextReadyMs } = this.accumulator.ready(now, sendNow, this.maxInFlightPerPartition);
    const byAddress = new Map<string, PartitionSend[]>();
    let leaderMissing = false;
    for (const queue of ready) {
      const leader = this.cluster.metadata.leaderOf(queue.topic, queue.partition);
      if (leader === undefined) {
        leaderMissing = true;
        continue;
      }
      if ((this.inFlightByAddress.get(leader.address) ?? 0) >= this.maxInFlight) continue;
      if (queue.inFlight.length > 0) {
        // Pipelining: only on an ordered stream, and only to the broker the earlier sends went to.
        if (this.inFlightAddress.get(queue) !== leader.address || !this.pipelines(leader.address)) continue;
      }
      this.inFlightAddress.set(queue, leader.address);
      const wasOpen = !queue.batches[queue.batches.length - 1]!.closed;
      const batches = this.accumulator.drain(queue, PRODUCE_PARTITION_SEND_BYTES_MAX);
      if (wasOpen && queue.batches.length === 0) {
        // An open batch just left: if it was the sticky partition's, null-key records go elsewhere next.
        const topic = this.cluster.metadata.topic(queue.topic);
        if (topic !== undefined) this.sticky.onBatchClosed(queue.topic, queue.partition, topic.partitions.length, topic.available);
      }
      let list = byAddress.get(leader.address);
      if (list === undefined) {
        list = [];
        byAddress.set(leader.address, list);
      }
      list.push({ queue, batches });
    }
    for (const [address, sends] of byAddress) this.sendToBroker(address, sends);
    if (leaderMissing || this.cluster.metadataStale) this.refreshMetadataSoon();
    let nextMs = nextReadyMs;
    const oldest = this.accumulator.oldestQueuedMs();
    if (oldest !== undefined) nextMs = Math.min(nextMs ?? Number.POSITIVE_INFINITY, oldest + this.deliveryTimeoutMs);
    if (nextMs !== undefined) this.wake(nextMs - now);
  }

  /** Encodes the sends' batches (once) and packs them into requests within maxRequestBytes and the in-flight cap. */
  private sendToBroker(address: string, sends: PartitionSend[]): void {
    let request: PartitionSend[] = [];
    let requestBytes = 0;
    const flushRequest = (): void => {
      if (request.length === 0) return;
      this.sendRequest(address, request);
      request = [];
      requestBytes = 0;
    };
    for (const send of sends) {
      let bytes = 0;
      try {
        for (const batch of send.batches) bytes += this.encode(batch).length;
      } catch (error) {
        // Bad input the checks in send() did not catch: these records can never be sent.
        this.fail(this.accumulator.complete(send.queue), error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (request.length > 0 && requestBytes + bytes > this.maxRequestBytes) flushRequest();
      if (request.length === 0 && (this.inFlightByAddress.get(address) ?? 0) >= this.maxInFlight) {
        this.accumulator.giveBack(send.queue); // no request slot: it leaves on a later pass, bytes kept
        continue;
      }
      request.push(send);
      requestBytes += bytes;
    }
    flushRequest();
  }

  /** Completes a batch's encoding once (header, compression, CRC); retries reuse the bytes. */
  private encode(batch: ProducerBatch): Buffer {
    return batch.finish();
  }

  /**
   * Drops a finished batch's bytes: a reused buffer goes back to the pool once every request
   * carrying it has been serialized (nothing can read it then); a buffer of its own at once
   * (the requests hold their own references).
   */
  private recycle(batch: ProducerBatch): void {
    if (!batch.finished) return;
    batch.endEarly(); // a finished batch grows no more: its buffer is accounted like any other
    if (batch.pooledBuffer === undefined) {
      batch.releaseBuffer();
      return;
    }
    if (batch.framesUnencoded > 0) return;
    this.batchBuffers.give(batch.releaseBuffer()!);
  }

  private transport(address: string): ProduceTransport {
    let transport = this.transports.get(address);
    if (transport === undefined) {
      const connection = this.cluster.connection(address);
      const ordered = this.maxInFlightPerPartition > 1;
      const grpc = this.useStream ? new StreamProduceTransport(connection, this.cluster.scheduler, ordered) : new UnaryProduceTransport(connection);
      // The data listener when the broker has one (and transport is "auto"), else gRPC; chosen per send.
      transport = this.cluster.transport === "grpc" ? grpc : new DataProduceTransport(address, () => this.cluster.dataConnection(address), grpc, ordered);
      this.transports.set(address, transport);
    }
    return transport;
  }

  /** Whether sends to `address` may pipeline per partition (an ordered stream, not unary). */
  private pipelines(address: string): boolean {
    const transport = this.transport(address);
    return (transport instanceof StreamProduceTransport || transport instanceof DataProduceTransport) && transport.pipelines;
  }

  private sendRequest(address: string, sends: PartitionSend[]): void {
    this.inFlightByAddress.set(address, (this.inFlightByAddress.get(address) ?? 0) + 1);
    const byTopic = new Map<string, ProducePartitionFrame[]>();
    const carried: ProducerBatch[] = [];
    for (const { queue, batches } of sends) {
      for (const batch of batches) {
        batch.attempts++;
        batch.framesUnencoded++;
        carried.push(batch);
      }
      let partitions = byTopic.get(queue.topic);
      if (partitions === undefined) {
        partitions = [];
        byTopic.set(queue.topic, partitions);
      }
      // Several batches of a partition travel as one `records` field: the broker appends them all or none.
      partitions.push({ partition: queue.partition, batches: batches.map((b) => b.encoded!) });
    }
    let encoded = false;
    const request: ProduceFrame = {
      correlationId: 0,
      acks: this.acks,
      timeoutMs: this.cluster.requestTimeoutMs,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      onEncoded: () => {
        if (encoded) return;
        encoded = true;
        for (const batch of carried) {
          batch.framesUnencoded--;
          this.recycle(batch);
        }
      },
    };
    let sent: Promise<api.ProduceResponse | undefined>;
    try {
      sent = this.transport(address).send(request, this.cluster.requestTimeoutMs);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent
      .then(
        (response) => this.onResponse(sends, response),
        (error: unknown) => {
          if (this.closed) return;
          for (const send of sends) this.settle(send, { ok: false, error, fromBroker: false });
        },
      )
      .finally(() => {
        this.inFlightByAddress.set(address, (this.inFlightByAddress.get(address) ?? 1) - 1);
        this.wake(0);
      });
  }

  private onResponse(sends: readonly PartitionSend[], response: api.ProduceResponse | undefined): void {
    if (this.closed) return; // close() already failed these batches
    if (response === undefined) {
      for (const send of sends) this.settle(send, { ok: true, baseOffset: -1, logAppendTimeMs: -1 });
      return;
    }
    const results = new Map<string, api.PartitionProduceResult>();
    for (const topic of response.topics) {
      for (const partition of topic.partitions) results.set(`${topic.topic}\u0000${partition.partition}`, partition);
    }
    for (const send of sends) {
      const result = results.get(`${send.queue.topic}\u0000${send.queue.partition}`);
      if (result === undefined) {
        this.settle(send, { ok: false, error: new SluiceError("UNKNOWN_SERVER_ERROR", `no result for ${send.queue.topic}-${send.queue.partition} in the produce response`), fromBroker: true });
        continue;
      }
      const error = fromErrorInfo(result.error);
      if (error === null) this.settle(send, { ok: true, baseOffset: result.baseOffset, logAppendTimeMs: result.logAppendTimeMs });
      else this.settle(send, { ok: false, error, fromBroker: true });
    }
  }

  /**
   * Records how a send ended, then acts on its partition's sends oldest first: acknowledges
   * those that succeeded while nothing before them failed; once one failed, blocks the
   * partition until every send in flight settled, then hands them all to `onSendError`.
   */
  private settle(send: PartitionSend, outcome: SendOutcome): void {
    if (this.closed) return;
    const { queue } = send;
    this.outcomes.set(send.batches, outcome);
    for (;;) {
      const head = queue.inFlight[0];
      if (head === undefined) return;
      const settled = this.outcomes.get(head);
      if (settled === undefined || !settled.ok) break;
      this.outcomes.delete(head);
      this.succeed(queue, settled.baseOffset, settled.logAppendTimeMs);
    }
    let allSettled = true;
    let poisoned = false;
    for (const sent of queue.inFlight) {
      const settled = this.outcomes.get(sent);
      if (settled === undefined) allSettled = false;
      else if (!settled.ok) {
        queue.blocked = true;
        if (settled.fromBroker) poisoned = true;
      }
    }
    if (!queue.blocked || !allSettled) return;
    const first = this.outcomes.get(queue.inFlight[0]!);
    for (const sent of queue.inFlight) this.outcomes.delete(sent);
    if (poisoned) {
      // The ordered stream now fails this partition for good: its resend needs a fresh stream.
      const address = this.inFlightAddress.get(queue);
      const transport = address === undefined ? undefined : this.transports.get(address);
      if ((transport instanceof StreamProduceTransport || transport instanceof DataProduceTransport) && transport.pipelines) transport.reset(`${queue.topic}-${queue.partition} failed on this ordered stream`);
    }
    this.onSendError(queue, first !== undefined && !first.ok ? first.error : undefined);
  }

  /**
   * The oldest send of a partition failed as a whole (the broker appended none of it), and every
   * send behind it has settled: retry them all in order, split, or fail the oldest for good.
   */
  private onSendError(queue: PartitionQueue, error: unknown): void {
    if (this.closed) return;
    const batches = queue.inFlight.flat();
    const head = queue.inFlight[0]!;
    for (const batch of head) batch.lastError = error;
    const now = this.cluster.clock.now();
    if (error instanceof SluiceError && error.errorName === "MESSAGE_TOO_LARGE") {
      if (batches.length > 1) {
        // Which batch is too large is not said: send them one at a time to find out.
        this.accumulator.retry(queue, batches, now, batches.length);
        return;
      }
      const only = batches[0]!;
      if (only.recordCount > 1) {
        this.accumulator.retry(queue, this.split(only), now, 2);
        return;
      }
    }
    const oldest = batches[0]!;
    const decision = this.cluster.retry.decide(error, oldest.attempts, now, oldest.createdMs + this.deliveryTimeoutMs, this.cluster.random);
    if (!decision.retry) {
      const failure =
        error instanceof SluiceError && error.retriable
          ? new TimeoutError(`delivery of ${head.reduce((n, b) => n + b.recordCount, 0)} record(s) to ${queue.topic}-${queue.partition} (${oldest.attempts} attempts)`, this.deliveryTimeoutMs, { cause: error })
          : error instanceof Error
            ? error
            : new Error(String(error));
      this.fail(this.accumulator.complete(queue), failure);
      // Sends that followed the failed one go again, in order (their own deadlines still apply).
      this.accumulator.retry(queue, queue.inFlight.flat(), now);
      return;
    }
    if (needsMetadataRefresh(error)) this.refreshMetadataSoon();
    this.accumulator.retry(queue, batches, now + decision.delayMs);
  }

  /**
   * Halves a batch the broker found too large; both halves are encoded anew and sent in order.
   * Its records are read back from its bytes (the inputs were encoded on append and not kept:
   * this path is rare, and keeping them would cost every record an object).
   */
  private split(batch: ProducerBatch): ProducerBatch[] {
    // The halves are built from views of this batch's bytes: let its buffer go to the collector
    // rather than back to the pool (rare; nothing else reads it after this).
    batch.forgetBuffer();
    const records = decodeRecordBatch(batch.finish()).records;
    const half = Math.ceil(batch.recordCount / 2);
    // No size limit: a half is never larger than the batch was, but its deltas may take a byte more.
    const format = { compression: this.codec, limitBytes: Number.MAX_SAFE_INTEGER };
    const parts: ProducerBatch[] = [];
    for (const [from, to] of [
      [0, half],
      [half, batch.recordCount],
    ] as const) {
      const part = new ProducerBatch(batch.topic, batch.partition, batch.createdMs, format, estimateRecordBytes(records[from]!));
      for (let i = from; i < to; i++) {
        const record = records[i]!;
        assert(part.append(batch.timestamps[i]!, record.key, record.value, record.headers, estimateRecordBytes(record)), "a split batch takes every record");
      }
      part.attempts = batch.attempts;
      part.lastError = batch.lastError;
      parts.push(part);
    }
    // The buffer-pool bytes stay with the halves (whatever the estimates miss, with the first).
    parts[1]!.reservedBytes = Math.min(parts[1]!.reservedBytes, batch.reservedBytes);
    parts[0]!.reservedBytes = batch.reservedBytes - parts[1]!.reservedBytes;
    // The records' promises hang on the original batch: it settles once both halves have.
    void Promise.all([parts[0]!.outcome, parts[1]!.outcome]).then(([first, second]) => batch.settle(new Split(first, second, half)));
    return parts;
  }

  /** The broker appended the partition's oldest send: its batches got consecutive offsets from `baseOffset`. */
  private succeed(queue: PartitionQueue, baseOffset: number, logAppendTimeMs: number): void {
    const batches = this.accumulator.complete(queue);
    let offset = baseOffset;
    for (const batch of batches) {
      this.pool.release(batch.reservedBytes);
      batch.settle(new Acknowledged(queue.topic, queue.partition, baseOffset < 0 ? -1 : offset, logAppendTimeMs, batch.timestamps));
      if (baseOffset >= 0) offset += batch.recordCount;
      batch.finished = true;
      this.recycle(batch);
    }
  }

  /** Fails batches for good (they are no longer queued or in flight). */
  private fail(batches: readonly ProducerBatch[], error: Error): void {
    const failed = new Failed(error);
    for (const batch of batches) {
      this.pool.release(batch.reservedBytes);
      batch.settle(failed);
      batch.finished = true;
      this.recycle(batch);
    }
  }

  /** Resolves once every batch is acknowledged or failed for good (a split batch once both halves are). */
  private whenDone(batches: readonly ProducerBatch[]): Promise<void> {
    return Promise.all(batches.map((batch) => batch.outcome)).then(() => undefined);
  }

  /**
   * Refreshes metadata in the background, then lets the sender look again. Refreshes are at
   * least one retry backoff apart, so a partition that stays leaderless cannot cause a storm.
   */
  private refreshMetadataSoon(): void {
    if (this.metadataRefreshPending || this.closed) return;
    this.metadataRefreshPending = true;
    const topics = new Set<string>();
    for (const batch of this.accumulator.all()) topics.add(batch.topic);
    this.cluster
      .refreshMetadata([...topics])
      .catch(() => undefined)
      .then(() => {
        this.wake(0);
        return this.cluster.sleep(this.cluster.retry.backoffMs);
      })
      .finally(() => {
        this.metadataRefreshPending = false;
        this.wake(0); // partitions still without a leader get another look (and refresh)
      });
  }
}
