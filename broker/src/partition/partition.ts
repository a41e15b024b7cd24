/**
 * One partition as this broker leads it: the storage log plus what the log alone does not know —
 * the leader epoch, the high watermark, acks semantics, and who is waiting for new data.
 *
 * acks on a single broker (the in-sync replica set is the leader alone):
 *   acks=-1 (all) the append has completed as durably as the fsync policy makes it (under
 *                 `always`: fdatasync'ed, group-committed) and the high watermark covers it.
 *                 Fails with NOT_ENOUGH_REPLICAS when min.insync.replicas > 1.
 *   acks=1        the same on one broker: the append resolves only once the policy's sync is
 *                 done (under `always` that is a real fsync; under `interval`/`never` it is the
 *                 write). Replication will make 1 answer before followers have the data.
 *   acks=0        the append is still awaited (gRPC needs an answer, and awaiting gives
 *                 back-pressure), but the answer carries neither offsets nor errors.
 *
 * High watermark: the end of the log once an append is durable per the fsync policy. Appends
 * resolve in offset order (storage contract), so the watermark only moves forward and never
 * covers bytes a crash could lose under `always`. Fetches never read at or above it.
 *
 * Invariants: `highWatermark <= log.logEndOffset`; listeners are called after every advance with
 * the number of bytes that became visible, and `visibleBytes` (bytes made visible since the
 * partition was opened) grows by the same amount first; a deleted partition refuses everything
 * with UNKNOWN_TOPIC_OR_PARTITION.
 */
import { OffsetOutOfRangeError, SluiceError, assert } from "@sluice/protocol";
import type { TopicConfig } from "../metadata/topic-config.js";
import { checkBatchSizes, prepareBatchesForAppend } from "./batch-policy.js";
import { SINGLE_BROKER_ISR_SIZE } from "./limits.js";
import type { PartitionLog, TimestampLookup } from "./log-port.js";

export type Acks = -1 | 0 | 1;

export interface PartitionAppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The time stamped into the batches for LogAppendTime topics, otherwise -1. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly sizeBytes: number;
}

export interface PartitionReadResult {
  readonly records: Buffer;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /**
   * `visibleBytes` when the read took its high watermark: any growth of `visibleBytes` past this
   * mark is data the read did not see (a long poll counts it as new without a listener).
   */
  readonly visibleBytesMark: number;
}

/** Called with the number of bytes that just became visible below the high watermark. */
export type WatermarkListener = (newBytes: number) => void;

export class Partition {
  private hwm: number;
  private visible = 0;
  private readonly listeners = new Set<WatermarkListener>();
  private deleted = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly leaderEpoch: number,
    private readonly log: PartitionLog,
    private topicConfig: TopicConfig,
  ) {
    // Everything a log holds when it is opened survived a restart (recovery truncated the rest).
    this.hwm = log.logEndOffset;
  }

  get highWatermark(): number {
    return this.hwm;
  }
  get logStartOffset(): number {
    return this.log.logStartOffset;
  }
  /** Bytes that became visible (moved below the high watermark) since this partition was opened. */
  get visibleBytes(): number {
    return this.visible;
  }
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }
  get sizeBytes(): number {
    return this.log.sizeBytes;
  }
  get config(): TopicConfig {
    return this.topicConfig;
  }
  get isDeleted(): boolean {
    return this.deleted;
  }

  /** Applies new topic configs; false when storage-level keys wait for the log's next open. */
  updateConfig(config: TopicConfig): boolean {
    this.topicConfig = config;
    return this.log.updateConfig(config);
  }

  async append(records: Buffer, acks: Acks): Promise<PartitionAppendResult> {
    this.checkLive();
    if (acks === -1 && this.topicConfig.minInsyncReplicas > SINGLE_BROKER_ISR_SIZE) {
      throw new SluiceError(
        "NOT_ENOUGH_REPLICAS",
        `min.insync.replicas is ${this.topicConfig.minInsyncReplicas} but ${SINGLE_BROKER_ISR_SIZE} replica is in sync`,
      );
    }
    checkBatchSizes(records, this.topicConfig.maxMessageBytes);
    const prepared = prepareBatchesForAppend(records, this.topicConfig);
    const result = await this.log.append(prepared, this.leaderEpoch);
    this.advanceHighWatermark(result.lastOffset + 1, prepared.length);
    return {
      baseOffset: result.baseOffset,
      lastOffset: result.lastOffset,
      logAppendTimeMs: result.logAppendTimeMs ?? -1,
      logStartOffset: this.log.logStartOffset,
      sizeBytes: prepared.length,
    };
  }

  /**
   * Whole batches from `offset`, never at or above the high watermark. An offset between the
   * watermark and the log end is valid and simply has nothing visible yet. With `buffer`, the
   * records may be a view of it (see PartitionLog.read).
   */
  async read(offset: number, maxBytes: number, buffer?: Buffer): Promise<PartitionReadResult> {
    this.checkLive();
    const start = this.log.logStartOffset;
    const end = this.log.logEndOffset;
    if (offset < start || offset > end) throw new OffsetOutOfRangeError(offset, start, end);
    const hwm = this.hwm;
    const visibleBytesMark = this.visible;
    if (offset >= hwm) return { records: Buffer.alloc(0), highWatermark: hwm, logStartOffset: start, visibleBytesMark };
    const { records } = await this.log.read(offset, maxBytes, hwm, buffer);
    return { records, highWatermark: hwm, logStartOffset: this.log.logStartOffset, visibleBytesMark };
  }

  /** First offset at or after `timestampMs` below the high watermark, or null. */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampLookup | null> {
    this.checkLive();
    const found = await this.log.offsetForTimestamp(timestampMs);
    if (found === null || found.offset >= this.hwm) return null;
    return found;
  }

  /** Registers a listener for watermark advances; returns the function that removes it. */
  onAdvance(listener: WatermarkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Marks the partition deleted and wakes its waiters (they will see the error on re-read). */
  markDeleted(): void {
    this.deleted = true;
    this.wake(0);
  }

  /** Wakes every waiter with no new bytes (shutdown: let long polls answer now). */
  wake(newBytes = 0): void {
    for (const listener of [...this.listeners]) listener(newBytes);
  }

  private advanceHighWatermark(next: number, newBytes: number): void {
    assert(next <= this.log.logEndOffset, `high watermark ${next} beyond log end ${this.log.logEndOffset}`);
    if (next <= this.hwm) return;
    this.hwm = next;
    this.visible += newBytes;
    this.wake(newBytes);
  }

  private checkLive(): void {
    if (this.deleted) throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `${this.topic}-${this.partition} was deleted`);
  }
}
