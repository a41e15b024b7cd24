/**
 * The broker config file a Cluster's ConfigMap carries, and its validation by the broker's own
 * rules (`@sluice/broker`'s key table and resolver), so the operator refuses a bad `spec.config`
 * in status before any Pod restarts with it.
 *
 * The file is the JSON object `broker/src/config.ts` reads with `--config`: the user's
 * `spec.config` plus the keys the operator owns on every broker (bind addresses, ports, data
 * folder). Per-broker keys (`broker-id`, `advertised-host`) differ between Pods of one
 * StatefulSet, so they come from the environment (SLUICE_BROKER_ID, SLUICE_ADVERTISED_HOST) that
 * the Pod template derives from the Pod itself; they are not in the file.
 *
 * Invariants: the text is canonical (keys sorted, fixed spacing), so equal configs give equal
 * text and equal hashes; `configHash` changes exactly when the text does.
 * Pure: no I/O (node:crypto's hash is deterministic computation).
 */
import { createHash } from "node:crypto";
import { brokerConfigKeys, ConfigError, configFromFileText, resolveBrokerConfig, type BrokerConfig } from "@sluice/broker";
import { ClusterSpecError } from "./errors.js";
import type { ResolvedClusterSpec } from "./spec.js";

/**
 * Broker keys the operator sets on every broker itself: a Cluster's spec.config may not set them
 * (the CRD refuses them too; test/helm/crd-keys.ts holds the same list for the CRD tests).
 */
export const operatorOwnedBrokerKeys: readonly string[] = [
  "config",
  "data-dir",
  "host",
  "port",
  "data-port",
  "advertised-host",
  "broker-id",
  "metrics-host",
  "metrics-port",
];

/** Broker keys a Cluster's spec.config may set, in the broker table's order. */
export const userBrokerConfigKeys: readonly string[] = brokerConfigKeys.map((k) => k.key).filter((k) => !operatorOwnedBrokerKeys.includes(k));

/** Where the broker's volume is mounted (the image's /var/lib/sluice, owned by uid 10001). */
export const DATA_MOUNT_PATH = "/var/lib/sluice";
/**
 * The broker's data-dir: a folder inside the volume rather than its root, so file-system
 * artefacts at the root (ext4's lost+found) are never mistaken for broker data.
 */
export const BROKER_DATA_DIR = `${DATA_MOUNT_PATH}/data`;
export const CONFIG_MOUNT_PATH = "/etc/sluice";
/** The ConfigMap key and file name of the broker config. */
export const BROKER_CONFIG_FILE = "broker.json";
export const BROKER_CONFIG_PATH = `${CONFIG_MOUNT_PATH}/${BROKER_CONFIG_FILE}`;
/** Bind everything inside the Pod: kubelet probes, Services and Prometheus come from outside it. */
const BIND_ALL = "0.0.0.0";
/** The broker's `metrics-port` value that turns its /metrics server off. */
const METRICS_DISABLED_PORT = -1;

/** The keys the operator writes into every broker's config file. */
export function operatorBrokerConfig(spec: ResolvedClusterSpec): Record<string, string> {
  return {
    "data-dir": BROKER_DATA_DIR,
    host: BIND_ALL,
    port: String(spec.listeners.internal.port),
    "data-port": String(spec.listeners.internal.dataPort),
    "metrics-host": BIND_ALL,
    "metrics-port": String(spec.metrics.enabled ? spec.metrics.port : METRICS_DISABLED_PORT),
  };
}

/**
 * Checks spec.config keys against the broker's table: unknown keys and operator-owned keys are a
 * ClusterSpecError (reason InvalidConfig) naming the key.
 */
export function checkUserConfigKeys(config: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(config)) {
    if (operatorOwnedBrokerKeys.includes(key)) {
      throw new ClusterSpecError(`spec.config["${key}"]`, "is set by the operator on every broker; remove it", "InvalidConfig");
    }
    if (!userBrokerConfigKeys.includes(key)) {
      throw new ClusterSpecError(`spec.config["${key}"]`, `is not a broker config key (allowed: ${userBrokerConfigKeys.join(", ")})`, "InvalidConfig");
    }
  }
}

/** The config file's text: canonical JSON (sorted keys, two-space indent, trailing newline). */
export function brokerConfigFileText(spec: ResolvedClusterSpec): string {
  checkUserConfigKeys(spec.config);
  const merged: Record<string, string> = { ...spec.config, ...operatorBrokerConfig(spec) };
  const sorted = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k] as string]));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/**
 * Runs the broker's own parser and resolver on the file, as a broker started from it would (with
 * the per-broker environment the Pod sets), and returns the resolved config. A value the broker
 * would refuse (a range, an unknown enum value) is a ClusterSpecError (reason InvalidConfig)
 * carrying the broker's reason.
 */
export function resolveClusterBrokerConfig(spec: ResolvedClusterSpec): BrokerConfig {
  const text = brokerConfigFileText(spec);
  try {
    const file = configFromFileText(text, BROKER_CONFIG_PATH);
    // broker-id and advertised-host come from the Pod's environment; any valid value stands in.
    return resolveBrokerConfig({ flags: {}, env: { "broker-id": "0", "advertised-host": "broker.invalid" }, file });
  } catch (error) {
    if (error instanceof ConfigError) throw new ClusterSpecError(`spec.config["${error.key}"]`, error.reason, "InvalidConfig");
    throw error;
  }
}

/** SHA-256 of the config file text, hex: the Pod template annotation that rolls Pods on change. */
export function configHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
