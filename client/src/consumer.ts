/**
 * The Consumer (no groups yet): assigned partitions, explicit positions, `for await` iteration.
 *
 * Fetching is pipelined: fetched bytes are buffered per partition as they arrived (batches are
 * decoded only when iteration reaches them), and a partition is fetched again as soon as less
 * than one fetch's worth (`partitionMaxBytes`) of it is buffered — so the next Fetch is in flight
 * while the previous response is being consumed. Each partition is in at most one Fetch at a
 * time; Fetches long-poll on the broker (`maxWaitMs`, `minBytes`). A broker's partitions are
 * spread over up to FETCHES_IN_FLIGHT_PER_BROKER_MAX concurrent fetches, so new data on one
 * partition answers that partition's long poll at once.
 *
 * Positions: `position(tp)` is the offset of the next record iteration yields. A partition
 * without a position gets one from `autoOffsetReset` (earliest / latest via ListOffsets; "none"
 * makes iteration throw NoOffsetError). OFFSET_OUT_OF_RANGE from a fetch is handled the same
 * way ("none" throws OffsetOutOfRangeError). A seek discards what was buffered for the partition
 * and any answer still in flight for it (each partition has an epoch; stale answers are dropped).
 *
 * Errors: retriable fetch errors are retried with backoff after a metadata refresh and are not
 * seen by the caller; a partition with a non-retriable error (corrupt data, no offset, a topic
 * that does not exist) makes iteration throw that error until the partition is seeked or
 * unassigned.
 *
 * Bounds: buffered bytes ≤ maxBufferedBytes for issuing new fetches, each partition ≤ one
 * partitionMaxBytes ahead; fetches in flight ≤ assigned partitions.
 */
import {
  batchSizeAt,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  CorruptRecordError,
  decodeRecordBatch,
  HeaderOffset,
  OffsetOutOfRangeError,
  readInt64,
  SluiceError,
  fromErrorInfo,
  type api,
  type RecordHeader,
} from "@sluice/protocol";
import { ClusterClient, positiveIntOption, type ClientOptions } from "./cluster.js";
import { ClientClosedError, ConfigError, NoOffsetError } from "./errors.js";
import {
  CONSUMER_BUFFERED_BYTES_MAX_DEFAULT,
  FETCH_MAX_BYTES_DEFAULT,
  FETCH_MAX_BYTES_MAX,
  FETCH_MAX_WAIT_MS_DEFAULT,
  FETCH_MAX_WAIT_MS_MAX,
  FETCH_MIN_BYTES_DEFAULT,
  FETCHES_IN_FLIGHT_PER_BROKER_MAX,
  METADATA_WAIT_MS_DEFAULT,
  PARTITION_FETCH_MAX_BYTES_DEFAULT,
} from "./limits.js";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, listOffsets, type PartitionOffset, type PartitionOffsetQuery } from "./list-offsets.js";
import { needsMetadataRefresh } from "./retry.js";
import type { TimerHandle } from "./runtime.js";

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface ConsumerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: "create" | "log-append";
  /** Views into the fetched bytes: copy them if they must outlive the record. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export interface ConsumerBatch {
  readonly topic: string;
  readonly partition: number;
  /** Records at or after the position, in offset order (may be empty: control or compacted batches). */
  readonly records: readonly ConsumerRecord[];
  /** The high watermark the broker reported with these bytes. */
  readonly highWatermark: number;
}

export type AutoOffsetReset = "earliest" | "latest" | "none";

export interface ConsumerOptions extends ClientOptions {
  /** Where a partition without a position starts; default "latest" (Kafka's). */
  readonly autoOffsetReset?: AutoOffsetReset;
  readonly maxWaitMs?: number;
  readonly minBytes?: number;
  /** Budget of one Fetch response. */
  readonly maxBytes?: number;
  readonly partitionMaxBytes?: number;
  /** Fetched-but-unconsumed bytes above which no new fetch is issued. */
  readonly maxBufferedBytes?: number;
  /** How long to wait for an assigned topic to appear in metadata before failing; default 5 s. */
  readonly metadataWaitMs?: number;
}

interface Chunk {
  readonly bytes: Buffer;
  at: number;
  readonly highWatermark: number;
}

class PartitionState {
  readonly key: string;
  position: number | undefined = undefined;
  fetchOffset = 0;
  /** Bumped by seeks, pauses and reassignments: fetch answers from an older epoch are dropped. */
  epoch = 0;
  paused = false;
  fetching = false;
  resetting = false;
  chunks: Chunk[] = [];
  bufferedBytes = 0;
  highWatermark = -1;
  logStartOffset = -1;
  backoffUntilMs = 0;
  failures = 0;
  /** A non-retriable problem, thrown by iteration until a seek. */
  error: Error | undefined = undefined;
  missingSinceMs: number | undefined = undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.key = `${topic}\u0000${partition}`;
  }

  clearBuffer(): void {
    this.chunks = [];
    this.bufferedBytes = 0;
  }
}

const resetPolicies = new Set<AutoOffsetReset>(["earliest", "latest", "none"]);

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly cluster: ClusterClient;
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly partitionMaxBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly metadataWaitMs: number;
  private states: PartitionState[] = [];
  private readonly byKey = new Map<string, PartitionState>();
  private readonly fetches = new Set<{ cancel: () => void }>();
  private readonly fetchesByAddress = new Map<string, number>();
  private bufferedBytes = 0;
  private cursor = 0;
  private closed = false;
  private waiters: (() => void)[] = [];
  private pumpTimer: TimerHandle | undefined;
  private pumpAtMs = Number.POSITIVE_INFINITY;
  private metadataRefreshing = false;

  constructor(options: ConsumerOptions) {
    this.cluster = new ClusterClient(options);
    const reset = options.autoOffsetReset ?? "latest";
    if (!resetPolicies.has(reset)) throw new ConfigError("autoOffsetReset", `must be "earliest", "latest" or "none", got ${String(reset)}`);
    this.autoOffsetReset = reset;
    this.maxWaitMs = positiveIntOption("maxWaitMs", options.maxWaitMs, FETCH_MAX_WAIT_MS_DEFAULT, FETCH_MAX_WAIT_MS_MAX, 0);
    this.minBytes = positiveIntOption("minBytes", options.minBytes, FETCH_MIN_BYTES_DEFAULT, FETCH_MAX_BYTES_MAX, 0);
    this.maxBytes = positiveIntOption("maxBytes", options.maxBytes, FETCH_MAX_BYTES_DEFAULT, FETCH_MAX_BYTES_MAX, BATCH_HEADER_BYTES);
    this.partitionMaxBytes = positiveIntOption("partitionMaxBytes", options.partitionMaxBytes, PARTITION_FETCH_MAX_BYTES_DEFAULT, FETCH_MAX_BYTES_MAX, BATCH_HEADER_BYTES);
    this.maxBufferedBytes = positiveIntOption("maxBufferedBytes", options.maxBufferedBytes, CONSUMER_BUFFERED_BYTES_MAX_DEFAULT);
    this.metadataWaitMs = positiveIntOption("metadataWaitMs", options.metadataWaitMs, METADATA_WAIT_MS_DEFAULT, Number.MAX_SAFE_INTEGER, 0);
  }

  // ---- assignment and positions -------------------------------------------------------------

  /** Replaces the assignment. Partitions kept keep their positions and buffered data. */
  assign(partitions: readonly TopicPartition[]): void {
    this.ensureOpen();
    const next: PartitionState[] = [];
    const seen = new Set<string>();
    for (const tp of partitions) {
      if (typeof tp.topic !== "string" || tp.topic.length === 0 || !Number.isInteger(tp.partition) || tp.partition < 0) {
        throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `invalid topic partition ${JSON.stringify(tp)}`);
      }
      const key = `${tp.topic}\u0000${tp.partition}`;
      if (seen.has(key)) continue;
      seen.add(key);
      next.push(this.byKey.get(key) ?? new PartitionState(tp.topic, tp.partition));
    }
    for (const state of this.states) {
      if (!seen.has(state.key)) {
        state.epoch++;
        this.bufferedBytes -= state.bufferedBytes;
        state.clearBuffer();
        this.byKey.delete(state.key);
      }
    }
    this.states = next;
    for (const state of next) this.byKey.set(state.key, state);
    this.cursor = 0;
    void this.cluster.refreshMetadata([...new Set(next.map((s) => s.topic))]).catch(() => undefined);
    this.pump();
    this.notify();
  }

  assignment(): TopicPartition[] {
    return this.states.map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** The next record's offset for `tp`, or undefined before it is known. */
  position(tp: TopicPartition): number | undefined {
    return this.state(tp).position;
  }

  /** The last high watermark a fetch reported for `tp` (-1 before any). */
  highWatermark(tp: TopicPartition): number {
    return this.state(tp).highWatermark;
  }

  /** Next records of `tp` will start at `offset`. */
  seek(tp: TopicPartition, offset: number): void {
    this.ensureOpen();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new SluiceError("INVALID_REQUEST", `seek offset must be an integer >= 0, got ${String(offset)}`);
    this.setPosition(this.state(tp), offset);
  }

  /** Moves to the log start of each partition (all assigned when omitted). */
  seekToBeginning(partitions?: readonly TopicPartition[]): Promise<void> {
    return this.seekToTimestampSpec(partitions, EARLIEST_TIMESTAMP);
  }

  /** Moves to the high watermark: only records produced from now on are read. */
  seekToEnd(partitions?: readonly TopicPartition[]): Promise<void> {
    return this.seekToTimestampSpec(partitions, LATEST_TIMESTAMP);
  }

  /**
   * Moves to the first record whose timestamp is >= `timestampMs` (to the end when there is
   * none), for each partition (all assigned when omitted).
   */
  async seekToTimestamp(timestampMs: number, partitions?: readonly TopicPartition[]): Promise<void> {
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
      throw new SluiceError("INVALID_REQUEST", `timestamp must be an integer >= 0 (ms), got ${String(timestampMs)}`);
    }
    const states = this.statesOf(partitions);
    const found = await this.listOffsets(states.map((s) => ({ topic: s.topic, partition: s.partition, timestamp: timestampMs })));
    const missing = states.filter((_, i) => (found[i]?.offset ?? -1) < 0);
    const latest = missing.length === 0 ? [] : await this.listOffsets(missing.map((s) => ({ topic: s.topic, partition: s.partition, timestamp: LATEST_TIMESTAMP })));
    let j = 0;
    for (const [i, state] of states.entries()) {
      const offset = (found[i]?.offset ?? -1) >= 0 ? found[i]!.offset : latest[j++]!.offset;
      this.setPosition(state, offset);
    }
  }

  /** The log start offset of each partition (all assigned when omitted), from the broker. */
  async beginningOffsets(partitions?: readonly TopicPartition[]): Promise<PartitionOffset[]> {
    this.ensureOpen();
    return this.listOffsets(this.statesOf(partitions).map((s) => ({ topic: s.topic, partition: s.partition, timestamp: EARLIEST_TIMESTAMP })));
  }

  /** The high watermark of each partition (all assigned when omitted), from the broker. */
  async endOffsets(partitions?: readonly TopicPartition[]): Promise<PartitionOffset[]> {
    this.ensureOpen();
    return this.listOffsets(this.statesOf(partitions).map((s) => ({ topic: s.topic, partition: s.partition, timestamp: LATEST_TIMESTAMP })));
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const state = this.state(tp);
      if (state.paused) continue;
      state.paused = true;
      // Forget what was prefetched: resume re-fetches from the position (simple and always in order).
      state.epoch++;
      this.bufferedBytes -= state.bufferedBytes;
      state.clearBuffer();
      if (state.position !== undefined) state.fetchOffset = state.position;
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.state(tp).paused = false;
    this.pump();
    this.notify();
  }

  paused(): TopicPartition[] {
    return this.states.filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  // ---- iteration ----------------------------------------------------------------------------

  /**
   * Yields records of all assigned, unpaused partitions until `close()`. Leaving the loop early
   * (break, throw) keeps the position at the record after the last one yielded.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    for (;;) {
      const batch = await this.nextBatch();
      if (batch === undefined) return;
      const { state, epoch, records, nextOffset } = batch;
      let finished = false;
      try {
        for (const record of records) {
          if (state.epoch !== epoch || this.closed) break;
          state.position = record.offset + 1;
          yield record;
        }
        finished = true;
      } finally {
        if (state.epoch === epoch && state.position !== undefined) {
          if (finished) {
            if (state.position < nextOffset) state.position = nextOffset;
          } else {
            // Stopped inside a batch whose bytes are already consumed: fetch again from the position.
            this.rewind(state);
          }
        }
      }
    }
  }

  /** Yields one decoded record batch at a time (cheaper for bulk consumers). */
  async *batches(): AsyncIterableIterator<ConsumerBatch> {
    for (;;) {
      const batch = await this.nextBatch();
      if (batch === undefined) return;
      const { state, epoch, records, nextOffset, highWatermark } = batch;
      if (state.epoch !== epoch) continue;
      state.position = nextOffset;
      yield { topic: state.topic, partition: state.partition, records, highWatermark };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pumpTimer?.cancel();
    for (const fetch of this.fetches) fetch.cancel();
    this.fetches.clear();
    this.cluster.close();
    this.notify();
  }

  // ---- internals: positions -----------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closed) throw new ClientClosedError("consumer");
  }

  private state(tp: TopicPartition): PartitionState {
    const state = this.byKey.get(`${tp.topic}\u0000${tp.partition}`);
    if (state === undefined) throw new SluiceError("INVALID_REQUEST", `${tp.topic}-${tp.partition} is not assigned`);
    return state;
  }

  private statesOf(partitions: readonly TopicPartition[] | undefined): PartitionState[] {
    return partitions === undefined ? [...this.states] : partitions.map((tp) => this.state(tp));
  }

  /** Drops buffered data of a partition and fetches again from its position. */
  private rewind(state: PartitionState): void {
    state.epoch++;
    if (state.position !== undefined) state.fetchOffset = state.position;
    this.bufferedBytes -= state.bufferedBytes;
    state.clearBuffer();
    this.pump();
  }

  private setPosition(state: PartitionState, offset: number): void {
    state.epoch++;
    state.position = offset;
    state.fetchOffset = offset;
    state.error = undefined;
    state.failures = 0;
    state.backoffUntilMs = 0;
    this.bufferedBytes -= state.bufferedBytes;
    state.clearBuffer();
    this.pump();
    this.notify();
  }

  private async seekToTimestampSpec(partitions: readonly TopicPartition[] | undefined, timestamp: number): Promise<void> {
    this.ensureOpen();
    const states = this.statesOf(partitions);
    const found = await this.listOffsets(states.map((s) => ({ topic: s.topic, partition: s.partition, timestamp })));
    for (const [i, state] of states.entries()) this.setPosition(state, found[i]!.offset);
  }

  private listOffsets(queries: readonly PartitionOffsetQuery[]): ReturnType<typeof listOffsets> {
    return listOffsets(this.cluster, queries, this.cluster.requestTimeoutMs, this.metadataWaitMs);
  }

  /** Gives a partition without a position one, per autoOffsetReset. */
  private reset(state: PartitionState): void {
    if (this.autoOffsetReset === "none") {
      state.error = new NoOffsetError(state.topic, state.partition);
      this.notify();
      return;
    }
    state.resetting = true;
    const epoch = state.epoch;
    const timestamp = this.autoOffsetReset === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
    this.listOffsets([{ topic: state.topic, partition: state.partition, timestamp }])
      .then(
        ([found]) => {
          // Only if nobody seeked meanwhile (a seek bumps the epoch).
          if (state.epoch === epoch && !this.closed && found !== undefined) this.setPosition(state, found.offset);
        },
        (error: unknown) => {
          if (state.epoch === epoch && !this.closed) this.onPartitionError(state, error);
        },
      )
      .finally(() => {
        state.resetting = false;
        // A seek made while resetting found the partition busy: look again now.
        this.pump();
      });
  }

  // ---- internals: fetching ------------------------------------------------------------------

  /** Issues fetches for every partition that may fetch now; schedules itself for backoffs. */
  private pump(): void {
    if (this.closed) return;
    const now = this.cluster.clock.now();
    let nextMs = Number.POSITIVE_INFINITY;
    let needMetadata = false;
    const byAddress = new Map<string, PartitionState[]>();
    for (const state of this.states) {
      if (state.paused || state.error !== undefined || state.fetching || state.resetting) continue;
      if (state.backoffUntilMs > now) {
        nextMs = Math.min(nextMs, state.backoffUntilMs);
        continue;
      }
      if (state.bufferedBytes >= this.partitionMaxBytes) continue;
      const topic = this.cluster.metadata.topicState(state.topic);
      const partitions = topic?.kind === "known" ? topic.info.partitions.length : 0;
      if (topic === undefined || topic.kind === "error" || state.partition >= partitions) {
        state.missingSinceMs ??= now;
        if (now - state.missingSinceMs >= this.metadataWaitMs) {
          state.error = topic?.kind === "error" ? topic.error : new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${state.partition} of topic "${state.topic}" does not exist (${partitions} partitions)`);
          this.notify();
          continue;
        }
        needMetadata = true;
        continue;
      }
      state.missingSinceMs = undefined;
      if (state.position === undefined) {
        this.reset(state);
        continue;
      }
      if (this.bufferedBytes >= this.maxBufferedBytes) continue;
      const leader = this.cluster.metadata.leaderOf(state.topic, state.partition);
      if (leader === undefined) {
        needMetadata = true;
        continue;
      }
      const list = byAddress.get(leader.address) ?? [];
      list.push(state);
      byAddress.set(leader.address, list);
    }
    for (const [address, states] of byAddress) {
      // Spread the partitions over the free fetch slots of this broker: a partition's new data
      // then wakes its own long poll instead of waiting for another partition's round trip.
      const slots = FETCHES_IN_FLIGHT_PER_BROKER_MAX - (this.fetchesByAddress.get(address) ?? 0);
      if (slots <= 0) continue;
      const groups = Math.min(slots, states.length);
      for (let g = 0; g < groups; g++) this.fetch(address, states.filter((_, i) => i % groups === g));
    }
    if (needMetadata) {
      this.refreshMetadata();
      nextMs = Math.min(nextMs, now + this.cluster.retry.backoffMs);
    }
    if (this.cluster.metadataStale) this.refreshMetadata();
    if (nextMs !== Number.POSITIVE_INFINITY) this.schedulePump(nextMs - now);
  }

  private schedulePump(delayMs: number): void {
    const atMs = this.cluster.clock.now() + delayMs;
    if (this.pumpTimer !== undefined && this.pumpAtMs <= atMs) return;
    this.pumpTimer?.cancel();
    this.pumpAtMs = atMs;
    this.pumpTimer = this.cluster.scheduler.after(delayMs, () => {
      this.pumpTimer = undefined;
      this.pumpAtMs = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }

  private refreshMetadata(): void {
    if (this.metadataRefreshing || this.closed) return;
    this.metadataRefreshing = true;
    this.cluster
      .refreshMetadata([...new Set(this.states.map((s) => s.topic))])
      .catch(() => undefined)
      .finally(() => {
        this.metadataRefreshing = false;
        this.pump();
      });
  }

  private fetch(address: string, states: PartitionState[]): void {
    this.fetchesByAddress.set(address, (this.fetchesByAddress.get(address) ?? 0) + 1);
    const epochs = states.map((s) => s.epoch);
    const byTopic = new Map<string, api.PartitionFetchDataInput[]>();
    for (const state of states) {
      state.fetching = true;
      const partitions = byTopic.get(state.topic) ?? [];
      partitions.push({ partition: state.partition, fetchOffset: state.fetchOffset, partitionMaxBytes: this.partitionMaxBytes });
      byTopic.set(state.topic, partitions);
    }
    const request: api.FetchRequestInput = {
      maxWaitMs: this.maxWaitMs,
      minBytes: this.minBytes,
      maxBytes: this.maxBytes,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    };
    let call: { response: Promise<api.FetchResponse>; cancel: () => void };
    try {
      // The broker's data listener when there is one to use (see cluster.ts), else gRPC.
      const connection = this.cluster.dataConnection(address) ?? this.cluster.connection(address);
      call = connection.fetch(request, this.cluster.requestTimeoutMs + this.maxWaitMs);
    } catch (error) {
      call = { response: Promise.reject(error), cancel: () => undefined };
    }
    this.fetches.add(call);
    call.response.then(
      (response) => this.onFetchResponse(states, epochs, response),
      (error: unknown) => {
        for (const [i, state] of states.entries()) {
          if (state.epoch === epochs[i]) this.onPartitionError(state, error);
        }
      },
    ).finally(() => {
      this.fetches.delete(call);
      this.fetchesByAddress.set(address, (this.fetchesByAddress.get(address) ?? 1) - 1);
      for (const state of states) state.fetching = false;
      this.pump();
    });
  }

  private onFetchResponse(states: readonly PartitionState[], epochs: readonly number[], response: api.FetchResponse): void {
    if (this.closed) return;
    const results = new Map<string, api.PartitionFetchResult>();
    for (const topic of response.topics) {
      for (const p of topic.partitions) results.set(`${topic.topic}\u0000${p.partition}`, p);
    }
    let arrived = false;
    for (const [i, state] of states.entries()) {
      if (state.epoch !== epochs[i] || state.paused) continue;
      const result = results.get(state.key);
      if (result === undefined) continue; // not answered this time (budget used up): fetch again
      const error = fromErrorInfo(result.error);
      if (error !== null) {
        if (error.errorName === "OFFSET_OUT_OF_RANGE") this.onOutOfRange(state, result);
        else this.onPartitionError(state, error);
        continue;
      }
      state.failures = 0;
      state.highWatermark = result.highWatermark;
      state.logStartOffset = result.logStartOffset;
      if (result.records.length === 0) continue;
      try {
        arrived = this.buffer(state, result.records, result.highWatermark) || arrived;
      } catch (scanError) {
        state.error = scanError instanceof Error ? scanError : new Error(String(scanError));
        arrived = true;
      }
    }
    if (arrived) this.notify();
  }

  /** Buffers the whole batches of a fetched chunk and advances the fetch offset past them. */
  private buffer(state: PartitionState, records: Buffer, highWatermark: number): boolean {
    let at = 0;
    let nextOffset = state.fetchOffset;
    while (records.length - at >= BATCH_LENGTH_PREFIX_BYTES) {
      const size = batchSizeAt(records, at);
      if (size < BATCH_HEADER_BYTES) throw new CorruptRecordError(`batch length ${size - BATCH_LENGTH_PREFIX_BYTES} is smaller than a header (${state.topic}-${state.partition})`, at);
      if (records.length - at < size) break;
      const lastOffset = readInt64(records, at + HeaderOffset.baseOffset) + records.readInt32BE(at + HeaderOffset.lastOffsetDelta);
      nextOffset = Math.max(nextOffset, lastOffset + 1);
      at += size;
    }
    if (at === 0) return false; // only a partial batch: the broker returns at least one whole batch, so ask again
    state.chunks.push({ bytes: at === records.length ? records : records.subarray(0, at), at: 0, highWatermark });
    state.bufferedBytes += at;
    this.bufferedBytes += at;
    state.fetchOffset = nextOffset;
    return true;
  }

  private onOutOfRange(state: PartitionState, result: api.PartitionFetchResult): void {
    if (this.autoOffsetReset === "none") {
      state.error = new OffsetOutOfRangeError(state.fetchOffset, result.logStartOffset, result.highWatermark);
      this.notify();
      return;
    }
    state.epoch++;
    state.position = undefined;
    this.bufferedBytes -= state.bufferedBytes;
    state.clearBuffer();
  }

  private onPartitionError(state: PartitionState, error: unknown): void {
    if (this.closed) return;
    if (error instanceof SluiceError && error.retriable) {
      state.failures++;
      state.backoffUntilMs = this.cluster.clock.now() + this.cluster.retry.backoffFor(state.failures, this.cluster.random);
      if (needsMetadataRefresh(error)) this.refreshMetadata();
      return;
    }
    state.error = error instanceof Error ? error : new Error(String(error));
    this.notify();
  }

  // ---- internals: consumption ---------------------------------------------------------------

  private notify(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The next decoded batch at or after its partition's position, waiting for data as needed. */
  private async nextBatch(): Promise<{ state: PartitionState; epoch: number; records: ConsumerRecord[]; nextOffset: number; highWatermark: number } | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const failed = this.states.find((s) => s.error !== undefined && !s.paused);
      if (failed !== undefined) throw failed.error;
      const batch = this.takeBatch();
      if (batch !== undefined) return batch;
      if (this.states.some((s) => s.error !== undefined && !s.paused)) continue; // decoding just failed
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
      });
    }
  }

  private takeBatch(): { state: PartitionState; epoch: number; records: ConsumerRecord[]; nextOffset: number; highWatermark: number } | undefined {
    const count = this.states.length;
    for (let step = 0; step < count; step++) {
      const index = (this.cursor + step) % count;
      const state = this.states[index]!;
      if (state.paused || state.error !== undefined || state.chunks.length === 0 || state.position === undefined) continue;
      const chunk = state.chunks[0]!;
      let decoded;
      try {
        decoded = decodeRecordBatch(chunk.bytes, chunk.at);
      } catch (error) {
        state.error = error instanceof Error ? error : new Error(String(error));
        this.bufferedBytes -= state.bufferedBytes;
        state.clearBuffer();
        continue;
      }
      chunk.at += decoded.sizeBytes;
      state.bufferedBytes -= decoded.sizeBytes;
      this.bufferedBytes -= decoded.sizeBytes;
      if (chunk.at >= chunk.bytes.length) state.chunks.shift();
      // Round-robin: the next call starts after this partition.
      this.cursor = (index + 1) % count;
      this.pump();
      const position = state.position;
      const nextOffset = decoded.header.baseOffset + decoded.header.lastOffsetDelta + 1;
      if (nextOffset <= position) {
        step--; // this partition may have more; look again (the cursor moved past it)
        this.cursor = index;
        continue;
      }
      const records: ConsumerRecord[] = [];
      if (!decoded.isControl) {
        for (const r of decoded.records) {
          if (r.offset < position) continue;
          records.push({
            topic: state.topic,
            partition: state.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            timestampType: decoded.timestampType,
            key: r.key,
            value: r.value,
            headers: r.headers,
          });
        }
      }
      return { state, epoch: state.epoch, records, nextOffset, highWatermark: chunk.highWatermark };
    }
    return undefined;
  }
}
