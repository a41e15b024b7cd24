// Proves the resource types' helpers: withClusterDefaults / withTopicDefaults apply exactly the
// CRDs' default values (read from the CRD files, so a changed default fails here), and
// asCluster / asTopic accept valid objects and refuse malformed ones naming the field.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../test/k8s/control-plane.js";
import { ResourceShapeError } from "./errors.js";
import { asCluster, asTopic, clusterDefaults, topicDefaults, withClusterDefaults, withTopicDefaults } from "./spec.js";
import { makeCluster } from "./testing/clusters.js";

type Schema = { properties?: Record<string, Schema>; default?: unknown };

async function specSchema(file: string): Promise<Schema> {
  const crd = load(await readFile(join(repoRoot, "crds", file), "utf8")) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };
  const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.["spec"];
  if (spec === undefined) throw new Error(`${file}: no spec schema`);
  return spec;
}

function defaultAt(schema: Schema, ...path: string[]): unknown {
  let node: Schema | undefined = schema;
  for (const p of path) node = node?.properties?.[p];
  return node?.default;
}

describe("withClusterDefaults", () => {
  it("uses the CRD's default values", async () => {
    const s = await specSchema("sluice.io_clusters.yaml");
    expect(clusterDefaults).toEqual({
      storageSize: defaultAt(s, "storage", "size"),
      rackTopologyKey: defaultAt(s, "rack", "topologyKey"),
      internalPort: defaultAt(s, "listeners", "internal", "port"),
      dataPort: defaultAt(s, "listeners", "internal", "dataPort"),
      externalPort: defaultAt(s, "listeners", "external", "port"),
      metricsEnabled: defaultAt(s, "metrics", "enabled"),
      metricsPort: defaultAt(s, "metrics", "port"),
      serviceMonitor: defaultAt(s, "metrics", "serviceMonitor"),
      podDisruptionBudgetEnabled: defaultAt(s, "podDisruptionBudget", "enabled"),
      podDisruptionBudgetMaxUnavailable: defaultAt(s, "podDisruptionBudget", "maxUnavailable"),
    });
  });

  it("fills every default of a minimal spec, leaves rack and the external listener off, and keeps what is set", () => {
    expect(withClusterDefaults({ replicas: 1 })).toEqual({
      replicas: 1,
      image: undefined,
      imagePullPolicy: undefined,
      storage: { size: "10Gi", storageClassName: undefined },
      resources: undefined,
      config: {},
      rack: undefined,
      listeners: { internal: { port: 9092, dataPort: 9093 }, external: undefined },
      metrics: { enabled: true, port: 9644, serviceMonitor: false },
      podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    });
    const set = withClusterDefaults({ replicas: 2, rack: {}, listeners: { external: { type: "NodePort" } }, podDisruptionBudget: { maxUnavailable: "50%" } });
    expect(set.rack).toEqual({ topologyKey: "topology.kubernetes.io/zone" });
    expect(set.listeners.external).toEqual({ type: "NodePort", port: 9094, annotations: {} });
    expect(set.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: "50%" });
  });
});

describe("withTopicDefaults", () => {
  it("uses the CRD's defaults and falls back to metadata.name for the topic name", async () => {
    const s = await specSchema("sluice.io_topics.yaml");
    expect(topicDefaults).toEqual({
      partitions: defaultAt(s, "partitions"),
      replicationFactor: defaultAt(s, "replicationFactor"),
      deletionPolicy: defaultAt(s, "deletionPolicy"),
    });
    expect(withTopicDefaults({ metadata: { name: "orders" }, spec: { cluster: "events" } })).toEqual({
      cluster: "events",
      topicName: "orders",
      partitions: 1,
      replicationFactor: 1,
      config: {},
      deletionPolicy: "Delete",
    });
    expect(withTopicDefaults({ metadata: { name: "orders" }, spec: { cluster: "events", topicName: "Orders.v2" } }).topicName).toBe("Orders.v2");
  });
});

describe("asCluster / asTopic", () => {
  it("accept what the apiserver returns", () => {
    const cluster = makeCluster({ config: { "log-level": "info" } });
    expect(asCluster(JSON.parse(JSON.stringify(cluster)))).toEqual(cluster);
    const topic = { apiVersion: "sluice.io/v1alpha1", kind: "Topic", metadata: { name: "orders" }, spec: { cluster: "events", partitions: 3 } };
    expect(asTopic(topic)).toEqual(topic);
  });

  it("refuse malformed objects with a ResourceShapeError naming the field", () => {
    const field = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        if (error instanceof ResourceShapeError) return error.field;
        throw error;
      }
      throw new Error("expected a ResourceShapeError");
    };
    const cluster = makeCluster();
    expect(field(() => asCluster(null))).toBe("(object)");
    expect(field(() => asCluster({ ...cluster, apiVersion: "sluice.io/v1" }))).toBe("apiVersion");
    expect(field(() => asCluster({ ...cluster, kind: "Topic" }))).toBe("kind");
    expect(field(() => asCluster({ ...cluster, metadata: {} }))).toBe("metadata.name");
    expect(field(() => asCluster({ ...cluster, spec: { replicas: "3" } }))).toBe("spec.replicas");
    expect(field(() => asCluster({ ...cluster, spec: { replicas: 3, config: { fsync: 1 } } }))).toBe("spec.config.fsync");
    expect(field(() => asCluster({ ...cluster, spec: { replicas: 3, listeners: { external: { type: "Ingress" } } } }))).toBe("spec.listeners.external.type");
    const topic = { apiVersion: "sluice.io/v1alpha1", kind: "Topic", metadata: { name: "t" } };
    expect(field(() => asTopic({ ...topic, spec: {} }))).toBe("spec.cluster");
    expect(field(() => asTopic({ ...topic, spec: { cluster: "c", partitions: 0 } }))).toBe("spec.partitions");
  });
});
