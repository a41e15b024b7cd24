// Proves the CRDs have one source and follow the broker: charts/sluice/crds/ is a byte-for-byte
// copy of crds/ kept by scripts/sync-crds.mjs (which detects and repairs drift), and every key
// list and value list in the CEL config rules equals the broker's own tables (config.ts,
// topic-config.ts, topic-name.ts, partition limits), so a key added to the broker fails here
// until the CRDs learn it; the Cluster's default ports are the broker's own defaults.
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { load } from "js-yaml";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_DATA_PORT, DEFAULT_METRICS_PORT, DEFAULT_PORT, logLevels } from "@sluice/broker";
import { TOPIC_PARTITIONS_MAX } from "../../broker/src/partition/limits.js";
import { cleanupPolicies, compressionTypes, timestampTypes } from "../../broker/src/metadata/topic-config.js";
import { TOPIC_NAME_LENGTH_MAX } from "../../broker/src/metadata/topic-name.js";
import { integerBrokerConfigKeys, operatorOwnedBrokerKeys, topicConfigDefinitions, userBrokerConfigKeys } from "./crd-keys.js";
import { repoRoot } from "../k8s/control-plane.js";

const execFileAsync = promisify(execFile);
const crdsDir = join(repoRoot, "crds");
const chartCrdsDir = join(repoRoot, "charts", "sluice", "crds");
const syncScript = join(repoRoot, "scripts", "sync-crds.mjs");

interface Rule {
  readonly rule: string;
  readonly message: string;
}
type Schema = { readonly [key: string]: unknown };

async function readCrd(file: string): Promise<Schema> {
  return load(await readFile(join(crdsDir, file), "utf8")) as Schema;
}

/** spec.versions[0].schema.openAPIV3Schema, then down the `properties` path. */
function schemaAt(crd: Schema, ...path: string[]): Schema {
  const versions = (crd["spec"] as { versions: Array<{ schema: { openAPIV3Schema: Schema } }> }).versions;
  let node = versions[0]?.schema.openAPIV3Schema as Schema;
  for (const name of path) {
    const child = (node["properties"] as Record<string, Schema> | undefined)?.[name];
    if (child === undefined) throw new Error(`no property ${path.join(".")}`);
    node = child;
  }
  return node;
}

function rulesOf(schema: Schema): Rule[] {
  return (schema["x-kubernetes-validations"] as Rule[] | undefined) ?? [];
}

/** The single rule whose text contains `marker`. */
function ruleContaining(schema: Schema, marker: string): Rule {
  const found = rulesOf(schema).filter((r) => r.rule.includes(marker));
  if (found.length !== 1) throw new Error(`expected one rule containing ${marker}, found ${found.length}`);
  return found[0] as Rule;
}

/** The '...' string literals of the CEL list that starts right after `marker` (up to its "]"). */
function literalsAfter(rule: Rule, marker: string): string[] {
  const start = rule.rule.indexOf(marker);
  if (start < 0) throw new Error(`no ${marker} in ${rule.rule}`);
  const from = start + marker.length;
  const text = rule.rule.slice(from, rule.rule.indexOf("]", from));
  return [...text.matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

describe("one source for the CRDs", () => {
  it("ships charts/sluice/crds/ as byte-for-byte copies of crds/ (run `node scripts/sync-crds.mjs` after editing crds/)", async () => {
    const sources = (await readdir(crdsDir)).filter((f) => f.endsWith(".yaml")).sort();
    const copies = (await readdir(chartCrdsDir)).filter((f) => f.endsWith(".yaml")).sort();
    expect(sources).toEqual(["sluice.io_clusters.yaml", "sluice.io_topics.yaml"]);
    expect(copies).toEqual(sources);
    for (const file of sources) {
      const [a, b] = await Promise.all([readFile(join(crdsDir, file)), readFile(join(chartCrdsDir, file))]);
      expect(b.equals(a), `${file} differs between crds/ and charts/sluice/crds/`).toBe(true);
    }
    const { stdout } = await execFileAsync(process.execPath, [syncScript, "--check"]);
    expect(stdout).toMatch(/matches crds\/ \(2 files\)/);
  });

  describe("scripts/sync-crds.mjs, run in a scratch copy of the repository layout", () => {
    let scratch: string | undefined;
    afterEach(async () => {
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
      scratch = undefined;
    });

    it("--check names every difference and exits 1; a plain run repairs them, removing stale copies", async () => {
      scratch = await mkdtemp(join(tmpdir(), "sluice-sync-crds-"));
      await mkdir(join(scratch, "scripts"));
      await mkdir(join(scratch, "crds"));
      await mkdir(join(scratch, "charts", "sluice", "crds"), { recursive: true });
      const script = join(scratch, "scripts", "sync-crds.mjs");
      await copyFile(syncScript, script);
      await writeFile(join(scratch, "crds", "a.yaml"), "kind: A\n");
      await writeFile(join(scratch, "crds", "b.yaml"), "kind: B\n");
      await writeFile(join(scratch, "charts", "sluice", "crds", "a.yaml"), "kind: A # edited in the chart only\n");
      await writeFile(join(scratch, "charts", "sluice", "crds", "old.yaml"), "kind: Old\n");

      const check = await execFileAsync(process.execPath, [script, "--check"]).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
      expect(check.code).toBe(1);
      expect(check.stderr).toContain("differs: a.yaml");
      expect(check.stderr).toContain("missing in chart: b.yaml");
      expect(check.stderr).toContain("only in chart (no source in crds/): old.yaml");

      await execFileAsync(process.execPath, [script]);
      expect(sorted(await readdir(join(scratch, "charts", "sluice", "crds")))).toEqual(["a.yaml", "b.yaml"]);
      expect(await readFile(join(scratch, "charts", "sluice", "crds", "a.yaml"), "utf8")).toBe("kind: A\n");
      await expect(execFileAsync(process.execPath, [script, "--check"])).resolves.toMatchObject({ stdout: expect.stringContaining("matches") });
    });

    it("refuses unknown arguments with exit 2", async () => {
      const run = execFileAsync(process.execPath, [syncScript, "--chek"]);
      await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("unknown argument(s) --chek") });
    });
  });
});

describe("Cluster spec.config rules follow broker/src/config.ts", () => {
  it("allows exactly the broker's keys minus the ones the operator sets itself", async () => {
    const config = schemaAt(await readCrd("sluice.io_clusters.yaml"), "spec", "config");
    const keysRule = ruleContaining(config, "self.all(k, k in [");
    expect(sorted(literalsAfter(keysRule, "self.all(k, k in ["))).toEqual(sorted(userBrokerConfigKeys()));
    // The refusal message tells users which keys the operator owns.
    for (const owned of operatorOwnedBrokerKeys) expect(keysRule.message).toContain(owned);
    // Every operator-owned key is a real broker key (a rename in config.ts must show up here).
    expect(userBrokerConfigKeys().length + operatorOwnedBrokerKeys.length).toBe(
      new Set([...userBrokerConfigKeys(), ...operatorOwnedBrokerKeys]).size,
    );
  });

  it("checks integer values on exactly the integer keys, and each enum key against the broker's values", async () => {
    const config = schemaAt(await readCrd("sluice.io_clusters.yaml"), "spec", "config");
    const integers = ruleContaining(config, "matches('^-?[0-9]+$')");
    expect(sorted(literalsAfter(integers, "!(k in ["))).toEqual(sorted(integerBrokerConfigKeys()));
    expect(sorted(literalsAfter(ruleContaining(config, "'log-level' in self"), "self['log-level'] in ["))).toEqual(sorted(logLevels));
    expect(sorted(literalsAfter(ruleContaining(config, "'log.compression.type' in self"), "] in ["))).toEqual(sorted(compressionTypes));
    expect(sorted(literalsAfter(ruleContaining(config, "'log.message.timestamp.type' in self"), "] in ["))).toEqual(sorted(timestampTypes));
    // Kafka users write either order; the broker canonicalizes "delete,compact" to "compact,delete".
    expect(sorted(literalsAfter(ruleContaining(config, "'log.cleanup.policy' in self"), "] in ["))).toEqual(
      sorted([...cleanupPolicies, "delete,compact"]),
    );
  });
});

describe("Cluster ports follow broker/src/config.ts", () => {
  it("defaults the gRPC, data and metrics ports to the broker's own defaults", async () => {
    const crd = await readCrd("sluice.io_clusters.yaml");
    expect(schemaAt(crd, "spec", "listeners", "internal", "port")["default"]).toBe(DEFAULT_PORT);
    expect(schemaAt(crd, "spec", "listeners", "internal", "dataPort")["default"]).toBe(DEFAULT_DATA_PORT);
    expect(schemaAt(crd, "spec", "metrics", "port")["default"]).toBe(DEFAULT_METRICS_PORT);
    // The broker's data-port also takes 0 (ephemeral) and -1 (off); a Service needs a real port.
    expect(schemaAt(crd, "spec", "listeners", "internal", "dataPort")).toMatchObject({ type: "integer", minimum: 1, maximum: 65535 });
  });
});

describe("Topic rules follow broker/src/metadata", () => {
  it("allows exactly the topic config keys the broker validates, integer-checks the long ones, and enum-checks the rest", async () => {
    const config = schemaAt(await readCrd("sluice.io_topics.yaml"), "spec", "config");
    expect(sorted(literalsAfter(ruleContaining(config, "self.all(k, k in ["), "self.all(k, k in ["))).toEqual(
      sorted(topicConfigDefinitions.map((d) => d.name)),
    );
    const integers = ruleContaining(config, "matches('^-?[0-9]+$')");
    expect(sorted(literalsAfter(integers, "!(k in ["))).toEqual(
      sorted(topicConfigDefinitions.filter((d) => d.kind === "long").map((d) => d.name)),
    );
    for (const def of topicConfigDefinitions) {
      if (def.kind !== "enum") continue;
      const allowed = literalsAfter(ruleContaining(config, `'${def.name}' in self`), "] in [");
      const expected = def.name === "cleanup.policy" ? [...def.values, "delete,compact"] : def.values;
      expect(sorted(allowed), def.name).toEqual(sorted(expected));
    }
  });

  it("uses the broker's topic-name length limit and partition limit", async () => {
    const crd = await readCrd("sluice.io_topics.yaml");
    expect(schemaAt(crd, "spec", "topicName")["maxLength"]).toBe(TOPIC_NAME_LENGTH_MAX);
    expect(schemaAt(crd, "spec", "partitions")["maximum"]).toBe(TOPIC_PARTITIONS_MAX);
    const root = schemaAt(crd);
    expect(rulesOf(root).map((r) => r.rule)).toContain(`has(self.spec.topicName) || size(self.metadata.name) <= ${TOPIC_NAME_LENGTH_MAX}`);
  });
});
