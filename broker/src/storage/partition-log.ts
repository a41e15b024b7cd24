/**
 * A partition's log: an ordered list of segments in one directory, the last one active.
 * This is what replication (the partition log is the Raft log), fetch, consumer offsets and
 * compaction stand on.
 *
 * Invariants:
 * - Offsets are assigned once: the log end offset only grows, except by an explicit
 *   `truncateTo`/`truncateFullyAndStartAt`; after a crash it is the end of the last valid batch.
 * - An append either lands whole (every batch of the input, stamped in place, written with one
 *   writev together with other queued appends) or not at all: input is validated before
 *   anything is written, and a failed write is cut back off the file.
 * - Every mutation (append, roll, truncate, retention, swap, close) runs one at a time through
 *   the log's queue; reads and fsync rounds run beside it.
 * - Under fsync `always` an append resolves only after an fdatasync covering its bytes
 *   (group-commit.ts); segment files created or deleted are made durable with a directory fsync
 *   before anything depends on them.
 * - Checkpoints move before destructive steps: the log start offset is persisted before the
 *   segments below it are unlinked; the recovery point is lowered before a truncation cuts below
 *   it; it is raised only after the segments below it and their indexes are synced.
 * - A disk failure while mutating takes the log offline (`StorageError` on every call); reopening
 *   it runs recovery. A corrupt batch found by a read is counted, reported and never served.
 * - A read sees one consistent segment list (it pins the view it starts with, segment-views.ts)
 *   and never fails because the log changed under it: segments that retention, truncation or a
 *   compaction swap remove stay readable through a held handle until the last read that could
 *   reach them ends, and a truncation waits for the reads of its segment (segment.ts). So reads
 *   need no retries and cannot be starved by a busy cleaner.
 */
import {
  Attributes,
  BATCH_HEADER_BYTES,
  CompressionCodec,
  CorruptRecordError,
  HeaderOffset,
  OffsetOutOfRangeError,
  SluiceError,
  StorageError,
  asOffset,
  computeBatchCrc,
  stampBatch,
  validateBatch,
  writeInt64,
  type LeaderEpoch,
  type Offset,
} from "@sluice/protocol";
import { LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE, writeCheckpoint } from "./checkpoint.js";
import { systemClock, type Clock } from "./clock.js";
import { defaultLogConfig, deletes, type LogConfig } from "./config.js";
import {
  AppendQueueFullError,
  FencedLeaderEpochError,
  NonContiguousAppendError,
  SegmentSwapConflictError,
  TruncateInsideBatchError,
} from "./errors.js";
import { FileHandlePool } from "./fs/file-pool.js";
import { isNotFound, joinPath, type StorageFs } from "./fs/storage-fs.js";
import { GroupCommit } from "./group-commit.js";
import { IndexCache } from "./index-cache.js";
import type { IoThrottle } from "./io-throttle.js";
import type { EpochEndOffset, EpochEntry } from "./leader-epoch-cache.js";
import { LeaderEpochCache } from "./leader-epoch-cache.js";
import {
  APPEND_BYTES_MAX,
  APPEND_QUEUE_MAX,
  INDEX_CACHE_BYTES_MAX_DEFAULT,
  MAX_MESSAGE_BYTES_MAX,
  OPEN_FILES_MAX_DEFAULT,
  READ_BYTES_MAX,
  READ_LOOKAHEAD_BYTES_MIN,
  RECORD_BYTES_MIN,
  WRITE_COALESCE_BUFFERS_MAX,
  WRITE_COALESCE_BYTES_MAX,
} from "./limits.js";
import { loadLog, writeEpochCheckpoint } from "./log-loader.js";
import { emptyLogStats, type LogStats, type RecoveryEvent, type SegmentsDeletedEvent, type StorageObserver } from "./observer.js";
import { selectSegmentsToDelete, type RetentionReason } from "./retention.js";
import { LogSegment, SegmentWriteError, type AppendedBatch, type SegmentInfo, type SegmentRead } from "./segment.js";
import { CLEAN_SHUTDOWN_FILE } from "./segment-files.js";
import { CleanedSegmentWriter, applySwap, writeSwapManifest } from "./segment-swap.js";
import { SegmentViews } from "./segment-views.js";
import type { BatchSummary } from "./batch-scan.js";

const INT32_MAX = 0x7fff_ffff;

export interface PartitionLogOptions {
  readonly fs: StorageFs;
  /** The partition's directory (`<root>/<topic>-<partition>`). */
  readonly dir: string;
  readonly config?: LogConfig;
  readonly clock?: Clock;
  /** Shared handle pool (the log manager's); a private one is made when absent. */
  readonly pool?: FileHandlePool;
  readonly observer?: StorageObserver;
  /** Base offset of the first segment when the directory is new or empty (default 0). */
  readonly initialOffset?: number;
  /** Create the directory if missing (default true). */
  readonly create?: boolean;
  /** Shared bound on loaded index memory (the log manager's); a private one is made when absent. */
  readonly indexCache?: IndexCache;
}

export interface AppendResult {
  readonly baseOffset: Offset;
  readonly lastOffset: Offset;
  /** The broker time stamped into the batches when the topic uses LogAppendTime. */
  readonly logAppendTimeMs: number | undefined;
}

export interface ReplicatedAppendOptions {
  /**
   * Accept batches that skip offsets (a compacted leader log): the first batch may start
   * above the log end and batches need only increase. Default false: Raft's strict contiguity.
   */
  readonly allowGaps?: boolean;
}

export interface ReadOptions {
  /** Exclusive upper bound (the high watermark): no batch with lastOffset >= maxOffset is returned. */
  readonly maxOffset?: number;
  /**
   * A scratch buffer the read may fill and return a view of, instead of allocating one (a fresh
   * megabyte per read costs page faults and GC). It is used when it holds maxBytes plus one
   * index interval; the caller must not reuse it while it still needs the previous result.
   */
  readonly buffer?: Buffer;
}

export interface ReadResult {
  /** Whole batches, CRC-checked, as stored. Empty at the log end or when the next batch crosses maxOffset. */
  readonly records: Buffer;
  /** Base offset of the first batch returned (may be below the offset asked for). */
  readonly firstOffset: Offset;
  /** Where to read next: one past the last offset returned (the asked offset when nothing was). */
  readonly nextOffset: Offset;
  readonly logStartOffset: Offset;
  readonly logEndOffset: Offset;
}

export interface TimestampOffset {
  /** Base offset of the first batch (at or after the log start) with maxTimestamp >= the target. */
  readonly offset: Offset;
  /** That batch's maxTimestamp. */
  readonly timestampMs: number;
}

export interface RetentionResult {
  readonly deletedSegments: number;
  readonly deletedBytes: number;
  readonly logStartOffset: Offset;
}

/** A batch of an append's input, validated. */
interface InputBatch {
  readonly at: number;
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffsetDelta: number;
  readonly maxTimestampMs: number;
  readonly leaderEpoch: number;
}

interface AppendOp {
  readonly kind: "append";
  readonly leader: boolean;
  readonly records: Buffer;
  readonly batches: readonly InputBatch[];
  readonly epoch: number;
  readonly allowGaps: boolean;
  readonly resolve: (value: { result: AppendResult; seq: number }) => void;
  readonly reject: (error: unknown) => void;
}

interface TaskOp {
  readonly kind: "task";
  readonly run: () => Promise<void>;
}

type QueueOp = AppendOp | TaskOp;

/** Validates every batch of an append's input before anything is written. */
function parseInput(records: Buffer, maxBatchBytes: number, leader: boolean): InputBatch[] {
  if (records.byteLength === 0) throw new CorruptRecordError("append carries no batches", 0);
  if (records.byteLength > APPEND_BYTES_MAX) {
    throw new SluiceError("RECORD_LIST_TOO_LARGE", `${records.byteLength} bytes > ${APPEND_BYTES_MAX} bytes in one append`);
  }
  const batches: InputBatch[] = [];
  let at = 0;
  while (at < records.byteLength) {
    const header = validateBatch(records, at, maxBatchBytes);
    const sizeBytes = header.batchLength + 12;
    if (leader && (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1)) {
      throw new CorruptRecordError(`recordCount ${header.recordCount} does not match lastOffsetDelta ${header.lastOffsetDelta}`, at);
    }
    const uncompressed = (header.attributes & Attributes.codecMask) === CompressionCodec.none;
    if (uncompressed && header.recordCount * RECORD_BYTES_MIN > sizeBytes - BATCH_HEADER_BYTES) {
      throw new CorruptRecordError(`recordCount ${header.recordCount} cannot fit in ${sizeBytes} bytes`, at);
    }
    batches.push({
      at,
      sizeBytes,
      baseOffset: header.baseOffset,
      lastOffsetDelta: header.lastOffsetDelta,
      maxTimestampMs: header.maxTimestamp,
      leaderEpoch: header.partitionLeaderEpoch,
    });
    at += sizeBytes;
  }
  return batches;
}

export class PartitionLog {
  readonly dir: string;
  readonly stats: LogStats = emptyLogStats();
  /** What opening the log found and did. */
  readonly recovery: RecoveryEvent;

  private currentConfig: LogConfig;
  private readonly fs: StorageFs;
  private readonly pool: FileHandlePool;
  private readonly clock: Clock;
  private readonly observer: StorageObserver;
  private readonly ctx: { pool: FileHandlePool; dir: string; indexIntervalBytes: number; indexCache: IndexCache };
  /** The segment lists in use: the log's (replaced, never mutated in place) and those reads still hold. */
  private readonly views: SegmentViews<LogSegment>;
  private logStart: number;
  private logEnd: number;
  private recoveryPoint: number;
  private readonly epochs: LeaderEpochCache;
  private readonly commit: GroupCommit;
  private queue: QueueOp[] = [];
  private draining = false;
  private state: "open" | "closing" | "closed" | "failed" = "open";
  private failure: StorageError | undefined;
  private closing: Promise<void> | undefined;
  private writeSeq = 0;
  private durableEnd: number;
  /** Lowest log end a truncation set while the current sync round ran. */
  private truncationFloor = Infinity;
  private firstUnflushedWriteMs: number | undefined;
  private writeInFlight: Promise<void> | undefined;

  private constructor(
    options: PartitionLogOptions,
    config: LogConfig,
    clock: Clock,
    pool: FileHandlePool,
    ctx: { pool: FileHandlePool; dir: string; indexIntervalBytes: number; indexCache: IndexCache },
    loaded: Awaited<ReturnType<typeof loadLog>>,
  ) {
    this.fs = options.fs;
    this.dir = options.dir;
    this.currentConfig = config;
    this.clock = clock;
    this.pool = pool;
    this.ctx = ctx;
    this.observer = options.observer ?? {};
    this.views = new SegmentViews<LogSegment>(loaded.segments);
    this.logStart = loaded.logStartOffset;
    this.logEnd = loaded.logEndOffset;
    this.recoveryPoint = loaded.recoveryPoint;
    this.epochs = loaded.epochs;
    this.durableEnd = loaded.logEndOffset;
    this.recovery = loaded.report;
    this.commit = new GroupCommit(
      (target) => this.syncUpTo(target),
      // A round waits for a write that is landing, so it covers those bytes too and fdatasync
      // does not race a write to the same file.
      async () => {
        if (this.writeInFlight !== undefined) await this.writeInFlight.catch(() => undefined);
      },
    );
  }

  /** Opens (creating or recovering as needed) the log in `options.dir`. */
  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const config = options.config ?? defaultLogConfig;
    const clock = options.clock ?? systemClock;
    const pool = options.pool ?? new FileHandlePool(options.fs, OPEN_FILES_MAX_DEFAULT);
    const indexCache = options.indexCache ?? new IndexCache(INDEX_CACHE_BYTES_MAX_DEFAULT);
    const ctx = { pool, dir: options.dir, indexIntervalBytes: config.indexIntervalBytes, indexCache };
    let loaded: Awaited<ReturnType<typeof loadLog>>;
    try {
      loaded = await loadLog({ fs: options.fs, pool, ctx, clock, initialOffset: options.initialOffset ?? 0, create: options.create ?? true });
    } catch (error) {
      pool.forgetUnder(`${options.dir}/`);
      if (error instanceof SluiceError) throw error;
      throw new StorageError(`opening log ${options.dir} failed`, { cause: error });
    }
    options.observer?.onRecovery?.(loaded.report);
    return new PartitionLog(options, config, clock, pool, ctx, loaded);
  }

  // ---- state -----------------------------------------------------------------------------

  get config(): LogConfig {
    return this.currentConfig;
  }

  /**
   * Applies a changed topic config (a validated `logConfig()`). Size, age, retention, message
   * size, timestamp type and fsync policy apply to the next operation; a new index interval
   * applies to index entries added from now on.
   */
  updateConfig(config: LogConfig): void {
    this.currentConfig = config;
    this.ctx.indexIntervalBytes = config.indexIntervalBytes;
  }

  get logStartOffset(): Offset {
    return asOffset(this.logStart);
  }

  /** The next offset to be assigned. */
  get logEndOffset(): Offset {
    return asOffset(this.logEnd);
  }

  /** Every offset below this is on disk (covered by an fdatasync). */
  get durableEndOffset(): Offset {
    return asOffset(Math.min(this.durableEnd, this.logEnd));
  }

  /** Offset below which segments and indexes are known durable (recovery rescans from here). */
  get recoveryPointOffset(): Offset {
    return asOffset(this.recoveryPoint);
  }

  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** The log's segments, oldest first (the last is active). */
  private get segments(): readonly LogSegment[] {
    return this.views.current;
  }

  /** Segment lists that reads started before a change still hold (for tests). */
  get heldSegmentViews(): number {
    return this.views.heldViews;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1] as LogSegment;
  }

  private unusableError(): StorageError {
    if (this.state === "failed" && this.failure !== undefined) return this.failure;
    return new StorageError(`log ${this.dir} is closed`);
  }

  private checkUsable(): void {
    if (this.state !== "open") throw this.unusableError();
  }

  /** Takes the log offline: every queued and later call fails with the returned error. */
  private fail(error: unknown): StorageError {
    if (this.state === "failed" && this.failure !== undefined) return this.failure;
    const failure = error instanceof StorageError ? error : new StorageError(`log ${this.dir} failed`, { cause: error });
    this.state = "failed";
    this.failure = failure;
    this.commit.fail(failure);
    const queued = this.queue;
    this.queue = [];
    for (const op of queued) {
      if (op.kind === "append") op.reject(failure);
      else void op.run();
    }
    return failure;
  }

  // ---- the queue -------------------------------------------------------------------------

  private kick(): void {
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0] as QueueOp;
        if (head.kind === "task") {
          this.queue.shift();
          await head.run();
          continue;
        }
        const group: AppendOp[] = [];
        let bytes = 0;
        while (this.queue.length > 0 && group.length < WRITE_COALESCE_BUFFERS_MAX) {
          const next = this.queue[0] as QueueOp;
          if (next.kind !== "append") break;
          if (group.length > 0 && bytes + next.records.byteLength > WRITE_COALESCE_BYTES_MAX) break;
          this.queue.shift();
          group.push(next);
          bytes += next.records.byteLength;
        }
        await this.writeGroup(group);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Runs `fn` in the queue. Typed errors pass through; anything else takes the log offline. */
  private runTask<T>(fn: () => Promise<T>, allowWhileClosing = false): Promise<T> {
    if (!(this.state === "open" || (allowWhileClosing && this.state === "closing"))) return Promise.reject(this.unusableError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: "task",
        run: async () => {
          if (this.state === "failed" || this.state === "closed") {
            reject(this.unusableError());
            return;
          }
          try {
            resolve(await fn());
          } catch (error) {
            if (error instanceof SluiceError && !(error instanceof StorageError)) reject(error);
            else reject(this.fail(error));
          }
        },
      });
      this.kick();
    });
  }

  // ---- append ----------------------------------------------------------------------------

  /**
   * Leader append: validates every batch of `records` (CRC, sizes, magic, max.message.bytes),
   * stamps base offsets and `leaderEpoch` into the headers in place, writes the same bytes, and
   * resolves with the offsets assigned — under fsync `always`, once they are durable.
   */
  async append(records: Buffer, leaderEpoch: number): Promise<AppendResult> {
    this.checkUsable();
    if (!Number.isSafeInteger(leaderEpoch) || leaderEpoch < 0 || leaderEpoch > INT32_MAX) {
      throw new SluiceError("INVALID_REQUEST", `leader epoch ${leaderEpoch} is not a non-negative int32`);
    }
    const batches = parseInput(records, this.currentConfig.maxMessageBytes, true);
    return this.enqueueAppend({ leader: true, records, batches, epoch: leaderEpoch, allowGaps: false });
  }

  /**
   * Follower append: batches keep the offsets and epochs already stamped in them. The first
   * must start at the log end, each next batch right after the previous one (unless
   * `allowGaps`), and epochs may not go backwards.
   */
  async appendReplicated(records: Buffer, options: ReplicatedAppendOptions = {}): Promise<AppendResult> {
    this.checkUsable();
    const batches = parseInput(records, MAX_MESSAGE_BYTES_MAX, false);
    const allowGaps = options.allowGaps ?? false;
    let previous: InputBatch | undefined;
    for (const batch of batches) {
      if (batch.leaderEpoch < 0) throw new SluiceError("INVALID_RECORD", `replicated batch at ${batch.baseOffset} has no leader epoch`);
      if (previous !== undefined) {
        const expected = previous.baseOffset + previous.lastOffsetDelta + 1;
        if (allowGaps ? batch.baseOffset < expected : batch.baseOffset !== expected) {
          throw new NonContiguousAppendError(expected, batch.baseOffset, "replicated batches must follow each other");
        }
        if (batch.leaderEpoch < previous.leaderEpoch) throw new FencedLeaderEpochError(batch.leaderEpoch, previous.leaderEpoch);
      }
      previous = batch;
    }
    return this.enqueueAppend({ leader: false, records, batches, epoch: -1, allowGaps });
  }

  private async enqueueAppend(op: Omit<AppendOp, "kind" | "resolve" | "reject">): Promise<AppendResult> {
    if (this.queue.length >= APPEND_QUEUE_MAX) throw new AppendQueueFullError(this.queue.length);
    const { result, seq } = await new Promise<{ result: AppendResult; seq: number }>((resolve, reject) => {
      this.queue.push({ kind: "append", ...op, resolve, reject });
      this.kick();
    });
    if (this.currentConfig.fsync.kind === "always") await this.commit.waitDurable(seq);
    return result;
  }

  private shouldRoll(active: LogSegment, sizeBytes: number, lastOffset: number, nowMs: number): boolean {
    if (active.sizeBytes === 0) return !active.fitsOffset(lastOffset);
    if (active.sizeBytes + sizeBytes > this.currentConfig.segmentBytes) return true;
    if (!active.fitsOffset(lastOffset)) return true;
    return active.rollStartMs !== undefined && nowMs - active.rollStartMs >= this.currentConfig.segmentMs;
  }

  /** Writes a group of queued appends with one writev (rolling first if the first needs it). */
  private async writeGroup(group: AppendOp[]): Promise<void> {
    if (this.state === "failed" || this.state === "closed") {
      for (const op of group) op.reject(this.unusableError());
      return;
    }
    const nowMs = this.clock.nowMs();
    const logAppendTime = this.currentConfig.timestampType === "LogAppendTime";
    let end = this.logEnd;
    let latestEpoch: number = this.epochs.latestEpoch() ?? -1;
    let active = this.active;
    let plannedBytes = active.sizeBytes;
    const accepted: AppendOp[] = [];
    const results: AppendResult[] = [];
    const metas: AppendedBatch[] = [];
    const newEpochs: Array<readonly [number, number]> = [];

    for (let i = 0; i < group.length; i++) {
      const op = group[i] as AppendOp;
      const first = op.batches[0] as InputBatch;
      const last = op.batches[op.batches.length - 1] as InputBatch;
      let firstOffset: number;
      let lastOffset: number;
      if (op.leader) {
        if (op.epoch < latestEpoch) {
          op.reject(new FencedLeaderEpochError(op.epoch, latestEpoch));
          continue;
        }
        let count = 0;
        for (const batch of op.batches) count += batch.lastOffsetDelta + 1;
        firstOffset = end;
        lastOffset = end + count - 1;
      } else {
        if (op.allowGaps ? first.baseOffset < end : first.baseOffset !== end) {
          op.reject(new NonContiguousAppendError(end, first.baseOffset));
          continue;
        }
        if (first.leaderEpoch < latestEpoch) {
          op.reject(new FencedLeaderEpochError(first.leaderEpoch, latestEpoch));
          continue;
        }
        firstOffset = first.baseOffset;
        lastOffset = last.baseOffset + last.lastOffsetDelta;
      }
      const size = op.records.byteLength;
      if (accepted.length === 0) {
        if (this.shouldRoll(active, size, lastOffset, nowMs)) {
          try {
            await this.rollLocked(firstOffset);
          } catch (error) {
            const failure = this.fail(error);
            for (const rest of group.slice(i)) rest.reject(failure);
            return;
          }
          active = this.active;
          plannedBytes = active.sizeBytes;
        }
      } else if (plannedBytes + size > this.currentConfig.segmentBytes || !active.fitsOffset(lastOffset)) {
        // Does not fit this segment: it (and the rest) go first in the next group, after a roll.
        this.queue.unshift(...group.slice(i));
        break;
      }

      if (op.leader) {
        let offset = end;
        for (const batch of op.batches) {
          stampBatch(op.records, batch.at, offset, op.epoch);
          let maxTimestampMs = batch.maxTimestampMs;
          if (logAppendTime) {
            // LogAppendTime changes CRC-covered bytes, so this path re-checksums (still no decoding).
            const attributes = op.records.readInt16BE(batch.at + HeaderOffset.attributes) | Attributes.timestampTypeLogAppend;
            op.records.writeInt16BE(attributes, batch.at + HeaderOffset.attributes);
            writeInt64(op.records, batch.at + HeaderOffset.maxTimestamp, nowMs);
            op.records.writeUInt32BE(computeBatchCrc(op.records, batch.at, batch.sizeBytes), batch.at + HeaderOffset.crc);
            maxTimestampMs = nowMs;
          }
          metas.push({ sizeBytes: batch.sizeBytes, baseOffset: offset, lastOffset: offset + batch.lastOffsetDelta, maxTimestampMs });
          offset += batch.lastOffsetDelta + 1;
        }
        if (op.epoch > latestEpoch) {
          newEpochs.push([op.epoch, firstOffset]);
          latestEpoch = op.epoch;
        }
        results.push({ baseOffset: asOffset(firstOffset), lastOffset: asOffset(lastOffset), logAppendTimeMs: logAppendTime ? nowMs : undefined });
      } else {
        for (const batch of op.batches) {
          metas.push({ sizeBytes: batch.sizeBytes, baseOffset: batch.baseOffset, lastOffset: batch.baseOffset + batch.lastOffsetDelta, maxTimestampMs: batch.maxTimestampMs });
          if (batch.leaderEpoch > latestEpoch) {
            newEpochs.push([batch.leaderEpoch, batch.baseOffset]);
            latestEpoch = batch.leaderEpoch;
          }
        }
        results.push({ baseOffset: asOffset(firstOffset), lastOffset: asOffset(lastOffset), logAppendTimeMs: undefined });
      }
      end = lastOffset + 1;
      plannedBytes += size;
      accepted.push(op);
    }
    if (accepted.length === 0) return;

    const seq = ++this.writeSeq;
    const writing = active.append(accepted.map((op) => op.records), metas, nowMs, seq);
    this.writeInFlight = writing;
    try {
      await writing;
    } catch (error) {
      const rolledBack = error instanceof SegmentWriteError && error.rolledBack;
      const cause = error instanceof SegmentWriteError ? error.cause : error;
      if (this.writeInFlight === writing) this.writeInFlight = undefined;
      const storageError = new StorageError(`append to ${this.dir} failed`, { cause });
      // A write cut back cleanly leaves the log as it was; otherwise the log goes offline.
      if (!rolledBack) this.fail(storageError);
      for (const op of accepted) op.reject(storageError);
      return;
    }
    if (this.writeInFlight === writing) this.writeInFlight = undefined;
    this.logEnd = end;
    this.commit.noteWritten(seq);
    if (this.currentConfig.fsync.kind !== "always") this.firstUnflushedWriteMs ??= nowMs;
    this.stats.writesTotal++;
    this.stats.appendsTotal += accepted.length;
    for (const op of accepted) this.stats.appendedBytesTotal += op.records.byteLength;
    if (newEpochs.length > 0) {
      for (const [epoch, startOffset] of newEpochs) this.epochs.assign(epoch, startOffset);
      try {
        await writeEpochCheckpoint(this.fs, this.dir, this.epochs, this.pool.transient);
      } catch (error) {
        const failure = this.fail(error);
        for (const op of accepted) op.reject(failure);
        return;
      }
    }
    accepted.forEach((op, i) => op.resolve({ result: results[i] as AppendResult, seq }));
  }

  // ---- durability ------------------------------------------------------------------------

  /** One group-commit round: fdatasync every segment written since its last sync. */
  private async syncUpTo(target: number): Promise<void> {
    const startedMs = this.clock.monotonicMs();
    const endAtStart = this.logEnd;
    const durableBefore = this.commit.durable;
    this.truncationFloor = Infinity;
    const dirty = this.segments.filter((s) => s.lastWriteSeq > s.syncedSeq);
    try {
      for (const segment of dirty) {
        try {
          await segment.datasync();
        } catch (error) {
          if (segment.retired && isNotFound(error)) continue;
          throw error;
        }
        segment.syncedSeq = Math.max(segment.syncedSeq, target);
      }
    } catch (error) {
      throw this.fail(error);
    }
    this.durableEnd = Math.min(endAtStart, this.truncationFloor);
    this.stats.fsyncRoundsTotal++;
    this.observer.onFsync?.({ dir: this.dir, durationMs: this.clock.monotonicMs() - startedMs, files: dirty.length, writes: target - durableBefore });
  }

  /** Makes every write so far durable (any fsync policy). */
  async flush(): Promise<void> {
    this.checkUsable();
    this.firstUnflushedWriteMs = undefined;
    await this.commit.flush();
  }

  /** For fsync `interval:<ms>`: flushes if the oldest unflushed write is that old. The log manager calls this. */
  async flushIfDue(): Promise<boolean> {
    const policy = this.currentConfig.fsync;
    if (this.state !== "open" || policy.kind !== "interval" || this.firstUnflushedWriteMs === undefined) return false;
    if (this.clock.nowMs() - this.firstUnflushedWriteMs < policy.intervalMs) return false;
    await this.flush();
    return true;
  }

  private async writeRecoveryPoint(offset: number): Promise<void> {
    await writeCheckpoint(this.fs, this.dir, RECOVERY_POINT_FILE, [[offset]], this.pool.transient);
    this.recoveryPoint = offset;
  }

  // ---- roll ------------------------------------------------------------------------------

  /** Rolls the active segment now (no-op when it is empty). */
  roll(): Promise<void> {
    return this.runTask(async () => {
      if (this.active.sizeBytes > 0) await this.rollLocked(this.logEnd);
    });
  }

  private async rollLocked(newBase: number): Promise<void> {
    const old = this.active;
    if (old.sizeBytes === 0) {
      // An empty active segment is replaced (a replicated append that skips far ahead).
      if (old.baseOffset === newBase) return;
      await this.removeSegment(old);
      const fresh = await LogSegment.create(this.ctx, newBase);
      this.views.publish([...this.segments.slice(0, -1), fresh]);
      await this.fs.fsyncDir(this.dir);
      await this.writeRecoveryPoint(newBase);
      if ((this.segments[0] as LogSegment).baseOffset > this.logStart) {
        this.logStart = (this.segments[0] as LogSegment).baseOffset;
        await writeCheckpoint(this.fs, this.dir, LOG_START_OFFSET_FILE, [[this.logStart]], this.pool.transient);
      }
      return;
    }
    // The old segment, its indexes and the new file's name are durable before the recovery
    // point moves past the old segment.
    await old.datasync();
    old.syncedSeq = Math.max(old.syncedSeq, old.lastWriteSeq);
    await old.finalize();
    const fresh = await LogSegment.create(this.ctx, newBase);
    this.views.publish([...this.segments, fresh]);
    await this.fs.fsyncDir(this.dir);
    await this.writeRecoveryPoint(newBase);
    this.stats.rollsTotal++;
    this.observer.onRoll?.({ dir: this.dir, baseOffset: newBase });
  }

  // ---- read ------------------------------------------------------------------------------

  /** Index of the last segment whose base offset <= `offset` (0 if none). */
  private static segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
    let lo = 0;
    let hi = segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((segments[mid] as LogSegment).baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Reads whole batches from the first batch whose lastOffset >= `offset`, up to `maxBytes`
   * (at least one batch even if bigger), never a batch with lastOffset >= `options.maxOffset`.
   * Batches come from one segment. Throws OffsetOutOfRangeError outside [logStart, logEnd],
   * CorruptRecordError when the batch to return fails its CRC (counted and reported).
   */
  async read(offset: number, maxBytes: number, options: ReadOptions = {}): Promise<ReadResult> {
    this.checkUsable();
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new SluiceError("INVALID_FETCH_SIZE", `maxBytes ${maxBytes} must be a non-negative integer`);
    }
    const budget = Math.min(maxBytes, READ_BYTES_MAX);
    const lookahead = Math.max(READ_LOOKAHEAD_BYTES_MIN, this.currentConfig.indexIntervalBytes);
    // The list, start and end are taken together (no await between): one state of the log.
    const view = this.views.pin();
    const start = this.logStart;
    const end = this.logEnd;
    try {
      const segments = view.segments;
      if (!Number.isSafeInteger(offset) || offset < start || offset > end) throw new OffsetOutOfRangeError(offset, start, end);
      const limit = Math.min(options.maxOffset ?? end, end);
      for (let i = PartitionLog.segmentIndexFor(segments, offset); i < segments.length && offset < limit; i++) {
        const segment = segments[i] as LogSegment;
        let result: SegmentRead | undefined;
        try {
          result = await segment.read(offset, budget, limit, lookahead, options.buffer);
        } catch (error) {
          if (error instanceof CorruptRecordError) {
            this.reportCorruption(segment, error);
            throw error;
          }
          if (error instanceof SluiceError) throw error;
          throw new StorageError(`reading ${segment.logPath} failed`, { cause: error });
        }
        if (result === undefined) continue;
        return {
          records: result.records,
          firstOffset: asOffset(result.firstOffset),
          nextOffset: asOffset(result.nextOffset),
          logStartOffset: asOffset(start),
          logEndOffset: asOffset(end),
        };
      }
      return { records: Buffer.alloc(0), firstOffset: asOffset(offset), nextOffset: asOffset(offset), logStartOffset: asOffset(start), logEndOffset: asOffset(end) };
    } finally {
      this.views.unpin(view);
    }
  }

  private reportCorruption(segment: LogSegment, error: CorruptRecordError): void {
    this.stats.corruptBatchesTotal++;
    this.observer.onCorruptBatch?.({ dir: this.dir, segmentBaseOffset: segment.baseOffset, position: error.position, detail: error.message });
  }

  /**
   * The first batch at or after the log start whose maxTimestamp >= `timestampMs` (Kafka's
   * ListOffsets by time, at batch precision: records inside the batch may be older; the caller
   * decodes the batch if it needs the exact record). Undefined when there is none.
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | undefined> {
    this.checkUsable();
    const view = this.views.pin();
    try {
      return await this.offsetForTimestampIn(view.segments, this.logStart, this.logEnd, timestampMs);
    } finally {
      this.views.unpin(view);
    }
  }

  private async offsetForTimestampIn(segments: readonly LogSegment[], start: number, end: number, timestampMs: number): Promise<TimestampOffset | undefined> {
    for (let i = PartitionLog.segmentIndexFor(segments, start); i < segments.length; i++) {
      const segment = segments[i] as LogSegment;
      if ((await segment.largestTimestampMs()) < timestampMs) continue;
      let batch: BatchSummary | undefined;
      try {
        batch = await segment.findByTimestamp(timestampMs, start);
      } catch (error) {
        if (error instanceof CorruptRecordError) this.reportCorruption(segment, error);
        if (error instanceof SluiceError) throw error;
        throw new StorageError(`timestamp lookup in ${segment.logPath} failed`, { cause: error });
      }
      if (batch !== undefined && batch.baseOffset < end) {
        return { offset: asOffset(Math.max(batch.baseOffset, start)), timestampMs: batch.maxTimestampMs };
      }
    }
    return undefined;
  }

  // ---- leader epochs ---------------------------------------------------------------------

  latestEpoch(): LeaderEpoch | undefined {
    return this.epochs.latestEpoch();
  }

  /** The epoch that wrote `offset`, if the offset is in the log. */
  epochAt(offset: number): LeaderEpoch | undefined {
    if (offset < this.logStart || offset >= this.logEnd) return undefined;
    return this.epochs.epochAt(offset);
  }

  /** Kafka's OffsetsForLeaderEpoch answer (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset | undefined {
    return this.epochs.endOffsetFor(epoch, this.logEnd);
  }

  epochEntries(): readonly EpochEntry[] {
    return [...this.epochs.entries()];
  }

  // ---- retention, log start, truncation --------------------------------------------------

  /** Deletes old segments by time and size (retention.ts), never the active one. */
  applyRetention(): Promise<RetentionResult> {
    return this.runTask(async () => {
      const segments = this.segments;
      const facts = [];
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i] as LogSegment;
        const last = i === segments.length - 1;
        facts.push({ baseOffset: segment.baseOffset, sizeBytes: segment.sizeBytes, largestTimestampMs: last ? -1 : await segment.largestTimestampMs() });
      }
      const decision = selectSegmentsToDelete({
        segments: facts,
        logStartOffset: this.logStart,
        // cleanup.policy=compact keeps segments regardless of age and size (compaction bounds them).
        retentionMs: deletes(this.currentConfig.cleanupPolicy) ? this.currentConfig.retentionMs : -1,
        retentionBytes: deletes(this.currentConfig.cleanupPolicy) ? this.currentConfig.retentionBytes : -1,
        nowMs: this.clock.nowMs(),
      });
      if (decision.count === 0) return { deletedSegments: 0, deletedBytes: 0, logStartOffset: asOffset(this.logStart) };
      const newStart = Math.max(this.logStart, (segments[decision.count] as LogSegment).baseOffset);
      const bytes = await this.deleteOldest(decision.count, newStart, decision.reasons[decision.count - 1] ?? "retention-time");
      return { deletedSegments: decision.count, deletedBytes: bytes, logStartOffset: asOffset(this.logStart) };
    });
  }

  /** Persists the new log start, then unlinks the `count` oldest segments. */
  private async deleteOldest(count: number, newStart: number, reason: RetentionReason): Promise<number> {
    if (newStart > this.logStart) {
      await writeCheckpoint(this.fs, this.dir, LOG_START_OFFSET_FILE, [[newStart]], this.pool.transient);
      this.logStart = newStart;
    }
    const doomed = this.segments.slice(0, count);
    this.views.publish(this.segments.slice(count));
    let bytes = 0;
    for (const segment of doomed) {
      bytes += segment.sizeBytes;
      await this.removeSegment(segment);
    }
    if (doomed.length > 0) await this.fs.fsyncDir(this.dir);
    // Entries describe offsets in [logStart, logEnd): one that now starts at the log end goes,
    // exactly as reopening the log would drop it.
    const movedStart = this.epochs.truncateFromStart(this.logStart);
    const droppedEnd = this.epochs.truncateFromEnd(this.logEnd);
    if (movedStart || droppedEnd) await writeEpochCheckpoint(this.fs, this.dir, this.epochs, this.pool.transient);
    this.stats.segmentsDeletedTotal += doomed.length;
    this.emitDeleted(reason, doomed, bytes);
    return bytes;
  }

  private emitDeleted(reason: SegmentsDeletedEvent["reason"], segments: readonly LogSegment[], bytes: number): void {
    if (segments.length === 0) return;
    this.observer.onSegmentsDeleted?.({ dir: this.dir, reason, baseOffsets: segments.map((s) => s.baseOffset), bytes });
  }

  /**
   * Kafka's DeleteRecords: moves the log start to `offset` (<= log end) and deletes the
   * segments wholly below it. Returns the new log start.
   */
  deleteRecordsBefore(offset: number): Promise<Offset> {
    return this.runTask(async () => {
      if (!Number.isSafeInteger(offset) || offset > this.logEnd) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
      if (offset <= this.logStart) return asOffset(this.logStart);
      let count = 0;
      while (count + 1 < this.segments.length && (this.segments[count + 1] as LogSegment).baseOffset <= offset) count++;
      await this.deleteOldest(count, offset, "log-start");
      return asOffset(this.logStart);
    });
  }

  /**
   * Removes every batch whose lastOffset >= `offset` (Raft's conflict truncation). `offset` must
   * be a batch boundary (or in a gap); the log end becomes the end of the last batch kept.
   * Below the log start it empties the log and restarts it at `offset`.
   */
  truncateTo(offset: number): Promise<void> {
    return this.runTask(async () => {
      if (!Number.isSafeInteger(offset) || offset < 0) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
      if (offset >= this.logEnd) return;
      if (offset < this.logStart) {
        await this.truncateFullyLocked(offset);
        return;
      }
      const segments = this.segments;
      const i = PartitionLog.segmentIndexFor(segments, offset);
      const segment = segments[i] as LogSegment;
      const found = await segment.findBatch(offset);
      if (found.batch !== undefined && found.batch.baseOffset < offset) {
        throw new TruncateInsideBatchError(offset, found.batch.baseOffset, found.batch.lastOffset);
      }
      if (found.previousEnd < this.logStart) {
        // Nothing kept reaches the log start (possible only with gaps): the log restarts at `offset`.
        await this.truncateFullyLocked(offset);
        return;
      }
      const wasActive = i === segments.length - 1;
      if (this.recoveryPoint > segment.baseOffset) await this.writeRecoveryPoint(segment.baseOffset);
      const later = segments.slice(i + 1);
      this.views.publish(segments.slice(0, i + 1));
      for (const doomed of [...later].reverse()) await this.removeSegment(doomed);
      if (later.length > 0) await this.fs.fsyncDir(this.dir);
      await segment.truncateAt(found.position, found.previousEnd);
      if (!wasActive && segment.sizeBytes > 0) {
        // Segment age counts from its first batch, as when a log is opened.
        const firstBatch = await segment.findBatch(segment.baseOffset);
        const stamped = firstBatch.batch?.maxTimestampMs ?? -1;
        segment.rollStartMs = stamped >= 0 ? Math.min(stamped, this.clock.nowMs()) : this.clock.nowMs();
      }
      await this.setTruncatedEnd(found.previousEnd);
      this.stats.segmentsDeletedTotal += later.length;
      this.emitDeleted("truncate", later, later.reduce((n, s) => n + s.sizeBytes, 0));
    });
  }

  /** Deletes every segment and restarts the log, empty, at `offset` (a follower behind the leader's log start). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.runTask(async () => {
      if (!Number.isSafeInteger(offset) || offset < 0) throw new OffsetOutOfRangeError(offset, this.logStart, this.logEnd);
      await this.truncateFullyLocked(offset);
    });
  }

  private async truncateFullyLocked(offset: number): Promise<void> {
    const old = this.segments;
    for (const segment of [...old].reverse()) await this.removeSegment(segment);
    const fresh = await LogSegment.create(this.ctx, offset);
    this.views.publish([fresh]);
    await this.fs.fsyncDir(this.dir);
    await writeCheckpoint(this.fs, this.dir, LOG_START_OFFSET_FILE, [[offset]], this.pool.transient);
    await this.writeRecoveryPoint(offset);
    this.logStart = offset;
    this.epochs.clear();
    await writeEpochCheckpoint(this.fs, this.dir, this.epochs, this.pool.transient);
    await this.setTruncatedEnd(offset);
    this.stats.segmentsDeletedTotal += old.length;
    this.emitDeleted("truncate", old, old.reduce((n, s) => n + s.sizeBytes, 0));
  }

  /**
   * Takes `segment` out of service (reads that can still reach it keep reading it through a held
   * handle, closed after the last of them) without touching its files.
   */
  private async retireSegment(segment: LogSegment): Promise<void> {
    await segment.retire(this.views.isReachable(segment));
    this.views.whenUnreachable(segment, () => {
      // A close failure loses nothing (the file is unlinked or renamed over already).
      segment.releaseRetainedFile().catch(() => undefined);
    });
  }

  /** Retires `segment`, then unlinks its files. */
  private async removeSegment(segment: LogSegment): Promise<void> {
    await this.retireSegment(segment);
    await segment.deleteFiles();
  }

  private async setTruncatedEnd(newEnd: number): Promise<void> {
    this.logEnd = newEnd;
    this.durableEnd = Math.min(this.durableEnd, newEnd);
    this.truncationFloor = Math.min(this.truncationFloor, newEnd);
    if (this.epochs.truncateFromEnd(newEnd)) await writeEpochCheckpoint(this.fs, this.dir, this.epochs, this.pool.transient);
  }

  // ---- compaction primitives -------------------------------------------------------------

  /** Facts about every segment, oldest first (the last is active). */
  async segmentInfos(): Promise<SegmentInfo[]> {
    this.checkUsable();
    const view = this.views.pin();
    try {
      const segments = view.segments;
      const infos: SegmentInfo[] = [];
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i] as LogSegment;
        const active = i === segments.length - 1;
        infos.push({ ...segment.info(active), largestTimestampMs: await segment.largestTimestampMs() });
      }
      return infos;
    } finally {
      this.views.unpin(view);
    }
  }

  private inactiveSegment(baseOffset: number): LogSegment {
    const segments = this.segments;
    const index = segments.findIndex((s) => s.baseOffset === baseOffset);
    if (index < 0) throw new SegmentSwapConflictError(`no segment with base offset ${baseOffset}`);
    if (index === segments.length - 1) throw new SegmentSwapConflictError(`segment ${baseOffset} is the active segment`);
    return segments[index] as LogSegment;
  }

  /**
   * Every batch of the inactive segment `baseOffset`, CRC-checked. `bytes` is a view into a
   * reused buffer (copy to keep). With a throttle, each batch's bytes are acquired first.
   */
  async *readSegmentBatches(baseOffset: number, throttle?: IoThrottle): AsyncGenerator<{ batch: BatchSummary; bytes: Buffer }> {
    this.checkUsable();
    const segment = this.inactiveSegment(baseOffset);
    try {
      for await (const item of segment.batches()) {
        await throttle?.acquire(item.bytes.byteLength);
        yield item;
      }
    } catch (error) {
      if (error instanceof CorruptRecordError) this.reportCorruption(segment, error);
      if (error instanceof SluiceError) throw error;
      throw new StorageError(`reading ${segment.logPath} failed`, { cause: error });
    }
  }

  /**
   * Starts a replacement for the consecutive inactive segments `sourceBaseOffsets`; it is
   * written under `.cleaned` names with base offset `sourceBaseOffsets[0]`.
   */
  async createCleanedSegment(sourceBaseOffsets: readonly number[], throttle?: IoThrottle): Promise<CleanedSegmentWriter> {
    this.checkUsable();
    if (sourceBaseOffsets.length === 0) throw new SegmentSwapConflictError("no source segments");
    const sources = sourceBaseOffsets.map((base) => this.inactiveSegment(base));
    const first = this.segments.indexOf(sources[0] as LogSegment);
    sources.forEach((segment, k) => {
      if (this.segments[first + k] !== segment) throw new SegmentSwapConflictError("source segments are not consecutive");
    });
    try {
      return await CleanedSegmentWriter.create(this.ctx, sources, throttle, sources.map((s) => s.generation));
    } catch (error) {
      throw new StorageError(`creating a cleaned segment in ${this.dir} failed`, { cause: error });
    }
  }

  /**
   * Swaps the writer's source segments for its finished replacement, crash-safely (protocol in
   * segment-swap.ts). Refuses (SegmentSwapConflictError, nothing changed) if the sources were
   * deleted or truncated meanwhile or the replacement overlaps the next segment.
   */
  replaceSegments(writer: CleanedSegmentWriter): Promise<void> {
    return this.runTask(async () => {
      if (!writer.finished) throw new SegmentSwapConflictError("the cleaned segment is not finished");
      const segments = this.segments;
      const sources = writer.sources;
      const first = segments.indexOf(sources[0] as LogSegment);
      const after = segments[first + sources.length];
      const unchanged =
        first >= 0 &&
        sources.every((s, k) => segments[first + k] === s && s.generation === writer.sourceGenerations[k]) &&
        after !== undefined &&
        first + sources.length < segments.length;
      if (!unchanged) throw new SegmentSwapConflictError("source segments changed since cleaning started");
      if (writer.nextOffset > after.baseOffset) {
        throw new SegmentSwapConflictError(`cleaned segment ends at ${writer.nextOffset}, past the next segment's base ${after.baseOffset}`);
      }
      const oldBases = sources.map((s) => s.baseOffset);
      // The replacement's indexes, loaded (from the .cleaned files if evicted) before they are renamed.
      const parts = writer.parts();
      const indexes = await parts.segment.ensureIndexes();
      await writeSwapManifest(this.fs, this.dir, writer.baseOffset, oldBases, this.pool.transient);
      // Before any old file is unlinked or renamed over: reads of the sources go on through held handles.
      for (const source of sources) await this.retireSegment(source);
      await applySwap(this.fs, this.dir, writer.baseOffset, oldBases, (path) => this.pool.forget(path));
      this.ctx.indexCache.remove(parts.segment);
      const adopted = LogSegment.fromParts(this.ctx, writer.baseOffset, parts.sizeBytes, parts.nextOffset, indexes.index, indexes.timeIndex);
      this.views.publish([...segments.slice(0, first), adopted, ...segments.slice(first + sources.length)]);
      const bytes = sources.reduce((n, s) => n + s.sizeBytes, 0);
      this.emitDeleted("compaction", sources, bytes);
    });
  }

  // ---- close -----------------------------------------------------------------------------

  /**
   * Clean shutdown: waits for queued work, flushes, writes the active segment's indexes and the
   * recovery point, then the clean-shutdown marker. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.state === "closed") return Promise.resolve();
    if (this.state === "failed") {
      this.state = "closed";
      this.pool.forgetUnder(`${this.dir}/`);
      return Promise.resolve();
    }
    this.state = "closing";
    this.closing = this.runTask(async () => {
      await this.commit.flush();
      await this.active.finalize();
      await this.writeRecoveryPoint(this.logEnd);
      const marker = joinPath(this.dir, CLEAN_SHUTDOWN_FILE);
      await this.pool.use(marker, "create", (file) => file.datasync());
      this.pool.forget(marker);
      await this.fs.fsyncDir(this.dir);
      this.state = "closed";
      this.pool.forgetUnder(`${this.dir}/`);
    }, true).catch((error: unknown) => {
      this.pool.forgetUnder(`${this.dir}/`);
      throw error;
    });
    return this.closing;
  }

  /**
   * Drops the log as a crashed process would: no flush, no indexes, no marker; open handles
   * are released. Tests and benchmarks use it to produce an unclean shutdown on a real disk.
   */
  abandon(): void {
    const error = new StorageError(`log ${this.dir} was abandoned`);
    this.state = "closed";
    this.commit.fail(error);
    const queued = this.queue;
    this.queue = [];
    for (const op of queued) {
      if (op.kind === "append") op.reject(error);
      else void op.run();
    }
    this.pool.forgetUnder(`${this.dir}/`);
  }
}
