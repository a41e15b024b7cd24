/**
 * Topic configuration: the validated set of per-topic keys, their types, ranges, defaults and
 * documentation, and the pure functions that check overrides and resolve them into typed values.
 *
 * Pure: no I/O. Used by CreateTopics/AlterConfigs/DescribeConfigs (overrides sent by users), by
 * the broker config (broker-wide defaults, `log.<key>`), and by the partition layer (typed values).
 *
 * Invariants:
 * - Every stored override is in canonical form (what `normalizeTopicConfigValue` returns), so
 *   describing a topic shows exactly what will be applied.
 * - Unknown keys and bad values are `SluiceError("INVALID_CONFIG")` whose message names the key
 *   and says why; nothing partially applies (callers validate the whole map before storing).
 */
import { BATCH_HEADER_BYTES, RECORD_BATCH_BYTES_MAX, SluiceError } from "@sluice/protocol";
import { SEGMENT_BYTES_MAX } from "../storage/index.js";

export const cleanupPolicies = ["delete", "compact", "compact,delete"] as const;
export type CleanupPolicy = (typeof cleanupPolicies)[number];
export const compressionTypes = ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"] as const;
export type CompressionType = (typeof compressionTypes)[number];
export const timestampTypes = ["CreateTime", "LogAppendTime"] as const;
export type MessageTimestampType = (typeof timestampTypes)[number];

/** Typed values of every topic config key. */
export interface TopicConfig {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly cleanupPolicy: CleanupPolicy;
  readonly maxMessageBytes: number;
  readonly minInsyncReplicas: number;
  readonly compressionType: CompressionType;
  readonly messageTimestampType: MessageTimestampType;
  readonly minCompactionLagMs: number;
  readonly deleteRetentionMs: number;
  readonly indexIntervalBytes: number;
}

interface LongDefinition {
  readonly kind: "long";
  readonly min: number;
  readonly max: number;
}
interface EnumDefinition {
  readonly kind: "enum";
  readonly values: readonly string[];
}

export type TopicConfigDefinition = (LongDefinition | EnumDefinition) & {
  readonly name: string;
  readonly field: keyof TopicConfig;
  readonly defaultValue: string;
  readonly doc: string;
};

/** The largest int32 (replica counts are int32 on the wire). */
const INT32_MAX = 2 ** 31 - 1;
/** A day in milliseconds, for readable defaults. */
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The table. Defaults follow Apache Kafka's so that operators' expectations carry over.
 * Keys read only by log compaction (`min.compaction.lag.ms`, `delete.retention.ms`) are stored
 * and validated now so topics created today keep their settings when the compactor lands.
 */
export const topicConfigDefinitions: readonly TopicConfigDefinition[] = [
  {
    name: "retention.ms", field: "retentionMs", kind: "long", min: -1, max: Number.MAX_SAFE_INTEGER, defaultValue: String(7 * DAY_MS),
    doc: "Delete whole segments whose newest record is older than this many milliseconds; -1 keeps them forever.",
  },
  {
    name: "retention.bytes", field: "retentionBytes", kind: "long", min: -1, max: Number.MAX_SAFE_INTEGER, defaultValue: "-1",
    doc: "Delete the oldest whole segments while a partition is larger than this many bytes; -1 means no size limit.",
  },
  {
    // 1 KiB floor: smaller segments would roll on nearly every batch and waste file handles.
    // The ceiling is storage's (index positions are int32, with room for one overshooting append).
    name: "segment.bytes", field: "segmentBytes", kind: "long", min: 1024, max: SEGMENT_BYTES_MAX, defaultValue: String(1024 * 1024 * 1024),
    doc: "Roll to a new segment file when the active one reaches this many bytes.",
  },
  {
    name: "segment.ms", field: "segmentMs", kind: "long", min: 1, max: Number.MAX_SAFE_INTEGER, defaultValue: String(7 * DAY_MS),
    doc: "Roll to a new segment file when the active one is older than this many milliseconds, so retention can delete old data.",
  },
  {
    name: "cleanup.policy", field: "cleanupPolicy", kind: "enum", values: cleanupPolicies, defaultValue: "delete",
    doc: "delete: drop old segments by retention; compact: keep the latest record per key; compact,delete: both.",
  },
  {
    // Kafka's default (1 MiB + the 12-byte log overhead); never above what one gRPC message carries.
    name: "max.message.bytes", field: "maxMessageBytes", kind: "long", min: BATCH_HEADER_BYTES, max: RECORD_BATCH_BYTES_MAX, defaultValue: "1048588",
    doc: `Largest record batch (after compression) the broker accepts for this topic, at most ${RECORD_BATCH_BYTES_MAX} bytes.`,
  },
  {
    name: "min.insync.replicas", field: "minInsyncReplicas", kind: "long", min: 1, max: INT32_MAX, defaultValue: "1",
    doc: "With acks=all, a produce fails with NOT_ENOUGH_REPLICAS when fewer replicas than this are in sync.",
  },
  {
    name: "compression.type", field: "compressionType", kind: "enum", values: compressionTypes, defaultValue: "producer",
    doc: "producer: store batches as the producer compressed them; otherwise the broker re-compresses batches that use another codec.",
  },
  {
    name: "message.timestamp.type", field: "messageTimestampType", kind: "enum", values: timestampTypes, defaultValue: "CreateTime",
    doc: "CreateTime: keep the producer's timestamps; LogAppendTime: the broker stamps each batch with its append time.",
  },
  {
    name: "min.compaction.lag.ms", field: "minCompactionLagMs", kind: "long", min: 0, max: Number.MAX_SAFE_INTEGER, defaultValue: "0",
    doc: "Compaction leaves records younger than this many milliseconds uncompacted (read by the log compactor).",
  },
  {
    name: "delete.retention.ms", field: "deleteRetentionMs", kind: "long", min: 0, max: Number.MAX_SAFE_INTEGER, defaultValue: String(DAY_MS),
    doc: "How long compaction keeps tombstones (null values) before removing them (read by the log compactor).",
  },
  {
    name: "index.interval.bytes", field: "indexIntervalBytes", kind: "long", min: 0, max: SEGMENT_BYTES_MAX, defaultValue: "4096",
    doc: "Bytes of log between two entries of the sparse offset and time indexes.",
  },
];

const byName = new Map(topicConfigDefinitions.map((d) => [d.name, d]));

export function topicConfigDefinition(name: string): TopicConfigDefinition | undefined {
  return byName.get(name);
}

export function invalidConfig(detail: string): SluiceError {
  return new SluiceError("INVALID_CONFIG", detail);
}

const integerPattern = /^-?\d+$/;

/** Checks one value and returns its canonical form; throws INVALID_CONFIG naming the key. */
export function normalizeTopicConfigValue(name: string, raw: string): string {
  const def = byName.get(name);
  if (def === undefined) {
    throw invalidConfig(`unknown topic config "${name}" (known: ${topicConfigDefinitions.map((d) => d.name).join(", ")})`);
  }
  const value = raw.trim();
  if (def.kind === "long") {
    const n = Number(value);
    if (!integerPattern.test(value) || !Number.isSafeInteger(n)) {
      throw invalidConfig(`"${name}" must be an integer, got "${raw}"`);
    }
    if (n < def.min || n > def.max) {
      throw invalidConfig(`"${name}" must be in [${def.min}, ${def.max}], got ${n}`);
    }
    return String(n);
  }
  // cleanup.policy is a list in Kafka: accept either order and spaces, store one spelling.
  const candidate = name === "cleanup.policy" ? canonicalPolicy(value) : value;
  if (!def.values.includes(candidate)) {
    throw invalidConfig(`"${name}" must be one of ${def.values.join(" | ")}, got "${raw}"`);
  }
  return candidate;
}

function canonicalPolicy(value: string): string {
  const parts = value.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  const unique = [...new Set(parts)].sort();
  return unique.join(",");
}

/** Validates a whole override map (all or nothing) and returns it in canonical form. */
export function validateTopicConfigs(overrides: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(overrides)) {
    if (typeof raw !== "string") throw invalidConfig(`"${name}" must be a string value`);
    out[name] = normalizeTopicConfigValue(name, raw);
  }
  return out;
}

/** The table's defaults as a canonical string map. */
export function builtInTopicDefaults(): Record<string, string> {
  return Object.fromEntries(topicConfigDefinitions.map((d) => [d.name, d.defaultValue]));
}

/**
 * Typed values for a topic: built-in defaults, then broker-wide defaults, then the topic's
 * overrides. Both maps must already be canonical (validated).
 */
export function resolveTopicConfig(
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: Readonly<Record<string, string>> = {},
): TopicConfig {
  const values: Record<string, string | number> = {};
  for (const def of topicConfigDefinitions) {
    const raw = overrides[def.name] ?? brokerDefaults[def.name] ?? def.defaultValue;
    values[def.field] = def.kind === "long" ? Number(raw) : raw;
  }
  return values as unknown as TopicConfig;
}

export type TopicConfigSource = "DEFAULT" | "TOPIC_OVERRIDE" | "BROKER_OVERRIDE";

export interface DescribedTopicConfig {
  readonly name: string;
  readonly value: string;
  readonly source: TopicConfigSource;
  readonly doc: string;
}

/** Every key with its effective value and where it came from (for DescribeConfigs). */
export function describeTopicConfig(
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: Readonly<Record<string, string>> = {},
): DescribedTopicConfig[] {
  return topicConfigDefinitions.map((def) => {
    const topic = overrides[def.name];
    if (topic !== undefined) return { name: def.name, value: topic, source: "TOPIC_OVERRIDE", doc: def.doc };
    const broker = brokerDefaults[def.name];
    if (broker !== undefined) return { name: def.name, value: broker, source: "BROKER_OVERRIDE", doc: def.doc };
    return { name: def.name, value: def.defaultValue, source: "DEFAULT", doc: def.doc };
  });
}
