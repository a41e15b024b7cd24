/**
 * Broker configuration: one table of keys, parsed from command-line flags, `SLUICE_*`
 * environment variables and an optional JSON file, with precedence flags > env > file > defaults.
 *
 * Pure: the caller reads the file (see `loadBrokerConfig`'s injected `readFile`); everything else
 * is string handling, so every rule is testable without a process.
 *
 * Spelling of a key, e.g. `data-dir`:
 *   flag  `--data-dir /var/lib/sluice` or `--data-dir=/var/lib/sluice`
 *   env   `SLUICE_DATA_DIR=/var/lib/sluice` (upper case, `.` and `-` become `_`)
 *   file  `{"data-dir": "/var/lib/sluice"}` (strings, numbers or booleans)
 * Broker-wide defaults for topic configs are `log.<topic key>`, e.g. `--log.retention.ms 3600000`
 * (env `SLUICE_LOG_RETENTION_MS`).
 *
 * Invariants: the result is fully validated; any unknown key or bad value is a `ConfigError`
 * naming the key, where it came from, and why. Nothing is silently ignored, except the
 * environment variables that other Sluice tools read (`clientEnvironmentKeys`).
 */
import { SluiceError } from "@sluice/protocol";
import {
  ASSIGNORS,
  DEFAULT_ASSIGNOR_NAME,
  GROUP_MEMBERS_MAX,
  HEARTBEAT_INTERVAL_MS_DEFAULT,
  OFFSET_METADATA_BYTES_MAX_DEFAULT,
  OFFSETS_RETENTION_MS_DEFAULT,
  REBALANCE_TIMEOUT_MS_DEFAULT,
  REBALANCE_TIMEOUT_MS_MAX,
  SESSION_TIMEOUT_MS_DEFAULT,
  type CoordinatorConfig,
} from "./group/index.js";
import { OFFSETS_TOPIC_PARTITIONS_DEFAULT, OFFSETS_TOPIC_PARTITIONS_MAX, OFFSETS_TOPIC_SEGMENT_BYTES } from "./group-runtime/limits.js";
import { normalizeTopicConfigValue, topicConfigDefinitions } from "./metadata/topic-config.js";
import { parseFsyncPolicy, type FsyncPolicy } from "./storage/index.js";

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export interface BrokerConfig {
  /** Root of everything the broker stores: `<dataDir>/metadata/` and `<dataDir>/logs/`. */
  readonly dataDir: string;
  readonly host: string;
  /** 0 asks the OS for a free port; the bound port is logged in the "broker ready" line. */
  readonly port: number;
  /**
   * Port of the data listener (Produce/Fetch over plain TCP, server/data-listener.ts) on `host`;
   * 0 = ephemeral, -1 = no data listener. Bound port in the "broker ready" line (`dataPort`).
   */
  readonly dataPort: number;
  /** The host clients are told to connect to (Metadata/DescribeCluster). */
  readonly advertisedHost: string;
  readonly brokerId: number;
  readonly metricsHost: string;
  /** HTTP port for Prometheus `/metrics`; 0 = ephemeral, -1 = no metrics server. */
  readonly metricsPort: number;
  readonly logLevel: LogLevel;
  readonly fsync: FsyncPolicy;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
  /** Bound on waiting for in-flight requests during graceful shutdown. */
  readonly shutdownTimeoutMs: number;
  readonly retentionCheckIntervalMs: number;
  /** How often the log cleaner looks for a compacted log to clean. */
  readonly cleanerCheckIntervalMs: number;
  /** Broker-wide topic config defaults (canonical strings keyed by topic config name). */
  readonly topicDefaults: Readonly<Record<string, string>>;
  /** Partitions of `__consumer_offsets` when the broker creates it (an existing topic keeps its count). */
  readonly offsetsTopicPartitions: number;
  /** segment.bytes of `__consumer_offsets` when the broker creates it. */
  readonly offsetsTopicSegmentBytes: number;
  /** Session, heartbeat, rebalance, size, retention and assignor settings of every group coordinator. */
  readonly groupCoordinator: CoordinatorConfig;
}

export type ConfigSourceName = "flag" | "env" | "file" | "default";

/** A configuration value was refused; `key` is the broker key (e.g. "port"). */
export class ConfigError extends SluiceError {
  readonly key: string;
  readonly source: ConfigSourceName | "argv";
  readonly reason: string;
  /** The key, where it came from and why it was refused (the message without the code's text). */
  readonly detail: string;
  constructor(key: string, source: ConfigSourceName | "argv", reason: string) {
    const detail = `${describeKey(key, source)}: ${reason}`;
    super("INVALID_CONFIG", detail);
    this.name = "ConfigError";
    this.key = key;
    this.source = source;
    this.reason = reason;
    this.detail = detail;
  }
}

function describeKey(key: string, source: ConfigSourceName | "argv"): string {
  switch (source) {
    case "flag":
    case "argv":
      return `--${key}`;
    case "env":
      return `${envName(key)} (config key "${key}")`;
    case "file":
      return `config file key "${key}"`;
    case "default":
      return `default of "${key}"`;
  }
}

/** Default gRPC port: Kafka's, so habits and firewall rules carry over. */
export const DEFAULT_PORT = 9092;
/** Default data-listener port: next to the gRPC port. */
export const DEFAULT_DATA_PORT = 9093;
/** Default metrics port: Redpanda's admin/metrics port, clear of Kafka's and Prometheus's own. */
export const DEFAULT_METRICS_PORT = 9644;

type KeyKind =
  | { readonly type: "string" }
  | { readonly type: "int"; readonly min: number; readonly max: number }
  | { readonly type: "enum"; readonly values: readonly string[] }
  | { readonly type: "fsync" }
  | { readonly type: "topic"; readonly topicKey: string };

interface KeySpec {
  readonly key: string;
  readonly kind: KeyKind;
  readonly defaultValue: string | undefined;
  readonly doc: string;
}

const UINT16_MAX = 65535;
const INT32_MAX = 2 ** 31 - 1;

/** Every broker key. `config` itself is only read from flags and env (it names the file). */
export const brokerConfigKeys: readonly KeySpec[] = [
  { key: "config", kind: { type: "string" }, defaultValue: undefined, doc: "Path of a JSON config file (keys as below)." },
  { key: "data-dir", kind: { type: "string" }, defaultValue: ".sluice-data", doc: "Directory for topic metadata and partition logs." },
  { key: "host", kind: { type: "string" }, defaultValue: "127.0.0.1", doc: "Address the gRPC server and the data listener bind (0.0.0.0 for all interfaces)." },
  { key: "port", kind: { type: "int", min: 0, max: UINT16_MAX }, defaultValue: String(DEFAULT_PORT), doc: "gRPC port; 0 picks a free port (logged when ready)." },
  {
    key: "data-port",
    kind: { type: "int", min: -1, max: UINT16_MAX },
    defaultValue: String(DEFAULT_DATA_PORT),
    doc: "Port of the data listener (Produce and Fetch over plain TCP, same host as the gRPC port; gRPC stays the complete API); 0 picks a free port, -1 disables it. Left unset while --port is 0, it is 0 too, so brokers started on free ports never collide on it.",
  },
  { key: "advertised-host", kind: { type: "string" }, defaultValue: undefined, doc: "Host name given to clients in metadata; defaults to --host (127.0.0.1 when --host is a wildcard)." },
  { key: "broker-id", kind: { type: "int", min: 0, max: INT32_MAX }, defaultValue: "0", doc: "This broker's id." },
  { key: "metrics-host", kind: { type: "string" }, defaultValue: undefined, doc: "Address of the HTTP /metrics server; defaults to --host." },
  { key: "metrics-port", kind: { type: "int", min: -1, max: UINT16_MAX }, defaultValue: String(DEFAULT_METRICS_PORT), doc: "Port of the HTTP /metrics server; 0 picks a free port, -1 disables it." },
  { key: "log-level", kind: { type: "enum", values: logLevels }, defaultValue: "info", doc: "pino log level." },
  { key: "fsync", kind: { type: "fsync" }, defaultValue: "always", doc: "always (group commit: acknowledged means on disk) | interval:<ms> | never." },
  { key: "default-partitions", kind: { type: "int", min: 1, max: 100_000 }, defaultValue: "1", doc: "Partitions of a topic created without a count." },
  { key: "default-replication-factor", kind: { type: "int", min: 1, max: 1 }, defaultValue: "1", doc: "Replication factor of a topic created without one (a single broker: 1)." },
  { key: "shutdown-timeout-ms", kind: { type: "int", min: 0, max: 10 * 60_000 }, defaultValue: "10000", doc: "How long graceful shutdown waits for in-flight requests." },
  { key: "cleaner-check-interval-ms", kind: { type: "int", min: 1, max: INT32_MAX }, defaultValue: "15000", doc: "How often the log cleaner looks for a compacted topic to clean (Kafka's log.cleaner.backoff.ms is 15 s)." },
  { key: "retention-check-interval-ms", kind: { type: "int", min: 1, max: INT32_MAX }, defaultValue: "300000", doc: "How often retention deletes old segments (Kafka's default: 5 minutes)." },
  // Consumer groups (Kafka's key names with '.' as '-'; see docs/consumer-groups.md).
  {
    key: "offsets-topic-num-partitions",
    kind: { type: "int", min: 1, max: OFFSETS_TOPIC_PARTITIONS_MAX },
    defaultValue: String(OFFSETS_TOPIC_PARTITIONS_DEFAULT),
    doc: `Partitions of __consumer_offsets when the broker creates it (Kafka: 50; ${OFFSETS_TOPIC_PARTITIONS_DEFAULT} keeps a dev broker light). Fixed once the topic exists.`,
  },
  {
    key: "offsets-topic-segment-bytes",
    kind: { type: "int", min: 1024, max: 1024 * 1024 * 1024 },
    defaultValue: String(OFFSETS_TOPIC_SEGMENT_BYTES),
    doc: "segment.bytes of __consumer_offsets when the broker creates it (Kafka: 100 MiB); compaction never cleans the active segment.",
  },
  { key: "group-consumer-session-timeout-ms", kind: { type: "int", min: 1, max: INT32_MAX }, defaultValue: String(SESSION_TIMEOUT_MS_DEFAULT), doc: "A group member silent this long is removed (Kafka's group.consumer.session.timeout.ms)." },
  { key: "group-consumer-heartbeat-interval-ms", kind: { type: "int", min: 1, max: INT32_MAX }, defaultValue: String(HEARTBEAT_INTERVAL_MS_DEFAULT), doc: "Heartbeat interval the coordinator asks members to use; below the session timeout." },
  { key: "group-consumer-rebalance-timeout-ms", kind: { type: "int", min: 1, max: REBALANCE_TIMEOUT_MS_MAX }, defaultValue: String(REBALANCE_TIMEOUT_MS_DEFAULT), doc: "Rebalance timeout of members that do not send one (Kafka's consumers send max.poll.interval.ms)." },
  { key: "group-consumer-max-size", kind: { type: "int", min: 1, max: GROUP_MEMBERS_MAX }, defaultValue: String(GROUP_MEMBERS_MAX), doc: "Most members one consumer group may have (GROUP_MAX_SIZE_REACHED past it)." },
  { key: "group-consumer-assignor", kind: { type: "enum", values: [...ASSIGNORS.keys()] }, defaultValue: DEFAULT_ASSIGNOR_NAME, doc: "Assignor of groups whose members ask for none: uniform | range | round-robin." },
  { key: "offsets-retention-ms", kind: { type: "int", min: 1, max: Number.MAX_SAFE_INTEGER }, defaultValue: String(OFFSETS_RETENTION_MS_DEFAULT), doc: "Committed offsets of an empty group are deleted this long after it became empty (Kafka: 7 days)." },
  { key: "offset-metadata-max-bytes", kind: { type: "int", min: 1, max: 16_384 }, defaultValue: String(OFFSET_METADATA_BYTES_MAX_DEFAULT), doc: "Largest metadata string of a committed offset, in UTF-8 bytes." },
  ...topicConfigDefinitions.map(
    (d): KeySpec => ({ key: `log.${d.name}`, kind: { type: "topic", topicKey: d.name }, defaultValue: undefined, doc: `Default of topic config ${d.name}: ${d.doc}` }),
  ),
];

const specByKey = new Map(brokerConfigKeys.map((s) => [s.key, s]));

/** Environment variables that belong to other Sluice tools (the CLI), not to the broker. */
export const clientEnvironmentKeys: readonly string[] = ["SLUICE_BOOTSTRAP"];

export function envName(key: string): string {
  return `SLUICE_${key.toUpperCase().replace(/[.-]/g, "_")}`;
}

const keyByEnvName = new Map(brokerConfigKeys.map((s) => [envName(s.key), s.key]));

export interface ParsedArgs {
  /** Flag values keyed by broker key. */
  readonly flags: Readonly<Record<string, string>>;
  readonly help: boolean;
  readonly version: boolean;
}

/** Parses `--key value` / `--key=value` flags; unknown flags and stray words are errors. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags: Record<string, string> = {};
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--version") {
      version = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new ConfigError(arg, "argv", `unexpected argument "${arg}" (flags look like --key value)`);
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!specByKey.has(key)) throw new ConfigError(key, "argv", `unknown flag${suggest(key)}`);
    let value: string;
    if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new ConfigError(key, "argv", "needs a value");
      value = next;
      i++;
    }
    if (key in flags) throw new ConfigError(key, "argv", "given more than once");
    flags[key] = value;
  }
  return { flags, help, version };
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A hint naming the known key a typo most likely meant. */
function suggest(key: string): string {
  const normalized = key.toLowerCase().replace(/_/g, "-");
  let best: { key: string; distance: number } | undefined;
  for (const spec of brokerConfigKeys) {
    const distance = spec.key.replace(/[-.]/g, "") === normalized.replace(/[-.]/g, "") ? 0 : editDistance(normalized, spec.key);
    if (best === undefined || distance < best.distance) best = { key: spec.key, distance };
  }
  return best !== undefined && best.distance <= 2 ? ` (did you mean --${best.key}?)` : " (see --help)";
}

/** Picks the `SLUICE_*` variables; unknown ones are errors (a typo must not be ignored). */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("SLUICE_") || value === undefined) continue;
    if (clientEnvironmentKeys.includes(name)) continue;
    const key = keyByEnvName.get(name);
    if (key === undefined) throw new ConfigError(name, "env", `unknown environment variable ${name}`);
    out[key] = value;
  }
  return out;
}

/** Parses the config file's text: a JSON object of key → string | number | boolean. */
export function configFromFileText(text: string, path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError("config", "file", `${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("config", "file", `${path} must hold a JSON object of key → value`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!specByKey.has(key)) throw new ConfigError(key, "file", `unknown key in ${path}${suggest(key)}`);
    if (key === "config") throw new ConfigError(key, "file", "a config file cannot name another config file");
    if (typeof value === "string") out[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") out[key] = String(value);
    else throw new ConfigError(key, "file", `must be a string, number or boolean, got ${value === null ? "null" : typeof value}`);
  }
  return out;
}

export interface ConfigSources {
  readonly flags: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  readonly file: Readonly<Record<string, string>>;
}

const integerPattern = /^-?\d+$/;

function parseInt32(key: string, source: ConfigSourceName, raw: string, min: number, max: number): number {
  const value = raw.trim();
  const n = Number(value);
  if (!integerPattern.test(value) || !Number.isSafeInteger(n)) throw new ConfigError(key, source, `must be an integer, got "${raw}"`);
  if (n < min || n > max) throw new ConfigError(key, source, `must be in [${min}, ${max}], got ${n}`);
  return n;
}

/** The longest `interval:<ms>` fsync period accepted: a minute of unsynced data is already a lot to lose. */
export const FSYNC_INTERVAL_MS_MAX = 60_000;

/** Storage's parser plus the broker's bound on the interval; errors are plain reasons. */
function parseFsync(raw: string): FsyncPolicy {
  let policy: FsyncPolicy;
  try {
    policy = parseFsyncPolicy(raw.trim());
  } catch {
    throw new Error(`must be always | never | interval:<ms>, got "${raw}"`);
  }
  if (policy.kind === "interval" && policy.intervalMs > FSYNC_INTERVAL_MS_MAX) {
    throw new Error(`interval must be 1..${FSYNC_INTERVAL_MS_MAX} ms, got ${policy.intervalMs}`);
  }
  return policy;
}

const wildcardHosts = new Set(["0.0.0.0", "::", "[::]", ""]);

/** Merges the sources (flags > env > file > defaults) and validates every key. */
export function resolveBrokerConfig(sources: ConfigSources): BrokerConfig {
  const pick = (key: string): { raw: string; source: ConfigSourceName } | undefined => {
    const flag = sources.flags[key];
    if (flag !== undefined) return { raw: flag, source: "flag" };
    const env = sources.env[key];
    if (env !== undefined) return { raw: env, source: "env" };
    const file = sources.file[key];
    if (file !== undefined) return { raw: file, source: "file" };
    const spec = specByKey.get(key);
    if (spec?.defaultValue !== undefined) return { raw: spec.defaultValue, source: "default" };
    return undefined;
  };
  const named: ReadonlyArray<readonly [ConfigSourceName, Readonly<Record<string, string>>]> = [
    ["flag", sources.flags],
    ["env", sources.env],
    ["file", sources.file],
  ];
  for (const [source, values] of named) {
    for (const key of Object.keys(values)) if (!specByKey.has(key)) throw new ConfigError(key, source, "unknown key");
  }

  const str = (key: string): string => {
    const v = pick(key);
    if (v === undefined) throw new ConfigError(key, "default", "has no value");
    if (v.raw.trim().length === 0) throw new ConfigError(key, v.source, "must not be empty");
    return v.raw.trim();
  };
  const int = (key: string): number => {
    const spec = specByKey.get(key);
    const v = pick(key);
    if (spec === undefined || spec.kind.type !== "int" || v === undefined) throw new ConfigError(key, "default", "has no value");
    return parseInt32(key, v.source, v.raw, spec.kind.min, spec.kind.max);
  };

  const logLevelPick = pick("log-level");
  const logLevel = (logLevelPick?.raw.trim() ?? "info") as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError("log-level", logLevelPick?.source ?? "default", `must be one of ${logLevels.join(" | ")}, got "${logLevelPick?.raw ?? ""}"`);
  }

  const fsyncPick = pick("fsync");
  let fsync: FsyncPolicy;
  try {
    fsync = parseFsync(fsyncPick?.raw ?? "always");
  } catch (error) {
    throw new ConfigError("fsync", fsyncPick?.source ?? "default", error instanceof Error ? error.message : String(error));
  }

  const topicDefaults: Record<string, string> = {};
  for (const spec of brokerConfigKeys) {
    if (spec.kind.type !== "topic") continue;
    const v = pick(spec.key);
    if (v === undefined) continue;
    try {
      topicDefaults[spec.kind.topicKey] = normalizeTopicConfigValue(spec.kind.topicKey, v.raw);
    } catch (error) {
      const reason = error instanceof SluiceError ? error.message.replace(/^configuration is invalid: /, "") : String(error);
      throw new ConfigError(spec.key, v.source, reason);
    }
  }

  const host = str("host");
  const advertised = pick("advertised-host");
  const advertisedHost = advertised !== undefined && advertised.raw.trim().length > 0
    ? advertised.raw.trim()
    : wildcardHosts.has(host) ? "127.0.0.1" : host;
  const metricsHostPick = pick("metrics-host");

  const enumValue = (key: string): string => {
    const spec = specByKey.get(key);
    const v = pick(key);
    if (spec === undefined || spec.kind.type !== "enum" || v === undefined) throw new ConfigError(key, "default", "has no value");
    const value = v.raw.trim();
    if (!spec.kind.values.includes(value)) throw new ConfigError(key, v.source, `must be one of ${spec.kind.values.join(" | ")}, got "${v.raw}"`);
    return value;
  };
  const groupCoordinator: CoordinatorConfig = {
    sessionTimeoutMs: int("group-consumer-session-timeout-ms"),
    heartbeatIntervalMs: int("group-consumer-heartbeat-interval-ms"),
    defaultRebalanceTimeoutMs: int("group-consumer-rebalance-timeout-ms"),
    maxGroupSize: int("group-consumer-max-size"),
    offsetsRetentionMs: int("offsets-retention-ms"),
    offsetMetadataMaxBytes: int("offset-metadata-max-bytes"),
    defaultAssignor: enumValue("group-consumer-assignor"),
  };
  if (groupCoordinator.heartbeatIntervalMs >= groupCoordinator.sessionTimeoutMs) {
    const hb = pick("group-consumer-heartbeat-interval-ms");
    throw new ConfigError(
      "group-consumer-heartbeat-interval-ms",
      hb?.source ?? "default",
      `must be below group-consumer-session-timeout-ms (${groupCoordinator.sessionTimeoutMs}), got ${groupCoordinator.heartbeatIntervalMs}`,
    );
  }

  const port = int("port");
  const dataPortPick = pick("data-port");
  // Unset (its default) next to an ephemeral gRPC port: ephemeral too (tests, `sluice dev --port 0`).
  const dataPort = dataPortPick?.source === "default" && port === 0 ? 0 : int("data-port");
  if (dataPort > 0 && dataPort === port) {
    throw new ConfigError("data-port", dataPortPick?.source ?? "default", `must differ from port (${port}); set --data-port to another port, 0 for a free one or -1 for none`);
  }

  return {
    dataDir: str("data-dir"),
    host,
    port,
    dataPort,
    advertisedHost,
    brokerId: int("broker-id"),
    metricsHost: metricsHostPick !== undefined && metricsHostPick.raw.trim().length > 0 ? metricsHostPick.raw.trim() : host,
    metricsPort: int("metrics-port"),
    logLevel,
    fsync,
    defaultPartitions: int("default-partitions"),
    defaultReplicationFactor: int("default-replication-factor"),
    shutdownTimeoutMs: int("shutdown-timeout-ms"),
    retentionCheckIntervalMs: int("retention-check-interval-ms"),
    cleanerCheckIntervalMs: int("cleaner-check-interval-ms"),
    topicDefaults,
    offsetsTopicPartitions: int("offsets-topic-num-partitions"),
    offsetsTopicSegmentBytes: int("offsets-topic-segment-bytes"),
    groupCoordinator,
  };
}

export interface LoadedConfig {
  readonly config: BrokerConfig;
  readonly help: boolean;
  readonly version: boolean;
}

/**
 * Reads flags, environment and (if `--config`/`SLUICE_CONFIG` names one) the file through the
 * injected `readFile`, then resolves. Errors reading the file are ConfigErrors too.
 */
export function loadBrokerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): LoadedConfig {
  const args = parseArgs(argv);
  const envValues = configFromEnv(env);
  const path = args.flags["config"] ?? envValues["config"];
  let file: Record<string, string> = {};
  if (path !== undefined) {
    const source: ConfigSourceName = args.flags["config"] !== undefined ? "flag" : "env";
    let text: string;
    try {
      text = readFile(path);
    } catch (error) {
      throw new ConfigError("config", source, `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    file = configFromFileText(text, path);
  }
  const flags = { ...args.flags };
  delete flags["config"];
  const fromEnv = { ...envValues };
  delete fromEnv["config"];
  return { config: resolveBrokerConfig({ flags, env: fromEnv, file }), help: args.help, version: args.version };
}

/** `--help` text generated from the key table. */
export function configHelp(): string {
  const lines = ["usage: sluice-broker [--key value ...]", "", "Every key may also be set as SLUICE_<KEY> in the environment or in a JSON file given by --config.", "Precedence: flags > environment > file > defaults.", ""];
  for (const spec of brokerConfigKeys) {
    const def = spec.defaultValue === undefined ? "" : ` (default ${spec.defaultValue})`;
    lines.push(`  --${spec.key}${def}`, `      ${spec.doc}`);
  }
  return lines.join("\n");
}
