/**
 * The LogStore port (log-port.ts) over the storage engine (broker/src/storage): one LogManager
 * under `<dataDir>/logs`, on the real file system, with its retention and interval-flush timers
 * running, its observer hooks wired to metrics (fsync latency) and logs (recovery, corruption,
 * deleted segments).
 *
 * Topic config → storage LogConfig:
 * - segment.bytes, segment.ms, index.interval.bytes, retention.ms, retention.bytes and
 *   message.timestamp.type map one to one; `cleanup.policy=compact` (without delete) turns time
 *   and size retention off, as in Kafka.
 * - max.message.bytes is given to storage as RECORD_BATCH_BYTES_MAX (the most any topic may set);
 *   the partition layer enforces the topic's own value, so changing it applies at once.
 * - `updateConfig` applies a changed config to the open log at once (PartitionLog.updateConfig):
 *   a new segment size or age decides the next roll, new retention limits the next retention
 *   check, a new index interval the next index entries, a new timestamp type the next append.
 *
 * ListOffsets by time: storage answers at batch precision; the adapter decodes that one batch to
 * return the first record whose timestamp is >= the target, as Kafka does.
 */
import { basename } from "node:path";
import { decodeRecordBatch, RECORD_BATCH_BYTES_MAX, asPartitionId, type PartitionId } from "@sluice/protocol";
import type { Logger } from "../logger.js";
import type { TopicConfig } from "../metadata/topic-config.js";
import {
  LogManager,
  logConfig,
  MAX_MESSAGE_BYTES_MAX,
  NodeStorageFs,
  parsePartitionDirName,
  systemClock,
  type Clock,
  type FsyncPolicy,
  type LogConfig,
  type PartitionLog as StorageLog,
  type TopicPartition,
} from "../storage/index.js";
import type { LogReadResult, LogStore, LogStoreStats, PartitionKey, PartitionLog, TimestampLookup, LogAppendResult } from "./log-port.js";

export interface StorageLogStoreOptions {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly retentionCheckIntervalMs: number;
  /** How often the log cleaner looks for a compacted topic's log to clean (storage default if unset). */
  readonly cleanerCheckIntervalMs?: number;
  readonly logger: Logger;
  /** Called with the duration of every group-commit fsync round, in seconds. */
  readonly onFsync: (seconds: number) => void;
  /** Topic configs of known topics, for logs found on disk at start (unknown topic → undefined). */
  readonly configFor: (topic: string) => TopicConfig | undefined;
  /** Wall clock for LogAppendTime, segment age and retention; the system clock by default. */
  readonly nowMs?: () => number;
}

/** The storage config a topic's config means under the broker's fsync policy. */
export function toLogConfig(config: TopicConfig, fsync: FsyncPolicy): LogConfig {
  const deletes = config.cleanupPolicy !== "compact";
  return logConfig({
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    indexIntervalBytes: config.indexIntervalBytes,
    maxMessageBytes: Math.min(RECORD_BATCH_BYTES_MAX, MAX_MESSAGE_BYTES_MAX),
    retentionMs: deletes ? config.retentionMs : -1,
    retentionBytes: deletes ? config.retentionBytes : -1,
    fsync,
    timestampType: config.messageTimestampType,
    cleanupPolicy: config.cleanupPolicy,
    minCompactionLagMs: config.minCompactionLagMs,
    deleteRetentionMs: config.deleteRetentionMs,
  });
}

function sameStorageConfig(a: LogConfig, b: LogConfig): boolean {
  return (
    a.segmentBytes === b.segmentBytes &&
    a.segmentMs === b.segmentMs &&
    a.indexIntervalBytes === b.indexIntervalBytes &&
    a.retentionMs === b.retentionMs &&
    a.retentionBytes === b.retentionBytes &&
    a.timestampType === b.timestampType &&
    a.cleanupPolicy === b.cleanupPolicy &&
    a.minCompactionLagMs === b.minCompactionLagMs &&
    a.deleteRetentionMs === b.deleteRetentionMs
  );
}

class StoragePartitionLog implements PartitionLog {
  constructor(
    private readonly log: StorageLog,
    private readonly fsync: FsyncPolicy,
  ) {}

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }
  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  async append(records: Buffer, leaderEpoch: number): Promise<LogAppendResult> {
    const result = await this.log.append(records, leaderEpoch);
    return { baseOffset: result.baseOffset, lastOffset: result.lastOffset, logAppendTimeMs: result.logAppendTimeMs };
  }

  async read(offset: number, maxBytes: number, maxOffset: number, buffer?: Buffer): Promise<LogReadResult> {
    const result = await this.log.read(offset, maxBytes, buffer === undefined ? { maxOffset } : { maxOffset, buffer });
    return { records: result.records };
  }

  async offsetForTimestamp(timestampMs: number): Promise<TimestampLookup | null> {
    const found = await this.log.offsetForTimestamp(timestampMs);
    if (found === undefined) return null;
    // Storage names the batch; the answer is the first record in it that is new enough.
    const { records } = await this.log.read(found.offset, 1, { maxOffset: this.log.logEndOffset });
    if (records.length === 0) return { offset: found.offset, timestamp: found.timestampMs };
    const batch = decodeRecordBatch(records, 0, { maxBatchBytes: MAX_MESSAGE_BYTES_MAX });
    const record = batch.records.find((r) => r.offset >= found.offset && r.timestamp >= timestampMs);
    return record === undefined ? { offset: found.offset, timestamp: found.timestampMs } : { offset: record.offset, timestamp: record.timestamp };
  }

  updateConfig(config: TopicConfig): boolean {
    const next = toLogConfig(config, this.fsync);
    if (!sameStorageConfig(this.log.config, next)) this.log.updateConfig(next);
    return true;
  }
}

class StorageLogStore implements LogStore {
  constructor(
    private readonly manager: LogManager,
    private readonly fsync: FsyncPolicy,
  ) {}

  get recoveredUncleanly(): boolean {
    return this.manager.recoveredUncleanly;
  }

  async openLog(key: PartitionKey, config: TopicConfig): Promise<PartitionLog> {
    const log = await this.manager.getOrCreate(toTopicPartition(key), toLogConfig(config, this.fsync));
    return new StoragePartitionLog(log, this.fsync);
  }

  async deleteLog(key: PartitionKey): Promise<void> {
    await this.manager.delete(toTopicPartition(key));
  }

  async listLogs(): Promise<PartitionKey[]> {
    return this.manager.list().map((tp) => ({ topic: tp.topic, partition: tp.partition }));
  }

  stats(): LogStoreStats {
    const stats = this.manager.stats();
    return { openSegments: stats.segments, openFiles: stats.openFiles };
  }

  close(): Promise<void> {
    return this.manager.close();
  }
}

function toTopicPartition(key: PartitionKey): TopicPartition {
  return { topic: key.topic, partition: asPartitionId(key.partition) as PartitionId };
}

/** `topic` and `partition` log fields for a partition directory (STYLE habit 12). */
function partitionFields(dir: string): { topic?: string; partition?: number; dir: string } {
  const tp = parsePartitionDirName(basename(dir));
  return tp === undefined ? { dir } : { topic: tp.topic, partition: tp.partition, dir };
}

/** Opens (recovering if needed) every partition log under `options.dir` and starts the timers. */
export async function openStorageLogStore(options: StorageLogStoreOptions): Promise<LogStore> {
  const { logger } = options;
  const clock: Clock = options.nowMs === undefined ? systemClock : { nowMs: options.nowMs, monotonicMs: () => performance.now() };
  const manager = await LogManager.open({
    fs: new NodeStorageFs(),
    rootDir: options.dir,
    clock,
    configFor: (tp) => {
      const config = options.configFor(tp.topic);
      // A directory of a topic that no longer exists: opened with defaults, removed right after.
      return config === undefined ? logConfig({ fsync: options.fsync, maxMessageBytes: Math.min(RECORD_BATCH_BYTES_MAX, MAX_MESSAGE_BYTES_MAX) }) : toLogConfig(config, options.fsync);
    },
    retentionCheckIntervalMs: options.retentionCheckIntervalMs,
    ...(options.cleanerCheckIntervalMs === undefined ? {} : { cleanerCheckIntervalMs: options.cleanerCheckIntervalMs }),
    observer: {
      onFsync: (event) => options.onFsync(event.durationMs / 1000),
      onRecovery: (event) => {
        if (!event.clean) {
          logger.warn(
            { ...partitionFields(event.dir), segmentsScanned: event.segmentsScanned, bytesScanned: event.bytesScanned, bytesTruncated: event.bytesTruncated, problems: event.problems, durationMs: event.durationMs },
            "log recovered after an unclean shutdown",
          );
        }
      },
      onCorruptBatch: (event) => logger.error({ ...partitionFields(event.dir), segment: event.segmentBaseOffset, position: event.position, detail: event.detail }, "corrupt batch found on read"),
      onCompaction: ({ dir, ...result }) => logger.info({ ...partitionFields(dir), ...result }, "log compacted"),
      onCompactionAborted: ({ dir, ...why }) => logger.warn({ ...partitionFields(dir), ...why }, "log compaction aborted"),
      onSegmentsDeleted: (event) => logger.info({ ...partitionFields(event.dir), reason: event.reason, segments: event.baseOffsets.length, bytes: event.bytes }, "segments deleted"),
    },
    onBackgroundError: (error, tp) => logger.error({ topic: tp.topic, partition: tp.partition, err: error }, "background log work failed"),
  });
  manager.start();
  return new StorageLogStore(manager, options.fsync);
}
