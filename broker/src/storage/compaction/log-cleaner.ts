/**
 * The log cleaner: runs cleans (clean-log.ts) over the compacted logs of a broker, one at a time
 * per log, through one I/O throttle, and keeps each log's cleaner checkpoint
 * (cleaner-checkpoint.ts). The log manager calls `cleanDirtiest` on a timer (the timer lives
 * there, as retention's does); `clean` cleans one log now (admin, tests).
 *
 * Choosing a log (Kafka's `LogCleanerManager.grabFilthiestCompactedLog`): among open logs whose
 * cleanup.policy compacts, not being cleaned and not marked uncleanable, the one with the highest
 * dirty ratio at or above its `min.cleanable.dirty.ratio`; failing that, one whose earliest kept
 * tombstone's delete horizon has passed (KIP-534: tombstones must go even in a quiet log).
 *
 * Invariants:
 * - At most one clean of a log runs at a time; a second request waits for the first.
 * - A log whose clean failed for a reason that will not go away by itself (a corrupt batch, a
 *   dedupe buffer too small for one batch, a disk error) is marked uncleanable and skipped by
 *   `cleanDirtiest` until `resetUncleanable` or a successful `clean`; the failure is reported
 *   through the observer. A conflict (the log was truncated or retention deleted a source
 *   segment meanwhile) is only reported: the next round retries.
 * - `abort(log)` and `stop()` make running cleans stop at their next batch (nothing half-written
 *   is swapped in; groups already swapped stay) and wait for them. `stop` also lifts an owned
 *   throttle's limit, so the wait is at most one throttle sleep.
 */
import { CorruptRecordError, SluiceError, StorageError } from "@sluice/protocol";
import { systemClock, type Clock } from "../clock.js";
import { compacts } from "../config.js";
import { SegmentSwapConflictError } from "../errors.js";
import type { Opener, StorageFs } from "../fs/storage-fs.js";
import { IoThrottle, realSleep } from "../io-throttle.js";
import type { CompactionAbortedEvent, StorageObserver } from "../observer.js";
import type { PartitionLog } from "../partition-log.js";
import { cleanLog, type CleanResult } from "./clean-log.js";
import { cleanableRange, type CleanableRange } from "./cleanable.js";
import { readCleanerCheckpoint, writeCleanerCheckpoint, type CleanerCheckpoint } from "./cleaner-checkpoint.js";
import { CompactionAbortedError, NotCompactedError } from "./errors.js";
import { CLEANER_IO_BYTES_PER_SECOND_DEFAULT, CLEANER_YIELD_BYTES, DEDUPE_BUFFER_BYTES_DEFAULT, DEDUPE_BUFFER_BYTES_MIN } from "./limits.js";

export interface LogCleanerOptions {
  readonly fs: StorageFs;
  readonly clock?: Clock;
  readonly observer?: StorageObserver;
  /** Opens checkpoint files (the log manager passes its handle pool's `transient`). */
  readonly open?: Opener;
  /** Cleaner reads plus writes per second (Kafka's log.cleaner.io.max.bytes.per.second); Infinity for no limit. */
  readonly ioBytesPerSecond?: number;
  /** A throttle to use instead of making one (shared with other background I/O, or a test's). */
  readonly throttle?: IoThrottle;
  /** How the owned throttle sleeps (default real timers). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Memory for one clean's key -> offset map (Kafka's log.cleaner.dedupe.buffer.size). */
  readonly dedupeBufferBytes?: number;
  readonly yieldEveryBytes?: number;
  /** Gives the event loop a turn (default setImmediate). */
  readonly yieldToEventLoop?: () => Promise<void>;
  /**
   * The offset below which a log's records can no longer be truncated: the high watermark of a
   * replicated partition. Default: the log end (an unreplicated log). Records at or above it are
   * never compacted.
   */
  readonly stableOffsetFor?: (log: PartitionLog) => number;
}

export interface CleaningResult extends CleanResult {
  readonly durationMs: number;
}

/** What the cleaner sees in a log right now. */
export interface CleanerStatus {
  readonly range: CleanableRange;
  readonly checkpoint: CleanerCheckpoint | undefined;
  /** The earliest kept tombstone's delete horizon has passed. */
  readonly horizonDue: boolean;
  /** Why the log is skipped by the background cleaner, if it is. */
  readonly uncleanable: string | undefined;
}

interface LogState {
  checkpoint: CleanerCheckpoint | undefined;
  checkpointLoaded: boolean;
  /** The last clean queued for this log (cleans of one log run one after another). */
  tail: Promise<unknown>;
  running: boolean;
  cancelReason: string | undefined;
  uncleanable: string | undefined;
}

const setImmediateYield = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

function abortReason(error: unknown): CompactionAbortedEvent["reason"] {
  if (error instanceof CompactionAbortedError) return "stopped";
  if (error instanceof SegmentSwapConflictError) return "conflict";
  if (error instanceof CorruptRecordError) return "corrupt";
  return "error";
}

export class LogCleaner {
  readonly throttle: IoThrottle;
  private readonly fs: StorageFs;
  private readonly clock: Clock;
  private readonly observer: StorageObserver;
  private readonly dedupeBufferBytes: number;
  private readonly ownsThrottle: boolean;
  private readonly states = new WeakMap<PartitionLog, LogState>();
  private readonly running = new Set<LogState>();
  private stopped = false;

  constructor(private readonly options: LogCleanerOptions) {
    this.fs = options.fs;
    this.clock = options.clock ?? systemClock;
    this.observer = options.observer ?? {};
    const budget = options.dedupeBufferBytes ?? DEDUPE_BUFFER_BYTES_DEFAULT;
    if (!Number.isSafeInteger(budget) || budget < DEDUPE_BUFFER_BYTES_MIN) {
      throw new SluiceError("INVALID_CONFIG", `dedupeBufferBytes ${budget} must be an integer >= ${DEDUPE_BUFFER_BYTES_MIN}`);
    }
    this.dedupeBufferBytes = budget;
    const rate = options.ioBytesPerSecond ?? CLEANER_IO_BYTES_PER_SECOND_DEFAULT;
    if (!(rate > 0)) throw new SluiceError("INVALID_CONFIG", `cleaner ioBytesPerSecond ${rate} must be positive (Infinity for no limit)`);
    this.ownsThrottle = options.throttle === undefined;
    this.throttle = options.throttle ?? new IoThrottle({ bytesPerSecond: rate, clock: this.clock, sleep: options.sleep ?? realSleep });
  }

  private stateOf(log: PartitionLog): LogState {
    let state = this.states.get(log);
    if (state === undefined) {
      state = { checkpoint: undefined, checkpointLoaded: false, tail: Promise.resolve(), running: false, cancelReason: undefined, uncleanable: undefined };
      this.states.set(log, state);
    }
    return state;
  }

  private async checkpointOf(log: PartitionLog, state: LogState): Promise<CleanerCheckpoint | undefined> {
    if (!state.checkpointLoaded) {
      state.checkpoint = await readCleanerCheckpoint(this.fs, log.dir, this.options.open);
      state.checkpointLoaded = true;
    }
    return state.checkpoint;
  }

  private stableOffsetOf(log: PartitionLog): number {
    return this.options.stableOffsetFor?.(log) ?? log.logEndOffset;
  }

  /** The log's sections and dirty ratio as the next clean would see them. */
  async inspect(log: PartitionLog): Promise<CleanerStatus> {
    const state = this.stateOf(log);
    const checkpoint = await this.checkpointOf(log, state);
    const nowMs = this.clock.nowMs();
    const range = cleanableRange({
      segments: await log.segmentInfos(),
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      checkpoint: checkpoint?.cleanedThroughOffset,
      stableOffset: this.stableOffsetOf(log),
      nowMs,
      minCompactionLagMs: log.config.minCompactionLagMs,
    });
    const horizon = checkpoint?.earliestHorizonMs;
    return { range, checkpoint, horizonDue: horizon !== undefined && nowMs >= horizon, uncleanable: state.uncleanable };
  }

  /** Cleans `log` now, whatever its dirty ratio (after a clean of it already running). */
  clean(log: PartitionLog): Promise<CleaningResult> {
    if (this.stopped) return Promise.reject(new CompactionAbortedError(log.dir, "the cleaner is stopped"));
    if (!compacts(log.config.cleanupPolicy)) return Promise.reject(new NotCompactedError(log.dir));
    const state = this.stateOf(log);
    const run = state.tail.catch(() => undefined).then(() => this.runClean(log, state));
    state.tail = run;
    return run;
  }

  private async runClean(log: PartitionLog, state: LogState): Promise<CleaningResult> {
    const startedMs = this.clock.monotonicMs();
    const checkCancelled = (): void => {
      if (this.stopped) throw new CompactionAbortedError(log.dir, "the cleaner is stopping");
      if (state.cancelReason !== undefined) throw new CompactionAbortedError(log.dir, state.cancelReason);
    };
    state.running = true;
    this.running.add(state);
    try {
      checkCancelled();
      const checkpoint = await this.checkpointOf(log, state);
      const result = await cleanLog(log, {
        nowMs: this.clock.nowMs(),
        checkpoint,
        stableOffset: this.stableOffsetOf(log),
        dedupeBufferBytes: this.dedupeBufferBytes,
        throttle: this.throttle,
        yieldEveryBytes: this.options.yieldEveryBytes ?? CLEANER_YIELD_BYTES,
        yieldToEventLoop: this.options.yieldToEventLoop ?? setImmediateYield,
        checkCancelled,
      });
      const next: CleanerCheckpoint = { cleanedThroughOffset: result.cleanedThroughOffset, earliestHorizonMs: result.earliestHorizonMs };
      if (checkpoint?.cleanedThroughOffset !== next.cleanedThroughOffset || checkpoint.earliestHorizonMs !== next.earliestHorizonMs) {
        await writeCleanerCheckpoint(this.fs, log.dir, next, this.options.open);
      }
      state.checkpoint = next;
      state.uncleanable = undefined;
      const durationMs = this.clock.monotonicMs() - startedMs;
      this.observer.onCompaction?.({
        dir: log.dir,
        firstDirtyOffset: result.firstDirtyOffset,
        cleanedThroughOffset: result.cleanedThroughOffset,
        groupsSwapped: result.groupsSwapped,
        bytesRead: result.bytesRead,
        bytesWritten: result.bytesWritten,
        recordsRemoved: result.recordsRemoved,
        tombstonesRemoved: result.tombstonesRemoved,
        durationMs,
      });
      return { ...result, durationMs };
    } catch (caught) {
      // A raw file-system error (writing the .cleaned files, the checkpoint) becomes a typed one.
      const error = caught instanceof SluiceError ? caught : new StorageError(`compaction of ${log.dir} failed`, { cause: caught });
      const reason = abortReason(error);
      const detail = caught instanceof Error ? caught.message : String(caught);
      if (reason === "corrupt" || reason === "error") state.uncleanable = detail;
      this.observer.onCompactionAborted?.({ dir: log.dir, reason, detail });
      throw error;
    } finally {
      state.running = false;
      this.running.delete(state);
    }
  }

  /**
   * One round of background cleaning: cleans the dirtiest eligible log (see the module comment)
   * and returns its result, or undefined when no log needs cleaning.
   */
  async cleanDirtiest(logs: Iterable<PartitionLog>): Promise<CleaningResult | undefined> {
    const log = await this.pickDirtiest(logs);
    return log === undefined ? undefined : this.clean(log);
  }

  /** The log the next background round would clean (see the module comment), if any. */
  async pickDirtiest(logs: Iterable<PartitionLog>): Promise<PartitionLog | undefined> {
    if (this.stopped) return undefined;
    let best: { log: PartitionLog; score: number } | undefined;
    for (const log of logs) {
      if (!log.isOpen || !compacts(log.config.cleanupPolicy)) continue;
      const state = this.stateOf(log);
      if (state.uncleanable !== undefined || state.running) continue;
      let status: CleanerStatus;
      try {
        status = await this.inspect(log);
      } catch {
        // A log that cannot even list its segments is offline; its own calls report why.
        continue;
      }
      const { dirtyBytes, dirtyRatio } = status.range;
      const dirtyEnough = dirtyBytes > 0 && dirtyRatio >= log.config.minCleanableDirtyRatio;
      if (!dirtyEnough && !status.horizonDue) continue;
      // Dirty logs first, dirtiest first; logs that only have tombstones due come after.
      const score = dirtyEnough ? 1 + dirtyRatio : 0;
      if (best === undefined || score > best.score) best = { log, score };
    }
    return best?.log;
  }

  isUncleanable(log: PartitionLog): string | undefined {
    return this.states.get(log)?.uncleanable;
  }

  /** Lets the background cleaner pick the log again (after an operator fixed what failed). */
  resetUncleanable(log: PartitionLog): void {
    const state = this.states.get(log);
    if (state !== undefined) state.uncleanable = undefined;
  }

  /** Stops cleans of `log` (queued and running) and waits for them to end. */
  async abort(log: PartitionLog, reason = "aborted"): Promise<void> {
    const state = this.states.get(log);
    if (state === undefined) return;
    state.cancelReason = reason;
    await state.tail.catch(() => undefined);
    state.cancelReason = undefined;
  }

  /** Stops every clean, waits for them, and refuses new ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ownsThrottle) {
      this.throttle.setRate(Infinity);
      this.throttle.resume();
    }
    await Promise.allSettled([...this.running].map((state) => state.tail));
  }
}
