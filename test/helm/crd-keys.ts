/**
 * The contract between the CRDs' config validation and the broker's own key tables: which broker
 * keys a Cluster's spec.config may set (all of `brokerConfigKeys` except the ones the operator
 * sets on every broker itself), and a valid sample value for each key, taken from the tables.
 *
 * Used by test/helm/crds.test.ts (the CRD YAML lists the same keys) and
 * test/k8s/crds.k8s.test.ts (the apiserver accepts exactly these keys).
 */
import { brokerConfigKeys } from "@sluice/broker";
import { topicConfigDefinitions } from "../../broker/src/metadata/topic-config.js";

/**
 * Keys the operator sets on each broker (addresses, ports, identity, storage path, the config
 * file itself): a Cluster's spec.config may not override them.
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
export function userBrokerConfigKeys(): string[] {
  return brokerConfigKeys.map((k) => k.key).filter((k) => !operatorOwnedBrokerKeys.includes(k));
}

/** A value the broker accepts for `key` (its default, or the topic table's default for log.*). */
export function sampleBrokerConfigValue(key: string): string {
  const spec = brokerConfigKeys.find((k) => k.key === key);
  if (spec === undefined) throw new Error(`not a broker config key: ${key}`);
  if (spec.kind.type === "topic") {
    const topicKey = spec.kind.topicKey;
    const def = topicConfigDefinitions.find((d) => d.name === topicKey);
    if (def === undefined) throw new Error(`no topic config ${topicKey}`);
    return def.defaultValue;
  }
  if (spec.defaultValue === undefined) throw new Error(`broker key ${key} has no default to use as a sample`);
  return spec.defaultValue;
}

/** Broker keys whose values are integers (int keys and log.<long topic key>) that users may set. */
export function integerBrokerConfigKeys(): string[] {
  const longTopicKeys = new Set(topicConfigDefinitions.filter((d) => d.kind === "long").map((d) => d.name));
  return brokerConfigKeys
    .filter((k) => k.kind.type === "int" || (k.kind.type === "topic" && longTopicKeys.has(k.kind.topicKey)))
    .map((k) => k.key)
    .filter((k) => !operatorOwnedBrokerKeys.includes(k));
}

export { topicConfigDefinitions };
