/**
 * The log manager: every partition log of a broker under one root directory, one
 * subdirectory per partition (`<root>/<topic>-<partition>/`), sharing one bounded pool of file
 * handles, with the periodic work (retention, `interval` fsyncs, compaction through one
 * `LogCleaner`) driven from here — the logs themselves own no timers.
 *
 * Invariants:
 * - At most `maxOpenFiles` storage file handles are open, across all partitions.
 * - One `PartitionLog` per partition; concurrent opens of the same partition share one open.
 * - Deleting a partition is crash-safe: its directory is first renamed to
 *   `<topic>-<partition>.<n>-delete` (durably), then emptied and removed; a leftover
 *   `*-delete` directory is finished off on the next open.
 */
import { SluiceError, asPartitionId, type PartitionId } from "@sluice/protocol";
import { systemClock, type Clock } from "./clock.js";
import { defaultLogConfig, type LogConfig } from "./config.js";
import { FileHandlePool } from "./fs/file-pool.js";
import { IndexCache } from "./index-cache.js";
import { joinPath, mkdirDurable, unlinkIfExists, type StorageFs } from "./fs/storage-fs.js";
import {
  FLUSH_CHECK_INTERVAL_MS_DEFAULT,
  INDEX_CACHE_BYTES_MAX_DEFAULT,
  OPEN_FILES_MAX_DEFAULT,
  OPEN_FILES_MIN,
  RETENTION_CHECK_INTERVAL_MS_DEFAULT,
  TOPIC_NAME_BYTES_MAX,
} from "./limits.js";
import type { StorageObserver } from "./observer.js";
import { PartitionLog } from "./partition-log.js";
import { LogCleaner, type CleaningResult, type LogCleanerOptions } from "./compaction/log-cleaner.js";
import { CLEANER_BACKOFF_MS_DEFAULT } from "./compaction/limits.js";

export interface TopicPartition {
  readonly topic: string;
  readonly partition: PartitionId;
}

/** A cancellable repeating timer (injected so tests and the simulator drive time). */
export interface Timers {
  setInterval(callback: () => void, intervalMs: number): { cancel(): void };
}

export const realTimers: Timers = {
  setInterval(callback, intervalMs) {
    const handle = setInterval(callback, intervalMs);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
};

export interface LogManagerOptions {
  readonly fs: StorageFs;
  readonly rootDir: string;
  /** Config for new logs without one, and for logs found on disk unless `configFor` says otherwise. */
  readonly defaultConfig?: LogConfig;
  readonly configFor?: (tp: TopicPartition) => LogConfig;
  readonly clock?: Clock;
  readonly maxOpenFiles?: number;
  /** Memory for loaded indexes across all logs (default INDEX_CACHE_BYTES_MAX_DEFAULT). */
  readonly indexCacheBytes?: number;
  readonly observer?: StorageObserver;
  readonly timers?: Timers;
  readonly retentionCheckIntervalMs?: number;
  readonly flushCheckIntervalMs?: number;
  /** Called when background retention or flushing fails for a log (the log itself goes offline). */
  readonly onBackgroundError?: (error: unknown, tp: TopicPartition) => void;
  /** Log compaction settings: I/O budget, offset-map memory (compaction/log-cleaner.ts). */
  readonly cleaner?: Omit<LogCleanerOptions, "fs" | "clock" | "observer" | "open" | "stableOffsetFor">;
  /** How often the cleaner looks for a log to compact (Kafka's log.cleaner.backoff.ms). */
  readonly cleanerCheckIntervalMs?: number;
  /**
   * A partition's high watermark: compaction never touches offsets at or above it, since Raft
   * may still truncate them. Undefined (or no function) means the log end: an unreplicated log.
   */
  readonly stableOffsetFor?: (tp: TopicPartition) => number | undefined;
}

export interface LogManagerStats {
  readonly logs: number;
  readonly segments: number;
  readonly openFiles: number;
  readonly fileEvictions: number;
  readonly loadedIndexBytes: number;
}

export interface RetentionPassResult {
  readonly deletedSegments: number;
  readonly deletedBytes: number;
}

const topicPattern = /^[a-zA-Z0-9._-]+$/;
const DELETE_SUFFIX = "-delete";

/** Throws SluiceError INVALID_TOPIC_EXCEPTION for names Kafka would refuse. */
export function validateTopicName(topic: string): void {
  if (topic.length === 0 || topic.length > TOPIC_NAME_BYTES_MAX || !topicPattern.test(topic) || topic === "." || topic === "..") {
    throw new SluiceError("INVALID_TOPIC_EXCEPTION", `topic name ${JSON.stringify(topic)} must be 1-${TOPIC_NAME_BYTES_MAX} characters of [a-zA-Z0-9._-]`);
  }
}

export function partitionDirName(tp: TopicPartition): string {
  validateTopicName(tp.topic);
  if (!Number.isSafeInteger(tp.partition) || tp.partition < 0 || tp.partition > 0x7fff_ffff) {
    throw new SluiceError("INVALID_PARTITIONS", `partition ${tp.partition} is not a non-negative int32`);
  }
  return `${tp.topic}-${tp.partition}`;
}

export function parsePartitionDirName(name: string): TopicPartition | undefined {
  const dash = name.lastIndexOf("-");
  if (dash <= 0) return undefined;
  const topic = name.slice(0, dash);
  const digits = name.slice(dash + 1);
  if (!/^\d{1,10}$/.test(digits) || !topicPattern.test(topic)) return undefined;
  const partition = Number(digits);
  if (partition > 0x7fff_ffff || String(partition) !== digits) return undefined;
  return { topic, partition: asPartitionId(partition) };
}

export class LogManager {
  readonly rootDir: string;
  readonly pool: FileHandlePool;
  readonly indexCache: IndexCache;
  private readonly fs: StorageFs;
  private readonly clock: Clock;
  private readonly defaultConfig: LogConfig;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly opening = new Map<string, Promise<PartitionLog>>();
  private readonly keys = new Map<string, TopicPartition>();
  private cancelTimers: Array<{ cancel(): void }> = [];
  private retentionRunning = false;
  private compactionRunning = false;
  /** Compacts logs whose cleanup.policy includes compact (`runCompaction`, `compact`). */
  readonly cleaner: LogCleaner;
  private readonly partitionOf = new WeakMap<PartitionLog, TopicPartition>();
  private flushRunning = false;
  private deleteCounter = 0;
  private closed = false;
  /** True when some log found on open needed a recovery scan. */
  recoveredUncleanly = false;

  private constructor(private readonly options: LogManagerOptions) {
    const maxOpen = options.maxOpenFiles ?? OPEN_FILES_MAX_DEFAULT;
    if (!Number.isSafeInteger(maxOpen) || maxOpen < OPEN_FILES_MIN) {
      throw new SluiceError("INVALID_CONFIG", `maxOpenFiles ${maxOpen} must be an integer >= ${OPEN_FILES_MIN}`);
    }
    this.fs = options.fs;
    this.rootDir = options.rootDir;
    this.clock = options.clock ?? systemClock;
    this.defaultConfig = options.defaultConfig ?? defaultLogConfig;
    this.pool = new FileHandlePool(options.fs, maxOpen);
    this.indexCache = new IndexCache(options.indexCacheBytes ?? INDEX_CACHE_BYTES_MAX_DEFAULT);
    this.cleaner = new LogCleaner({
      ...options.cleaner,
      fs: options.fs,
      clock: this.clock,
      observer: options.observer,
      open: this.pool.transient,
      stableOffsetFor: (log) => {
        const tp = this.partitionOf.get(log);
        return (tp === undefined ? undefined : options.stableOffsetFor?.(tp)) ?? log.logEndOffset;
      },
    });
  }

  /** Opens every partition log under `rootDir` (creating the root), finishing interrupted deletions. */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options);
    const { fs, rootDir } = options;
    await mkdirDurable(fs, rootDir);
    const names = await fs.readdir(rootDir);
    for (const name of names) {
      if (name.endsWith(DELETE_SUFFIX)) await manager.removeDirectory(joinPath(rootDir, name));
    }
    try {
      for (const name of names) {
        const tp = parsePartitionDirName(name);
        if (tp === undefined) continue;
        const stat = await fs.stat(joinPath(rootDir, name));
        if (stat?.isDirectory !== true) continue;
        const log = await manager.openLog(tp, options.configFor?.(tp) ?? manager.defaultConfig, false);
        if (!log.recovery.clean) manager.recoveredUncleanly = true;
      }
    } catch (error) {
      await manager.close().catch(() => undefined);
      throw error;
    }
    return manager;
  }

  private keyOf(tp: TopicPartition): string {
    return partitionDirName(tp);
  }

  private async openLog(tp: TopicPartition, config: LogConfig, create: boolean): Promise<PartitionLog> {
    const key = this.keyOf(tp);
    const log = await PartitionLog.open({
      fs: this.fs,
      dir: joinPath(this.rootDir, key),
      config,
      clock: this.clock,
      pool: this.pool,
      indexCache: this.indexCache,
      observer: this.options.observer,
      create,
    });
    this.logs.set(key, log);
    this.keys.set(key, { topic: tp.topic, partition: tp.partition });
    this.partitionOf.set(log, { topic: tp.topic, partition: tp.partition });
    return log;
  }

  private checkOpen(): void {
    if (this.closed) throw new SluiceError("KAFKA_STORAGE_ERROR", "log manager is closed");
  }

  get(tp: TopicPartition): PartitionLog | undefined {
    return this.logs.get(this.keyOf(tp));
  }

  /** The partition's log, created (empty, with `config`) if it does not exist. */
  async getOrCreate(tp: TopicPartition, config?: LogConfig): Promise<PartitionLog> {
    this.checkOpen();
    const key = this.keyOf(tp);
    const existing = this.logs.get(key);
    if (existing !== undefined) return existing;
    const pending = this.opening.get(key);
    if (pending !== undefined) return pending;
    const opening = this.openLog(tp, config ?? this.options.configFor?.(tp) ?? this.defaultConfig, true).finally(() => this.opening.delete(key));
    this.opening.set(key, opening);
    return opening;
  }

  list(): TopicPartition[] {
    return [...this.keys.values()];
  }

  /** Closes the partition's log and removes its directory (crash-safely, see the module comment). */
  async delete(tp: TopicPartition): Promise<void> {
    this.checkOpen();
    const key = this.keyOf(tp);
    await this.opening.get(key)?.catch(() => undefined);
    const log = this.logs.get(key);
    this.logs.delete(key);
    this.keys.delete(key);
    const dir = joinPath(this.rootDir, key);
    if (log !== undefined) await this.cleaner.abort(log, "the log is being deleted");
    if (log !== undefined) await log.close().catch(() => log.abandon());
    if ((await this.fs.stat(dir)) === undefined) return;
    const doomed = joinPath(this.rootDir, `${key}.${this.clock.nowMs()}${++this.deleteCounter}${DELETE_SUFFIX}`);
    this.pool.forgetUnder(`${dir}/`);
    await this.fs.rename(dir, doomed);
    await this.fs.fsyncDir(this.rootDir);
    await this.removeDirectory(doomed);
  }

  private async removeDirectory(dir: string): Promise<void> {
    for (const name of await this.fs.readdir(dir)) await unlinkIfExists(this.fs, joinPath(dir, name));
    await this.fs.rmdir(dir);
    await this.fs.fsyncDir(this.rootDir);
  }

  /** One retention pass over every log. */
  async runRetention(): Promise<RetentionPassResult> {
    let deletedSegments = 0;
    let deletedBytes = 0;
    for (const [key, log] of [...this.logs]) {
      if (!log.isOpen) continue;
      try {
        const result = await log.applyRetention();
        deletedSegments += result.deletedSegments;
        deletedBytes += result.deletedBytes;
      } catch (error) {
        this.options.onBackgroundError?.(error, this.keys.get(key) ?? { topic: key, partition: asPartitionId(-1) });
      }
    }
    return { deletedSegments, deletedBytes };
  }

  /** Flushes every log whose `interval:<ms>` fsync is due. */
  async flushDue(): Promise<number> {
    let flushed = 0;
    for (const [key, log] of [...this.logs]) {
      try {
        if (await log.flushIfDue()) flushed++;
      } catch (error) {
        this.options.onBackgroundError?.(error, this.keys.get(key) ?? { topic: key, partition: asPartitionId(-1) });
      }
    }
    return flushed;
  }

  /**
   * One compaction round: cleans the dirtiest compacted log that needs it (LogCleaner.cleanDirtiest).
   * A failure is reported through `onBackgroundError` and the round returns undefined.
   */
  async runCompaction(): Promise<CleaningResult | undefined> {
    const log = await this.cleaner.pickDirtiest([...this.logs.values()]);
    if (log === undefined) return undefined;
    try {
      return await this.cleaner.clean(log);
    } catch (error) {
      this.options.onBackgroundError?.(error, this.partitionOf.get(log) ?? { topic: log.dir, partition: asPartitionId(-1) });
      return undefined;
    }
  }

  /** Compacts one partition's log now, whatever its dirty ratio (admin, tests). */
  async compact(tp: TopicPartition): Promise<CleaningResult> {
    this.checkOpen();
    const log = this.logs.get(this.keyOf(tp));
    if (log === undefined) throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `no log for ${this.keyOf(tp)}`);
    return this.cleaner.clean(log);
  }

  /** Starts the periodic retention, flush and compaction work. */
  start(): void {
    this.checkOpen();
    if (this.cancelTimers.length > 0) return;
    const timers = this.options.timers ?? realTimers;
    this.cancelTimers.push(
      timers.setInterval(() => {
        if (this.retentionRunning) return;
        this.retentionRunning = true;
        void this.runRetention().finally(() => {
          this.retentionRunning = false;
        });
      }, this.options.retentionCheckIntervalMs ?? RETENTION_CHECK_INTERVAL_MS_DEFAULT),
      timers.setInterval(() => {
        if (this.flushRunning) return;
        this.flushRunning = true;
        void this.flushDue().finally(() => {
          this.flushRunning = false;
        });
      }, this.options.flushCheckIntervalMs ?? FLUSH_CHECK_INTERVAL_MS_DEFAULT),
      timers.setInterval(() => {
        if (this.compactionRunning) return;
        this.compactionRunning = true;
        void this.runCompaction().finally(() => {
          this.compactionRunning = false;
        });
      }, this.options.cleanerCheckIntervalMs ?? CLEANER_BACKOFF_MS_DEFAULT),
    );
  }

  stop(): void {
    for (const timer of this.cancelTimers) timer.cancel();
    this.cancelTimers = [];
  }

  stats(): LogManagerStats {
    let segments = 0;
    for (const log of this.logs.values()) segments += log.segmentCount;
    return {
      logs: this.logs.size,
      segments,
      openFiles: this.pool.openCount,
      fileEvictions: this.pool.evictions,
      loadedIndexBytes: this.indexCache.loadedBytes,
    };
  }

  /** Stops the timers and closes every log cleanly; throws the first failure after trying all. */
  async close(): Promise<void> {
    this.stop();
    this.closed = true;
    await this.cleaner.stop();
    await Promise.allSettled([...this.opening.values()]);
    let firstError: unknown;
    for (const log of this.logs.values()) {
      try {
        await log.close();
      } catch (error) {
        firstError ??= error;
      }
    }
    this.logs.clear();
    this.keys.clear();
    await this.pool.closeIdle();
    if (firstError !== undefined) throw firstError;
  }
}
