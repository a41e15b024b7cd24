/**
 * Canonical spelling of topic config values, so the spec and what the broker reports compare
 * equal when they mean the same thing. Mirrors the broker's own normalization
 * (broker/src/metadata/topic-config.ts `normalizeTopicConfigValue`): integers without leading
 * zeros or "+", `cleanup.policy` as its sorted unique parts ("delete,compact" = "compact,delete"),
 * everything else trimmed. Values the broker would refuse are left as they are: the broker
 * reports them and the operator puts its message in status.
 *
 * Pure.
 */

const INTEGER = /^[-+]?\d+$/;

export function canonicalConfigValue(key: string, raw: string): string {
  const value = raw.trim();
  if (key === "cleanup.policy") {
    return [...new Set(value.split(",").map((p) => p.trim()).filter((p) => p !== ""))].sort().join(",");
  }
  if (INTEGER.test(value)) {
    try {
      return BigInt(value).toString();
    } catch {
      return value;
    }
  }
  return value;
}

export function canonicalConfig(config: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(config).sort()) out[key] = canonicalConfigValue(key, config[key] ?? "");
  return out;
}

export interface ConfigDiff {
  /** Keys to set, with the spec's values. */
  readonly set: Readonly<Record<string, string>>;
  /** Overrides the cluster has that the spec does not: removed (back to the default). */
  readonly delete: readonly string[];
}

/** What to change so the topic's overrides are exactly the spec's (the spec is the whole truth). */
export function diffConfig(wanted: Readonly<Record<string, string>>, actual: Readonly<Record<string, string>>): ConfigDiff {
  const w = canonicalConfig(wanted);
  const a = canonicalConfig(actual);
  const set: Record<string, string> = {};
  for (const [key, value] of Object.entries(w)) if (a[key] !== value) set[key] = value;
  const deleted = Object.keys(a).filter((key) => !(key in w)).sort();
  return { set, delete: deleted };
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return Object.keys(diff.set).length === 0 && diff.delete.length === 0;
}
