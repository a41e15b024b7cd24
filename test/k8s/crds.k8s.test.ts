// Proves the Cluster and Topic CRDs in crds/ behave as documented on a real kube-apiserver: they
// install with the names, short names, printer columns and status subresource kubectl relies on;
// valid resources are stored with their defaults; and the apiserver itself refuses what must
// never reach the operator: shrinking partitions, changing the replication factor, cluster or
// topic name, unknown or operator-owned config keys, values of the wrong shape, bad topic and
// Cluster names, bad enums, and malformed status conditions.
import { ApiextensionsV1Api, CoreV1Api, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { topicConfigDefinitions } from "../../broker/src/metadata/topic-config.js";
import { CLUSTER_NAME_LENGTH_MAX } from "../../operator/src/cluster/index.js";
import { integerBrokerConfigKeys, operatorOwnedBrokerKeys, sampleBrokerConfigValue, userBrokerConfigKeys } from "../helm/crd-keys.js";
import { apiRequest, type ApiResponse } from "./manifests.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeConfig } = sharedControlPlane();
const core = kubeConfig.makeApiClient(CoreV1Api);
const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);

// One namespace per run of this file: names never collide with other files or earlier runs.
const namespace = `crds-${Date.now().toString(36)}`;
const base = `/apis/sluice.io/v1alpha1/namespaces/${namespace}`;

type Json = { [key: string]: unknown };
type Plural = "clusters" | "topics";

interface Outcome {
  readonly status: number;
  readonly body: Json;
  /** The apiserver's Status message (empty on success). */
  readonly message: string;
}

function outcome(response: ApiResponse): Outcome {
  let body: Json = {};
  try {
    body = JSON.parse(response.body) as Json;
  } catch {
    body = { raw: response.body };
  }
  const message = response.status >= 300 && typeof body["message"] === "string" ? body["message"] : "";
  return { status: response.status, body, message };
}

/** POST with strict field validation (what kubectl does by default): unknown fields are errors. */
async function create(plural: Plural, object: Json): Promise<Outcome> {
  const kind = plural === "clusters" ? "Cluster" : "Topic";
  return outcome(
    await apiRequest(kubeConfig, "POST", `${base}/${plural}?fieldValidation=Strict`, {
      contentType: "application/json",
      text: JSON.stringify({ apiVersion: "sluice.io/v1alpha1", kind, ...object }),
    }),
  );
}

async function mergePatch(plural: Plural, name: string, patch: Json, subresource = ""): Promise<Outcome> {
  return outcome(
    await apiRequest(kubeConfig, "PATCH", `${base}/${plural}/${name}${subresource}?fieldValidation=Strict`, {
      contentType: "application/merge-patch+json",
      text: JSON.stringify(patch),
    }),
  );
}

async function jsonPatch(plural: Plural, name: string, ops: readonly Json[]): Promise<Outcome> {
  return outcome(
    await apiRequest(kubeConfig, "PATCH", `${base}/${plural}/${name}`, {
      contentType: "application/json-patch+json",
      text: JSON.stringify(ops),
    }),
  );
}

async function get(plural: Plural, name: string): Promise<Json> {
  const result = outcome(await apiRequest(kubeConfig, "GET", `${base}/${plural}/${name}`));
  expect(result.status, result.message).toBe(200);
  return result.body;
}

function ok(result: Outcome): Json {
  expect(result.message).toBe("");
  expect([200, 201]).toContain(result.status);
  return result.body;
}

/** A 422 Invalid from the apiserver whose message matches. */
function refused(result: Outcome, message: RegExp | string): void {
  expect(result.status, `expected 422, got ${result.status}: ${result.message}`).toBe(422);
  if (typeof message === "string") expect(result.message).toContain(message);
  else expect(result.message).toMatch(message);
}

let counter = 0;
/** A fresh resource name per call. */
function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

const spec = (object: Json): Json => object["spec"] as Json;

function topic(name: string, topicSpec: Json, metadata: Json = {}): Json {
  return { metadata: { name, ...metadata }, spec: { cluster: "events", ...topicSpec } };
}

function cluster(name: string, clusterSpec: Json): Json {
  return { metadata: { name }, spec: { replicas: 3, ...clusterSpec } };
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe("the CRDs as installed from crds/", () => {
  let crds: Record<Plural, V1CustomResourceDefinition>;
  beforeAll(async () => {
    crds = {
      clusters: await extensions.readCustomResourceDefinition({ name: "clusters.sluice.io" }),
      topics: await extensions.readCustomResourceDefinition({ name: "topics.sluice.io" }),
    };
  });

  it("are applied by the harness and Established, namespaced, with kubectl's names (sc, st) and a status subresource", () => {
    expect(inject("k8sAppliedCrds")).toEqual(
      expect.arrayContaining(["CustomResourceDefinition/clusters.sluice.io", "CustomResourceDefinition/topics.sluice.io"]),
    );
    const expected = { clusters: { kind: "Cluster", short: "sc" }, topics: { kind: "Topic", short: "st" } } as const;
    for (const plural of ["clusters", "topics"] as const) {
      const crd = crds[plural];
      expect(crd.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
      expect(crd.spec.group).toBe("sluice.io");
      expect(crd.spec.scope).toBe("Namespaced");
      expect(crd.spec.names).toMatchObject({ kind: expected[plural].kind, plural, shortNames: [expected[plural].short], categories: ["sluice"] });
      expect(crd.status?.acceptedNames?.shortNames).toEqual([expected[plural].short]);
      expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([["v1alpha1", true, true]]);
      expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    }
  });

  it("define the printer columns `kubectl get st` and `kubectl get sc` show", () => {
    const columns = (plural: Plural): Array<[string, string, number]> =>
      (crds[plural].spec.versions[0]?.additionalPrinterColumns ?? []).map((c) => [c.name, c.jsonPath, c.priority ?? 0]);
    expect(columns("topics")).toEqual([
      ["Cluster", ".spec.cluster", 0],
      ["Partitions", ".spec.partitions", 0],
      ["RF", ".spec.replicationFactor", 0],
      ["Ready", '.status.conditions[?(@.type=="Ready")].status', 0],
      ["Topic", ".spec.topicName", 1],
      ["Age", ".metadata.creationTimestamp", 0],
    ]);
    expect(columns("clusters")).toEqual([
      ["Replicas", ".spec.replicas", 0],
      ["Ready", ".status.readyBrokers", 0],
      ["Bootstrap", ".status.bootstrap", 0],
      ["Age", ".metadata.creationTimestamp", 0],
    ]);
  });

  it("fill those columns in the Table the apiserver serves to kubectl, Ready coming from the Ready condition", async () => {
    ok(await create("topics", topic("orders", { partitions: 6, topicName: "Orders.v1" })));
    ok(
      await mergePatch("topics", "orders", {
        status: {
          observedGeneration: 1,
          conditions: [{ type: "Ready", status: "True", reason: "Created", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }],
        },
      }, "/status"),
    );
    const table = outcome(
      await apiRequest(kubeConfig, "GET", `${base}/topics/orders`, undefined, "application/json;as=Table;v=v1;g=meta.k8s.io"),
    ).body as { columnDefinitions: Array<{ name: string; priority: number }>; rows: Array<{ cells: unknown[] }> };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Cluster", "Partitions", "RF", "Ready", "Topic", "Age"]);
    expect(table.rows[0]?.cells.slice(0, 6)).toEqual(["orders", "events", 6, 1, "True", "Orders.v1"]);

    ok(await create("clusters", cluster("table", { replicas: 2 })));
    ok(await mergePatch("clusters", "table", { status: { readyBrokers: 1, bootstrap: "table.ns.svc:9092" } }, "/status"));
    const clusters = outcome(
      await apiRequest(kubeConfig, "GET", `${base}/clusters/table`, undefined, "application/json;as=Table;v=v1;g=meta.k8s.io"),
    ).body as { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
    expect(clusters.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Replicas", "Ready", "Bootstrap", "Age"]);
    expect(clusters.rows[0]?.cells.slice(0, 4)).toEqual(["table", 2, 1, "table.ns.svc:9092"]);
  });
});

describe("Cluster", () => {
  it("accepts a minimal Cluster and stores the documented defaults", async () => {
    const stored = ok(await create("clusters", cluster("minimal", {})));
    expect(spec(stored)).toEqual({
      replicas: 3,
      storage: { size: "10Gi" },
      listeners: { internal: { port: 9092, dataPort: 9093 } },
      metrics: { enabled: true, port: 9644, serviceMonitor: false },
      podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    });
  });

  it("accepts a Cluster using every field", async () => {
    const full = {
      replicas: 5,
      image: "registry.example/sluice:1.2.3",
      imagePullPolicy: "Always",
      storage: { size: "100Gi", storageClassName: "fast" },
      resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: 2, memory: "4Gi" }, claims: [{ name: "gpu" }] },
      config: { "log-level": "debug", fsync: "interval:5", "log.retention.ms": "-1", "log.cleanup.policy": "delete,compact" },
      rack: { topologyKey: "example.com/rack" },
      listeners: { internal: { port: 19092, dataPort: 19093 }, external: { type: "NodePort", port: 30094, annotations: { a: "b" } } },
      metrics: { enabled: true, port: 19644, serviceMonitor: true },
      podDisruptionBudget: { enabled: true, maxUnavailable: "25%" },
    };
    expect(spec(ok(await create("clusters", cluster("full", full))))).toEqual(full);
    // rack's topologyKey has a default when rack is given.
    expect(spec(ok(await create("clusters", cluster("rack-default", { rack: {} }))))["rack"]).toEqual({
      topologyKey: "topology.kubernetes.io/zone",
    });
  });

  it("accepts every broker config key a user may set (each with a value the broker accepts)", async () => {
    const config = Object.fromEntries(userBrokerConfigKeys().map((k) => [k, sampleBrokerConfigValue(k)]));
    expect(Object.keys(config).length).toBeGreaterThan(15);
    expect(spec(ok(await create("clusters", cluster("all-keys", { config }))))["config"]).toEqual(config);
  });

  it("refuses unknown config keys, and each key the operator sets itself, naming the allowed keys", async () => {
    refused(await create("clusters", cluster(fresh("bad-key"), { config: { "log.retention.hours": "1" } })), "unknown broker config key");
    for (const key of operatorOwnedBrokerKeys) {
      const result = await create("clusters", cluster(fresh("owned"), { config: { [key]: "1" } }));
      refused(result, "set by the operator");
    }
  });

  it("refuses config values of the wrong shape", async () => {
    for (const key of integerBrokerConfigKeys()) {
      refused(await create("clusters", cluster(fresh("int"), { config: { [key]: "1h" } })), "takes an integer value");
    }
    const cases: Array<[string, string, string]> = [
      ["log-level", "loud", "log-level must be one of"],
      ["fsync", "sometimes", "fsync must be always, never or interval:<ms>"],
      ["fsync", "interval:", "fsync must be"],
      ["log.cleanup.policy", "delete,archive", "log.cleanup.policy must be"],
      ["log.compression.type", "brotli", "log.compression.type must be"],
      ["log.message.timestamp.type", "Now", "log.message.timestamp.type must be"],
    ];
    for (const [key, value, message] of cases) {
      refused(await create("clusters", cluster(fresh("value"), { config: { [key]: value } })), message);
    }
  });

  it("refuses out-of-range and malformed fields, and unknown fields", async () => {
    const cases: Array<[Json, string]> = [
      [{ replicas: 0 }, "spec.replicas"],
      [{ replicas: 101 }, "spec.replicas"],
      [{ imagePullPolicy: "Sometimes" }, "spec.imagePullPolicy"],
      [{ storage: { size: "ten gigs" } }, "storage.size must be a positive quantity"],
      [{ storage: { size: "0" } }, "storage.size must be a positive quantity"],
      [{ listeners: { external: { type: "ClusterIP" } } }, "spec.listeners.external.type"],
      [{ listeners: { external: { port: 9094 } } }, "spec.listeners.external.type: Required value"],
      [{ listeners: { internal: { port: 70000 } } }, "spec.listeners.internal.port"],
      [{ listeners: { external: { type: "LoadBalancer", port: 9092 } } }, "listeners.external.port must differ"],
      [{ metrics: { port: 9092 } }, "metrics.port must differ from the listener ports"],
      [{ listeners: { internal: { dataPort: 0 } } }, "spec.listeners.internal.dataPort"],
      [{ listeners: { internal: { dataPort: 9092 } } }, "listeners.internal.dataPort must differ"],
      [{ listeners: { internal: { dataPort: 9094 }, external: { type: "NodePort" } } }, "listeners.internal.dataPort must differ"],
      [{ metrics: { port: 9093 } }, "metrics.port must differ from the listener ports"],
      [{ metrics: { enabled: false, serviceMonitor: true } }, "metrics.serviceMonitor needs metrics.enabled"],
      [{ podDisruptionBudget: { maxUnavailable: "150%" } }, "maxUnavailable must be a count >= 0 or a percentage"],
      [{ podDisruptionBudget: { maxUnavailable: -1 } }, "maxUnavailable must be a count >= 0 or a percentage"],
      [{ rack: { topologyKey: "not a label" } }, "spec.rack.topologyKey"],
    ];
    for (const [fields, message] of cases) refused(await create("clusters", cluster(fresh("invalid"), fields)), message);
    // A misspelled field is a 400 under strict field validation (kubectl's default), not dropped.
    const typo = await create("clusters", cluster(fresh("typo"), { storage: { size: "1Gi", sise: "2Gi" } }));
    expect(typo.status).toBe(400);
    expect(typo.message).toContain('unknown field "spec.storage.sise"');
    refused(await create("clusters", { metadata: { name: fresh("no-replicas") }, spec: {} }), "spec.replicas: Required value");
    refused(await create("clusters", { metadata: { name: fresh("no-spec") } }), "spec: Required value");
  });

  it("refuses names that cannot name the Cluster's Services and Pod labels: DNS-1035 labels of at most 52 characters", async () => {
    const longest = `c${"x".repeat(CLUSTER_NAME_LENGTH_MAX - 2)}9`;
    expect(longest.length).toBe(52);
    ok(await create("clusters", cluster(longest, {})));
    refused(await create("clusters", cluster(`${longest}x`, {})), "metadata.name must be at most 52 characters");
    // Valid resource names (DNS subdomains) that are not DNS-1035 labels: only the CEL rule refuses them.
    for (const name of ["1events", "9", "ev.ents"]) {
      refused(await create("clusters", cluster(name, {})), "metadata.name must be a DNS-1035 label");
    }
    // Upper case is refused by the apiserver's own name check (every resource name is lower case).
    refused(await create("clusters", cluster("Events", {})), /metadata\.name: Invalid value: "Events"/);
    ok(await create("clusters", cluster("a", {})));
  });

  it("lets storage grow but never shrink, and keeps the storage class fixed", async () => {
    ok(await create("clusters", cluster("storage", { storage: { size: "10Gi", storageClassName: "fast" } })));
    ok(await mergePatch("clusters", "storage", { spec: { storage: { size: "20Gi" } } }));
    // Same amount in another unit is not a shrink.
    ok(await mergePatch("clusters", "storage", { spec: { storage: { size: "20480Mi" } } }));
    refused(await mergePatch("clusters", "storage", { spec: { storage: { size: "19Gi" } } }), "storage.size may only grow");
    refused(await mergePatch("clusters", "storage", { spec: { storage: { storageClassName: "slow" } } }), "storageClassName is immutable");
    refused(await mergePatch("clusters", "storage", { spec: { storage: { storageClassName: null } } }), "cannot be added or removed");
    expect(spec(await get("clusters", "storage"))["storage"]).toEqual({ size: "20480Mi", storageClassName: "fast" });

    ok(await create("clusters", cluster("no-class", {})));
    refused(await mergePatch("clusters", "no-class", { spec: { storage: { storageClassName: "fast" } } }), "cannot be added or removed");
  });
});

describe("Topic", () => {
  it("accepts a minimal Topic and stores the documented defaults", async () => {
    const stored = ok(await create("topics", topic("minimal", {})));
    expect(spec(stored)).toEqual({ cluster: "events", partitions: 1, replicationFactor: 1, deletionPolicy: "Delete" });
    ok(await create("topics", topic("retained", { partitions: 3, replicationFactor: 3, deletionPolicy: "Retain" })));
  });

  it("lets partitions grow and refuses shrinking with the CEL rule's message", async () => {
    ok(await create("topics", topic("grow", { partitions: 3 })));
    ok(await mergePatch("topics", "grow", { spec: { partitions: 8 } }));
    ok(await mergePatch("topics", "grow", { spec: { partitions: 8 } }));
    refused(
      await mergePatch("topics", "grow", { spec: { partitions: 7 } }),
      "partitions may only grow (partitions cannot be removed from a topic); create a new Topic to have fewer",
    );
    refused(await jsonPatch("topics", "grow", [{ op: "replace", path: "/spec/partitions", value: 1 }]), "partitions may only grow");
    expect(spec(await get("topics", "grow"))["partitions"]).toBe(8);
    refused(await create("topics", topic(fresh("zero"), { partitions: 0 })), "spec.partitions");
    refused(await create("topics", topic(fresh("huge"), { partitions: 10_001 })), "spec.partitions");
  });

  it("refuses changing the replication factor, the cluster, or the topic name", async () => {
    ok(await create("topics", topic("fixed", { partitions: 2, replicationFactor: 3, topicName: "fixed.v1" })));
    refused(await mergePatch("topics", "fixed", { spec: { replicationFactor: 1 } }), "replicationFactor is immutable after creation");
    refused(await mergePatch("topics", "fixed", { spec: { replicationFactor: 5 } }), "replicationFactor is immutable after creation");
    refused(await mergePatch("topics", "fixed", { spec: { cluster: "other" } }), "spec.cluster is immutable");
    refused(await mergePatch("topics", "fixed", { spec: { topicName: "fixed.v2" } }), "spec.topicName is immutable");
    refused(await mergePatch("topics", "fixed", { spec: { topicName: null } }), "cannot be added or removed after creation");
    ok(await create("topics", topic("unnamed", {})));
    refused(await mergePatch("topics", "unnamed", { spec: { topicName: "unnamed" } }), "cannot be added or removed after creation");
    expect(spec(await get("topics", "fixed"))).toMatchObject({ cluster: "events", replicationFactor: 3, topicName: "fixed.v1" });
  });

  it("accepts every topic config key the broker validates and every value of its enum keys", async () => {
    const config = Object.fromEntries(topicConfigDefinitions.map((d) => [d.name, d.defaultValue]));
    expect(spec(ok(await create("topics", topic("all-config", { config }))))["config"]).toEqual(config);
    for (const def of topicConfigDefinitions) {
      if (def.kind !== "enum") continue;
      for (const value of def.values) ok(await create("topics", topic(fresh("enum"), { config: { [def.name]: value } })));
    }
    ok(await mergePatch("topics", "all-config", { spec: { config: { "retention.ms": "-1" } } }));
  });

  it("refuses unknown topic config keys and values of the wrong shape", async () => {
    refused(await create("topics", topic(fresh("key"), { config: { "retention.hours": "1" } })), "unknown topic config key; allowed: retention.ms");
    refused(await create("topics", topic(fresh("key"), { config: { "log.retention.ms": "1" } })), "unknown topic config key");
    for (const def of topicConfigDefinitions) {
      const bad = def.kind === "long" ? "7d" : "bogus";
      const message = def.kind === "long" ? "takes an integer value" : `${def.name} must be`;
      refused(await create("topics", topic(fresh("value"), { config: { [def.name]: bad } })), message);
    }
    refused(await create("topics", topic(fresh("number"), { config: { "retention.ms": 5 } })), "spec.config.retention.ms");
  });

  it("refuses topic names outside Kafka's rule and accepts the edge cases inside it", async () => {
    const bad: Array<[string, string]> = [
      [".", 'spec.topicName cannot be "." or ".."'],
      ["..", 'spec.topicName cannot be "." or ".."'],
      ["has space", "spec.topicName"],
      ["naïve", "spec.topicName"],
      ["a/b", "spec.topicName"],
      ["", "spec.topicName"],
      ["x".repeat(250), "spec.topicName"],
    ];
    for (const [name, message] of bad) refused(await create("topics", topic(fresh("name"), { topicName: name })), message);
    for (const name of ["x".repeat(249), "A._-z", "...", "__consumer_offsets"]) {
      ok(await create("topics", topic(fresh("name"), { topicName: name })));
    }
  });

  it("refuses a resource name longer than a topic name unless spec.topicName is set", async () => {
    // DNS-subdomain resource names go up to 253 characters; Kafka topic names stop at 249.
    const longName = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(60)].join(".");
    expect(longName.length).toBe(252);
    refused(await create("topics", topic(longName, {})), "metadata.name is longer than 249 characters");
    ok(await create("topics", topic(longName, { topicName: "short" })));
    const fits = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(57)].join(".");
    expect(fits.length).toBe(249);
    ok(await create("topics", topic(fits, {})));
  });

  it("refuses a bad deletionPolicy, a missing cluster and a malformed cluster name", async () => {
    refused(await create("topics", topic(fresh("policy"), { deletionPolicy: "Keep" })), 'spec.deletionPolicy: Unsupported value: "Keep"');
    refused(await create("topics", { metadata: { name: fresh("orphan") }, spec: { partitions: 1 } }), "spec.cluster: Required value");
    refused(await create("topics", topic(fresh("cluster"), { cluster: "Events_Cluster" })), "spec.cluster");
  });
});

describe("the status subresource", () => {
  it("keeps status out of spec writes and spec out of status writes; generation counts spec changes only", async () => {
    const created = ok(await create("topics", topic("status", { partitions: 2 })));
    expect((created["metadata"] as Json)["generation"]).toBe(1);
    // A status sent with the main resource is dropped.
    const withStatus = ok(await mergePatch("topics", "status", { spec: { partitions: 3 }, status: { partitions: 99 } }));
    expect(withStatus["status"]).toBeUndefined();
    expect((withStatus["metadata"] as Json)["generation"]).toBe(2);

    const condition = { type: "Ready", status: "False", reason: "ClusterNotFound", message: "Cluster events does not exist", lastTransitionTime: "2026-01-01T00:00:00Z", observedGeneration: 2 };
    const updated = ok(
      await mergePatch("topics", "status", {
        spec: { partitions: 1 },
        status: { observedGeneration: 2, topicId: "AAAAAAAAAAAAAAAAAAAAAA", partitions: 3, message: "Cluster events does not exist", conditions: [condition] },
      }, "/status"),
    );
    // The spec part of a status write is ignored (it would otherwise shrink partitions).
    expect(spec(updated)["partitions"]).toBe(3);
    expect((updated["metadata"] as Json)["generation"]).toBe(2);
    expect(updated["status"]).toEqual({
      observedGeneration: 2,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: 3,
      message: "Cluster events does not exist",
      conditions: [condition],
    });
  });

  it("validates conditions: metav1.Condition's shape, the documented types, one entry per type", async () => {
    ok(await create("clusters", cluster("conditions", {})));
    const at = "2026-01-01T00:00:00Z";
    const write = (conditions: Json[]): Promise<Outcome> => mergePatch("clusters", "conditions", { status: { conditions } }, "/status");
    ok(
      await write([
        { type: "Ready", status: "False", reason: "BrokersStarting", message: "1 of 3 brokers ready", lastTransitionTime: at },
        { type: "Progressing", status: "True", reason: "ScalingUp", message: "", lastTransitionTime: at },
        { type: "Degraded", status: "Unknown", reason: "Pending", message: "", lastTransitionTime: at },
      ]),
    );
    refused(await write([{ type: "Ready", status: "Yes", reason: "R", message: "", lastTransitionTime: at }]), "status.conditions[0].status");
    refused(await write([{ type: "Healthy", status: "True", reason: "R", message: "", lastTransitionTime: at }]), "status.conditions[0].type");
    refused(await write([{ type: "Ready", status: "True", reason: "not a reason", message: "", lastTransitionTime: at }]), "status.conditions[0].reason");
    refused(await write([{ type: "Ready", status: "True", reason: "R", message: "" }]), "lastTransitionTime: Required value");
    refused(
      await write([
        { type: "Ready", status: "True", reason: "R", message: "", lastTransitionTime: at },
        { type: "Ready", status: "False", reason: "R", message: "", lastTransitionTime: at },
      ]),
      "Duplicate value",
    );
  });
});
