/**
 * The operator's command line: parsing and validation (pure; `env` is an argument). Bad flags
 * are an OperatorConfigError naming the flag and what is allowed; main.ts prints it and exits 2.
 *
 * Both `--flag=value` and `--flag value` are accepted; boolean flags also take `=true|false`.
 */
import { OperatorConfigError } from "./errors.js";
import {
  LEASE_DURATION_SECONDS_DEFAULT,
  RENEW_DEADLINE_SECONDS_DEFAULT,
  RESYNC_PERIOD_SECONDS_DEFAULT,
  RESYNC_PERIOD_SECONDS_MIN,
  RETRY_PERIOD_SECONDS_DEFAULT,
  WORKERS_DEFAULT,
  WORKERS_MAX,
} from "./limits.js";

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export interface LeaderElectionConfig {
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
}

/** A `--bootstrap-override`: clients of this Cluster connect here instead of its Service. */
export interface BootstrapOverride {
  /** undefined: a Cluster of this name in any namespace. */
  readonly namespace: string | undefined;
  readonly cluster: string;
  readonly address: string;
}

export interface OperatorConfig {
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly logLevel: LogLevel;
  readonly defaultBrokerImage: string;
  /** undefined: no leader election (a single replica reconciles). */
  readonly leaderElection: LeaderElectionConfig | undefined;
  /** Empty: every namespace. */
  readonly watchNamespaces: readonly string[];
  readonly workers: number;
  readonly resyncPeriodSeconds: number;
  readonly bootstrapOverrides: readonly BootstrapOverride[];
  /** This replica's name in the Lease and in Events. */
  readonly identity: string;
}

export type ParsedCommandLine = { readonly kind: "run"; readonly config: OperatorConfig } | { readonly kind: "help" } | { readonly kind: "version" };

export const DEFAULT_BROKER_IMAGE = "sluice:latest";
export const DEFAULT_LEASE_NAME = "sluice-operator";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function helpText(): string {
  return `sluice-operator: runs Sluice Cluster and Topic resources (sluice.io/v1alpha1)

Usage: sluice-operator [flags]

  --metrics-port=8080                 HTTP port of /metrics, /healthz and /readyz (0 = any free port)
  --metrics-host=0.0.0.0              address that port binds to
  --log-level=info                    ${logLevels.join(" | ")}
  --default-broker-image=IMAGE        broker image of Clusters without spec.image (default ${DEFAULT_BROKER_IMAGE})
  --leader-elect[=true|false]         only the replica holding a Lease reconciles
  --leader-election-namespace=NS      namespace of the Lease (default: $POD_NAMESPACE)
  --leader-election-id=NAME           name of the Lease (default ${DEFAULT_LEASE_NAME})
  --leader-election-lease-duration-seconds=${LEASE_DURATION_SECONDS_DEFAULT}
  --leader-election-renew-deadline-seconds=${RENEW_DEADLINE_SECONDS_DEFAULT}
  --leader-election-retry-period-seconds=${RETRY_PERIOD_SECONDS_DEFAULT}
  --watch-namespaces=a,b              only these namespaces (default: all)
  --workers=${WORKERS_DEFAULT}                          concurrent reconciles per kind (1-${WORKERS_MAX})
  --resync-period-seconds=${RESYNC_PERIOD_SECONDS_DEFAULT}          reconcile everything again this often (>= ${RESYNC_PERIOD_SECONDS_MIN})
  --bootstrap-override=[NS/]CLUSTER=HOST:PORT
                                      Topics of that Cluster use this broker address instead of the
                                      Cluster's Service (development, tests); repeatable. The Cluster
                                      annotation sluice.io/bootstrap-override does the same.
  --identity=NAME                     name in the Lease and Events (default: $POD_NAME or host-pid)
  --help, --version

Kubernetes credentials: $KUBECONFIG, ~/.kube/config, or the in-cluster service account.`;
}

interface RawFlags {
  readonly values: Map<string, string[]>;
}

const valueFlags = new Set([
  "metrics-port",
  "metrics-host",
  "log-level",
  "default-broker-image",
  "leader-election-namespace",
  "leader-election-id",
  "leader-election-lease-duration-seconds",
  "leader-election-renew-deadline-seconds",
  "leader-election-retry-period-seconds",
  "watch-namespaces",
  "workers",
  "resync-period-seconds",
  "bootstrap-override",
  "identity",
]);
const booleanFlags = new Set(["leader-elect", "help", "version"]);

function splitFlags(argv: readonly string[]): RawFlags {
  const values = new Map<string, string[]>();
  const put = (name: string, value: string): void => {
    const list = values.get(name) ?? [];
    list.push(value);
    values.set(name, list);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) throw new OperatorConfigError(arg, "unexpected argument (flags start with --; see --help)");
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (booleanFlags.has(name)) {
      put(name, eq < 0 ? "true" : arg.slice(eq + 1));
      continue;
    }
    if (!valueFlags.has(name)) throw new OperatorConfigError(`--${name}`, "unknown flag (see --help)");
    if (eq >= 0) {
      put(name, arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) throw new OperatorConfigError(`--${name}`, "needs a value");
    put(name, next);
    i++;
  }
  return { values };
}

function single(raw: RawFlags, name: string): string | undefined {
  const list = raw.values.get(name);
  if (list === undefined) return undefined;
  if (list.length > 1 && name !== "bootstrap-override") throw new OperatorConfigError(`--${name}`, "given more than once");
  return list[list.length - 1];
}

function bool(raw: RawFlags, name: string): boolean {
  const value = single(raw, name);
  if (value === undefined) return false;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new OperatorConfigError(`--${name}`, `must be true or false, got "${value}"`);
}

function integer(raw: RawFlags, name: string, fallback: number, min: number, max: number): number {
  const value = single(raw, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new OperatorConfigError(`--${name}`, `must be an integer in [${min}, ${max}], got "${value}"`);
  }
  return n;
}

function parseOverride(text: string): BootstrapOverride {
  const eq = text.indexOf("=");
  const target = eq < 0 ? "" : text.slice(0, eq);
  const address = eq < 0 ? "" : text.slice(eq + 1);
  const slash = target.indexOf("/");
  const namespace = slash < 0 ? undefined : target.slice(0, slash);
  const cluster = slash < 0 ? target : target.slice(slash + 1);
  const match = HOST_PORT.exec(address);
  const port = match === null ? 0 : Number(match[2]);
  if (
    (namespace !== undefined && !DNS_LABEL.test(namespace)) ||
    !DNS_SUBDOMAIN.test(cluster) ||
    match === null ||
    port < 1 ||
    port > 65535
  ) {
    throw new OperatorConfigError("--bootstrap-override", `must be [namespace/]cluster=host:port, got "${text}"`);
  }
  return { namespace, cluster, address };
}

/**
 * `defaultIdentity` names this replica when neither --identity nor POD_NAME does (main passes
 * host name and pid). Without --leader-elect, the leader-election flags are accepted and unused.
 */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, defaultIdentity = "sluice-operator"): ParsedCommandLine {
  const raw = splitFlags(argv);
  if (bool(raw, "help")) return { kind: "help" };
  if (bool(raw, "version")) return { kind: "version" };

  const logLevel = single(raw, "log-level") ?? "info";
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new OperatorConfigError("--log-level", `must be one of ${logLevels.join(", ")}, got "${logLevel}"`);
  }
  const metricsHost = single(raw, "metrics-host") ?? "0.0.0.0";
  if (metricsHost === "") throw new OperatorConfigError("--metrics-host", "must not be empty");
  const defaultBrokerImage = single(raw, "default-broker-image") ?? DEFAULT_BROKER_IMAGE;
  if (defaultBrokerImage.trim() === "" || /\s/.test(defaultBrokerImage)) {
    throw new OperatorConfigError("--default-broker-image", `must be an image reference such as registry.example/sluice:0.1.0, got "${defaultBrokerImage}"`);
  }

  const watchText = single(raw, "watch-namespaces") ?? "";
  const watchNamespaces = [...new Set(watchText.split(",").map((s) => s.trim()).filter((s) => s !== ""))];
  for (const ns of watchNamespaces) {
    if (!DNS_LABEL.test(ns) || ns.length > 63) throw new OperatorConfigError("--watch-namespaces", `"${ns}" is not a namespace name`);
  }

  let leaderElection: LeaderElectionConfig | undefined;
  if (bool(raw, "leader-elect")) {
    const namespace = single(raw, "leader-election-namespace") ?? env["POD_NAMESPACE"] ?? "";
    if (namespace === "") throw new OperatorConfigError("--leader-election-namespace", "is required with --leader-elect (or set POD_NAMESPACE)");
    if (!DNS_LABEL.test(namespace)) throw new OperatorConfigError("--leader-election-namespace", `"${namespace}" is not a namespace name`);
    const name = single(raw, "leader-election-id") ?? DEFAULT_LEASE_NAME;
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) throw new OperatorConfigError("--leader-election-id", `"${name}" is not a valid Lease name`);
    const leaseDurationSeconds = integer(raw, "leader-election-lease-duration-seconds", LEASE_DURATION_SECONDS_DEFAULT, 2, 3600);
    const renewDeadlineSeconds = integer(raw, "leader-election-renew-deadline-seconds", Math.min(RENEW_DEADLINE_SECONDS_DEFAULT, leaseDurationSeconds - 1), 1, 3600);
    const retryPeriodSeconds = integer(raw, "leader-election-retry-period-seconds", Math.min(RETRY_PERIOD_SECONDS_DEFAULT, renewDeadlineSeconds), 1, 3600);
    if (renewDeadlineSeconds >= leaseDurationSeconds) {
      throw new OperatorConfigError("--leader-election-renew-deadline-seconds", "must be less than the lease duration (a leader must stop before others may start)");
    }
    if (retryPeriodSeconds > renewDeadlineSeconds) {
      throw new OperatorConfigError("--leader-election-retry-period-seconds", "must not exceed the renew deadline");
    }
    leaderElection = { namespace, name, leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds };
  }

  const identity = single(raw, "identity") ?? env["POD_NAME"] ?? defaultIdentity;
  if (identity === "") throw new OperatorConfigError("--identity", "must not be empty");

  return {
    kind: "run",
    config: {
      metricsHost,
      metricsPort: integer(raw, "metrics-port", 8080, 0, 65535),
      logLevel: logLevel as LogLevel,
      defaultBrokerImage,
      leaderElection,
      watchNamespaces,
      workers: integer(raw, "workers", WORKERS_DEFAULT, 1, WORKERS_MAX),
      resyncPeriodSeconds: integer(raw, "resync-period-seconds", RESYNC_PERIOD_SECONDS_DEFAULT, RESYNC_PERIOD_SECONDS_MIN, 86_400),
      bootstrapOverrides: (raw.values.get("bootstrap-override") ?? []).map(parseOverride),
      identity,
    },
  };
}
