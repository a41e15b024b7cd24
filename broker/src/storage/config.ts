/**
 * A partition log's configuration: Kafka's topic-level settings that storage obeys, with the
 * defaults and bounds from limits.ts. `logConfig()` is the one place a config is checked; every
 * log holds a frozen, validated `LogConfig`.
 *
 * fsync policies:
 * - `always` (default): an append resolves only after an fdatasync covers its bytes; concurrent
 *   appends share one fdatasync (group commit).
 * - `interval:<ms>`: appends resolve once written; the log manager flushes a log whose oldest
 *   unflushed write is at least <ms> old.
 * - `never`: flush only on roll and close (and when asked); replication is the durability.
 *
 * Cleanup policies (Kafka's `cleanup.policy`): `delete` (time and size retention), `compact`
 * (keep the latest record per key, see compaction/; no time or size retention), or
 * `compact,delete` (both). `minCleanableDirtyRatio`, `minCompactionLagMs` and
 * `deleteRetentionMs` are read by the compactor only.
 */
import { SluiceError } from "@sluice/protocol";
import {
  INDEX_INTERVAL_BYTES_DEFAULT,
  MAX_MESSAGE_BYTES_DEFAULT,
  MAX_MESSAGE_BYTES_MAX,
  RETENTION_BYTES_DEFAULT,
  RETENTION_MS_DEFAULT,
  SEGMENT_BYTES_DEFAULT,
  SEGMENT_BYTES_MAX,
  SEGMENT_BYTES_MIN,
  SEGMENT_MS_DEFAULT,
} from "./limits.js";
import { DELETE_RETENTION_MS_DEFAULT, MIN_CLEANABLE_DIRTY_RATIO_DEFAULT, MIN_COMPACTION_LAG_MS_DEFAULT } from "./compaction/limits.js";

export type FsyncPolicy =
  | { readonly kind: "always" }
  | { readonly kind: "interval"; readonly intervalMs: number }
  | { readonly kind: "never" };

/** `CreateTime` keeps the producer's timestamps; `LogAppendTime` stamps the broker's clock (and re-checksums the batch). */
export type TimestampType = "CreateTime" | "LogAppendTime";

/** Kafka's `cleanup.policy` values (one spelling for the combination). */
export type CleanupPolicy = "delete" | "compact" | "compact,delete";

/** Whether the policy compacts (`compact` or `compact,delete`). */
export function compacts(policy: CleanupPolicy): boolean {
  return policy !== "delete";
}

/** Whether the policy applies time and size retention (`delete` or `compact,delete`). */
export function deletes(policy: CleanupPolicy): boolean {
  return policy !== "compact";
}

export interface LogConfig {
  /** Roll the active segment before an append that would take it past this size. */
  readonly segmentBytes: number;
  /** Roll the active segment before an append once its first append is this old. */
  readonly segmentMs: number;
  /** Bytes of log between two `.index` entries (and two `.timeindex` entries). */
  readonly indexIntervalBytes: number;
  /** Largest batch accepted, header included. */
  readonly maxMessageBytes: number;
  /** Delete a non-active segment once its largest timestamp is older than this; -1 keeps forever. */
  readonly retentionMs: number;
  /** Delete the oldest non-active segments while the log is bigger than this; -1 means no limit. */
  readonly retentionBytes: number;
  readonly fsync: FsyncPolicy;
  readonly timestampType: TimestampType;
  readonly cleanupPolicy: CleanupPolicy;
  /** Compact once dirty bytes / (clean + dirty bytes) reach this (0..1). */
  readonly minCleanableDirtyRatio: number;
  /** Records in a segment whose largest timestamp is younger than this are not compacted yet. */
  readonly minCompactionLagMs: number;
  /** How long compaction keeps a tombstone after it first cleaned it (KIP-534 delete horizon). */
  readonly deleteRetentionMs: number;
}

export const defaultLogConfig: LogConfig = Object.freeze({
  segmentBytes: SEGMENT_BYTES_DEFAULT,
  segmentMs: SEGMENT_MS_DEFAULT,
  indexIntervalBytes: INDEX_INTERVAL_BYTES_DEFAULT,
  maxMessageBytes: MAX_MESSAGE_BYTES_DEFAULT,
  retentionMs: RETENTION_MS_DEFAULT,
  retentionBytes: RETENTION_BYTES_DEFAULT,
  fsync: Object.freeze({ kind: "always" }),
  timestampType: "CreateTime",
  cleanupPolicy: "delete",
  minCleanableDirtyRatio: MIN_CLEANABLE_DIRTY_RATIO_DEFAULT,
  minCompactionLagMs: MIN_COMPACTION_LAG_MS_DEFAULT,
  deleteRetentionMs: DELETE_RETENTION_MS_DEFAULT,
});

function invalid(detail: string): SluiceError {
  return new SluiceError("INVALID_CONFIG", detail);
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Parses `always`, `never` or `interval:<ms>`. */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === "always") return { kind: "always" };
  if (text === "never") return { kind: "never" };
  const match = /^interval:(\d{1,9})$/.exec(text);
  if (match?.[1] !== undefined) {
    const intervalMs = Number(match[1]);
    if (intervalMs < 1) throw invalid(`fsync interval must be at least 1 ms, got ${text}`);
    return { kind: "interval", intervalMs };
  }
  throw invalid(`fsync policy must be "always", "never" or "interval:<ms>", got ${JSON.stringify(text)}`);
}

export function formatFsyncPolicy(policy: FsyncPolicy): string {
  return policy.kind === "interval" ? `interval:${policy.intervalMs}` : policy.kind;
}

/** Builds a validated config from overrides on top of the defaults. Throws SluiceError INVALID_CONFIG. */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...defaultLogConfig, ...overrides };
  checkInteger("segmentBytes", config.segmentBytes, SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX);
  checkInteger("segmentMs", config.segmentMs, 1, Number.MAX_SAFE_INTEGER);
  checkInteger("indexIntervalBytes", config.indexIntervalBytes, 0, SEGMENT_BYTES_MAX);
  checkInteger("maxMessageBytes", config.maxMessageBytes, 61, MAX_MESSAGE_BYTES_MAX);
  checkInteger("retentionMs", config.retentionMs, -1, Number.MAX_SAFE_INTEGER);
  checkInteger("retentionBytes", config.retentionBytes, -1, Number.MAX_SAFE_INTEGER);
  const fsync = config.fsync;
  if (fsync.kind === "interval") checkInteger("fsync interval", fsync.intervalMs, 1, 24 * 60 * 60 * 1000);
  else if (fsync.kind !== "always" && fsync.kind !== "never") throw invalid(`unknown fsync policy`);
  if (config.timestampType !== "CreateTime" && config.timestampType !== "LogAppendTime") {
    throw invalid(`timestampType must be CreateTime or LogAppendTime`);
  }
  if (config.cleanupPolicy !== "delete" && config.cleanupPolicy !== "compact" && config.cleanupPolicy !== "compact,delete") {
    throw invalid(`cleanupPolicy must be delete, compact or compact,delete, got ${JSON.stringify(config.cleanupPolicy)}`);
  }
  if (typeof config.minCleanableDirtyRatio !== "number" || !(config.minCleanableDirtyRatio >= 0 && config.minCleanableDirtyRatio <= 1)) {
    throw invalid(`minCleanableDirtyRatio must be a number in [0, 1], got ${config.minCleanableDirtyRatio}`);
  }
  checkInteger("minCompactionLagMs", config.minCompactionLagMs, 0, Number.MAX_SAFE_INTEGER);
  checkInteger("deleteRetentionMs", config.deleteRetentionMs, 0, Number.MAX_SAFE_INTEGER);
  return Object.freeze({ ...config, fsync: Object.freeze({ ...fsync }) });
}
