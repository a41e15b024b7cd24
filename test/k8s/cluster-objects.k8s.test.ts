// Proves the objects buildClusterObjects renders for real Cluster resources are what the Kubernetes
// version under test accepts and runs: for several Cluster specs (created in the apiserver, so
// uid and CRD defaults are real) every object passes kubeconform (strict, schemas from this
// apiserver's /openapi/v2) and a strict server-side-apply dry run; applied for real, the
// StatefulSet controller creates one Pod per broker, spread over the kwok Nodes' zones, labelled
// with the ordinal the broker id comes from, each with a Bound volume and a per-Pod DNS record;
// clusterStatusFrom's status is accepted by the status subresource and says Ready; a config change
// rolls the Pods; storage growth needs the live claim templates; and deleting the Cluster deletes
// its children (garbage collection) but keeps the brokers' volumes.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readdir, readFile } from "node:fs/promises";
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, DiscoveryV1Api, StorageV1Api, type V1Pod, type V1StatefulSet } from "@kubernetes/client-node";
import { loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  asCluster,
  buildClusterObjects,
  clusterStatusFrom,
  CONFIG_HASH_ANNOTATION,
  POD_INDEX_LABEL,
  withClusterDefaults,
  type Cluster,
  type ClusterChild,
  type ClusterSpec,
} from "../../operator/src/cluster/index.js";
import { pollUntil, ZONE_LABEL } from "./control-plane.js";
import { CRDS_DIR } from "./global-setup.js";
import { kubeconform, writeSchemaFolder } from "./helm.js";
import type { OpenApiV2Document } from "./kubeconform-schemas.js";
import { apiRequest, applyManifestDirectory, type ApiResponse } from "./manifests.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeConfig } = sharedControlPlane();
const logDir = inject("k8sLogDir");
const core = kubeConfig.makeApiClient(CoreV1Api);
const apps = kubeConfig.makeApiClient(AppsV1Api);
const storage = kubeConfig.makeApiClient(StorageV1Api);
const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);

/** Controllers here react within seconds; the bound only keeps a broken setup from hanging CI. */
const CONVERGE_TIMEOUT_MS = 90_000;
const FIELD_MANAGER = "sluice-operator";
const BROKERS = 3;

// Names unique to this run: nothing collides with other files or earlier runs.
const run = Date.now().toString(36);
const namespace = `cluster-objects-${run}`;
const storageClass = `sluice-test-${run}`;
const volumeNames = Array.from({ length: BROKERS }, (_, i) => `sluice-test-${run}-${i}`);
const buildOptions = { defaultBrokerImage: "registry.invalid/sluice:test", serviceMonitorAvailable: true };

/** ServiceMonitor's real CRD is not available offline: a stand-in (any spec) lets the dry run check its metadata. */
const standInServiceMonitorCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "servicemonitors.monitoring.coreos.com", labels: { "sluice.io/test-stand-in": "true" } },
  spec: {
    group: "monitoring.coreos.com",
    scope: "Namespaced",
    names: { kind: "ServiceMonitor", plural: "servicemonitors", singular: "servicemonitor", listKind: "ServiceMonitorList" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } } },
      },
    ],
  },
};

/** The REST path of each kind the builder renders. */
const resourcePaths: Readonly<Record<string, string>> = {
  ConfigMap: "/api/v1/namespaces/{ns}/configmaps",
  Service: "/api/v1/namespaces/{ns}/services",
  StatefulSet: "/apis/apps/v1/namespaces/{ns}/statefulsets",
  PodDisruptionBudget: "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
  ServiceMonitor: "/apis/monitoring.coreos.com/v1/namespaces/{ns}/servicemonitors",
};
const clustersPath = `/apis/sluice.io/v1alpha1/namespaces/${namespace}/clusters`;

function message(response: ApiResponse): string {
  try {
    return `${response.status} ${(JSON.parse(response.body) as { message?: string }).message ?? response.body}`;
  } catch {
    return `${response.status} ${response.body.slice(0, 500)}`;
  }
}

/** Server-side apply as the operator does it, with strict field validation (unknown fields fail). */
function serverSideApply(object: ClusterChild | object & { kind: string; metadata: { name: string; namespace: string } }, dryRun: boolean): Promise<ApiResponse> {
  const o = object as { kind: string; metadata: { name: string; namespace: string } };
  const base = resourcePaths[o.kind];
  if (base === undefined) throw new Error(`no path for kind ${o.kind}`);
  const path = `${base.replace("{ns}", o.metadata.namespace)}/${o.metadata.name}?fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict${dryRun ? "&dryRun=All" : ""}`;
  return apiRequest(kubeConfig, "PATCH", path, { contentType: "application/apply-patch+yaml", text: JSON.stringify(object) });
}

/** Applies every object in order; returns the apiserver's answer for each (the object as stored). */
async function applyAll(objects: readonly ClusterChild[], dryRun: boolean): Promise<Map<string, unknown>> {
  const stored = new Map<string, unknown>();
  for (const o of objects) {
    const response = await serverSideApply(o, dryRun);
    // 201 when the apply creates the object, 200 when it updates it.
    expect([200, 201], `${o.kind}/${o.metadata.name}: ${message(response)}`).toContain(response.status);
    stored.set(o.kind === "Service" ? `Service/${o.metadata.name}` : o.kind, JSON.parse(response.body));
  }
  return stored;
}

/** Creates the Cluster in the apiserver and returns it as stored (uid, generation, CRD defaults). */
async function createCluster(name: string, spec: ClusterSpec): Promise<Cluster> {
  const response = await apiRequest(kubeConfig, "POST", `${clustersPath}?fieldValidation=Strict`, {
    contentType: "application/json",
    text: JSON.stringify({ apiVersion: "sluice.io/v1alpha1", kind: "Cluster", metadata: { name }, spec }),
  });
  expect(response.status, message(response)).toBe(201);
  return asCluster(JSON.parse(response.body));
}

async function readCluster(name: string): Promise<Cluster> {
  const response = await apiRequest(kubeConfig, "GET", `${clustersPath}/${name}`);
  expect(response.status, message(response)).toBe(200);
  return asCluster(JSON.parse(response.body));
}

function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  return pollUntil(what, check, CONVERGE_TIMEOUT_MS, logDir);
}

const scenarios: ReadonlyArray<{ readonly name: string; readonly spec: ClusterSpec }> = [
  { name: "minimal", spec: { replicas: 1 } },
  {
    name: "everything",
    spec: {
      replicas: 5,
      image: "registry.example.com/sluice:1.2.3",
      imagePullPolicy: "IfNotPresent",
      storage: { size: "50Gi", storageClassName: "fast-ssd" },
      resources: { requests: { cpu: "500m", memory: 1073741824 }, limits: { memory: "2Gi" } },
      config: { "log-level": "debug", fsync: "interval:5", "default-partitions": "6", "log.retention.ms": "86400000", "log.cleanup.policy": "delete,compact" },
      rack: { topologyKey: "topology.kubernetes.io/zone" },
      listeners: { internal: { port: 9092, dataPort: 9093 }, external: { type: "LoadBalancer", port: 9094, annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" } } },
      metrics: { enabled: true, port: 9644, serviceMonitor: true },
      podDisruptionBudget: { enabled: true, maxUnavailable: "25%" },
    },
  },
  {
    name: "quiet-nodeport",
    spec: {
      replicas: 2,
      listeners: { internal: { port: 19092 }, external: { type: "NodePort" } },
      metrics: { enabled: false },
      podDisruptionBudget: { enabled: false },
      config: { "shutdown-timeout-ms": "60000" },
    },
  },
];

let scratch: string;
let schemaLocation: string;
const stored = new Map<string, Cluster>();

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sluice-cluster-objects-"));
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const openApi = await apiRequest(kubeConfig, "GET", "/openapi/v2");
  expect(openApi.status).toBe(200);
  const crdDocuments: unknown[] = [];
  for (const file of (await readdir(CRDS_DIR)).filter((f) => f.endsWith(".yaml"))) {
    crdDocuments.push(...loadAll(await readFile(join(CRDS_DIR, file), "utf8")));
  }
  await mkdir(join(scratch, "schemas"));
  schemaLocation = await writeSchemaFolder(join(scratch, "schemas"), JSON.parse(openApi.body) as OpenApiV2Document, crdDocuments);

  const standIn = join(scratch, "stand-in");
  await mkdir(standIn);
  await writeFile(join(standIn, "servicemonitor.json"), JSON.stringify(standInServiceMonitorCrd));
  await applyManifestDirectory(kubeConfig, standIn);

  for (const scenario of scenarios) stored.set(scenario.name, await createCluster(scenario.name, scenario.spec));
});

afterAll(async () => {
  // The stand-in must not outlive this file: operator tests detect ServiceMonitor support by it.
  await extensions.deleteCustomResourceDefinition({ name: standInServiceMonitorCrd.metadata.name }).catch(() => undefined);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  for (const name of volumeNames) await core.deletePersistentVolume({ name }).catch(() => undefined);
  await storage.deleteStorageClass({ name: storageClass }).catch(() => undefined);
  await pollUntil(
    "stand-in ServiceMonitor CRD deleted",
    async () => ((await extensions.listCustomResourceDefinition({ labelSelector: "sluice.io/test-stand-in=true" })).items.length === 0 ? true : undefined),
    CONVERGE_TIMEOUT_MS,
    logDir,
  );
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe.each(scenarios)("the objects of Cluster $name", (scenario) => {
  const build = (): ReturnType<typeof buildClusterObjects> => buildClusterObjects(stored.get(scenario.name) as Cluster, buildOptions);

  it("apply the CRD's defaults the way the apiserver does", () => {
    const cluster = stored.get(scenario.name) as Cluster;
    // The stored spec holds the apiserver's defaults; ours must resolve the written spec to the same.
    expect(withClusterDefaults(scenario.spec)).toEqual(withClusterDefaults(cluster.spec));
    expect(cluster.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("pass kubeconform (strict) against this apiserver's schemas", async () => {
    const objects = build().desired;
    const report = await kubeconform(objects.map((o) => JSON.stringify(o)).join("\n---\n"), schemaLocation, ["monitoring.coreos.com/v1/ServiceMonitor"]);
    const problems = report.resources.filter((r) => r.status !== "statusValid" && r.status !== "statusSkipped");
    expect(problems, JSON.stringify(problems, null, 2)).toEqual([]);
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor").length;
    expect(report.summary).toEqual({ valid: objects.length - monitors, invalid: 0, errors: 0, skipped: monitors });
  });

  it("are accepted by a strict server-side-apply dry run, which stores nothing", async () => {
    const objects = build();
    await applyAll(objects.desired, true);
    await expect(apps.readNamespacedStatefulSet({ name: objects.statefulSet.metadata.name, namespace })).rejects.toMatchObject({ code: 404 });
  });
});

describe("a Cluster applied for real", () => {
  const name = "live";
  let cluster: Cluster;

  async function brokerPods(): Promise<V1Pod[]> {
    return (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${name},app.kubernetes.io/component=broker` })).items;
  }

  async function statefulSet(): Promise<V1StatefulSet> {
    return apps.readNamespacedStatefulSet({ name, namespace });
  }

  it("runs one Pod per broker on kwok Nodes, one per zone, each with its ordinal label, a Bound volume and a DNS record", async () => {
    // Volumes for the claims: a no-provisioner class and one hostPath volume per broker (never mounted: kwok runs no containers).
    await storage.createStorageClass({ body: { metadata: { name: storageClass }, provisioner: "kubernetes.io/no-provisioner", volumeBindingMode: "Immediate", reclaimPolicy: "Retain" } });
    for (const volume of volumeNames) {
      await core.createPersistentVolume({
        body: {
          metadata: { name: volume },
          spec: { capacity: { storage: "2Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: storageClass, persistentVolumeReclaimPolicy: "Retain", hostPath: { path: `/tmp/${volume}` } },
        },
      });
    }
    cluster = await createCluster(name, {
      replicas: BROKERS,
      storage: { size: "1Gi", storageClassName: storageClass },
      rack: {},
      resources: { requests: { cpu: "100m", memory: "256Mi" } },
      config: { "log-level": "info" },
    });
    const objects = buildClusterObjects(cluster, { ...buildOptions, serviceMonitorAvailable: false });
    await applyAll(objects.desired, false);

    const pods = await eventually(`${BROKERS} broker Pods Running and Ready`, async () => {
      const ready = (await brokerPods()).filter(
        (p) => p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length === BROKERS ? ready : undefined;
    });
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(["live-0", "live-1", "live-2"]);
    const zones = new Set<string>();
    for (const pod of pods) {
      const ordinal = pod.metadata?.name?.split("-").pop();
      // SLUICE_BROKER_ID reads this label through the downward API.
      expect(pod.metadata?.labels?.[POD_INDEX_LABEL]).toBe(ordinal);
      expect(pod.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]).toBe(objects.configHash);
      expect(pod.spec?.hostname).toBe(pod.metadata?.name);
      expect(pod.spec?.subdomain).toBe("live-brokers");
      const node = await core.readNode({ name: pod.spec?.nodeName ?? "" });
      zones.add(node.metadata?.labels?.[ZONE_LABEL] ?? "");
    }
    expect(zones.size).toBe(BROKERS);

    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.filter((c) => c.metadata?.name?.startsWith(`data-${name}-`));
    expect(claims.map((c) => [c.metadata?.name, c.status?.phase, c.spec?.storageClassName]).sort()).toEqual(
      ["data-live-0", "data-live-1", "data-live-2"].map((n) => [n, "Bound", storageClass]),
    );

    // The headless Service publishes one hostname per broker: <pod>.live-brokers.<ns>.svc resolves.
    const slices = await eventually("headless Service endpoints for every broker", async () => {
      const list = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: "kubernetes.io/service-name=live-brokers" });
      const hostnames = list.items.flatMap((s) => s.endpoints.map((e) => e.hostname ?? ""));
      return hostnames.length === BROKERS ? hostnames : undefined;
    });
    expect(slices.sort()).toEqual(["live-0", "live-1", "live-2"]);
  });

  it("gets a Ready status from clusterStatusFrom that the status subresource accepts", async () => {
    const sts = await eventually("StatefulSet reports every broker ready", async () => {
      const s = await statefulSet();
      return s.status?.readyReplicas === BROKERS && s.status.currentRevision === s.status.updateRevision ? s : undefined;
    });
    const status = clusterStatusFrom(cluster, sts, { now: new Date() });
    expect(status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(["Ready=True/AllBrokersReady", "Progressing=False/Stable", "Degraded=False/AsExpected"]);
    const response = await apiRequest(kubeConfig, "PATCH", `${clustersPath}/${name}/status?fieldValidation=Strict`, {
      contentType: "application/merge-patch+json",
      text: JSON.stringify({ status }),
    });
    expect(response.status, message(response)).toBe(200);
    cluster = await readCluster(name);
    expect(cluster.status).toEqual(status);
    expect(cluster.status?.bootstrap).toBe(`live.${namespace}.svc:9092`);
  });

  it("rolls every Pod onto a changed config (new config hash), reporting Progressing until the rollout is done", async () => {
    const patched = await apiRequest(kubeConfig, "PATCH", `${clustersPath}/${name}`, {
      contentType: "application/merge-patch+json",
      text: JSON.stringify({ spec: { config: { "log-level": "debug" } } }),
    });
    expect(patched.status, message(patched)).toBe(200);
    cluster = await readCluster(name);
    const objects = buildClusterObjects(cluster, { ...buildOptions, serviceMonitorAvailable: false, currentVolumeClaimTemplates: (await statefulSet()).spec?.volumeClaimTemplates });
    const applied = await applyAll(objects.desired, false);

    // The StatefulSet as the apply stored it: a new generation its controller has not acted on yet.
    const justApplied = applied.get("StatefulSet") as V1StatefulSet;
    expect(justApplied.metadata?.generation).toBeGreaterThan(justApplied.status?.observedGeneration ?? 0);
    const status = clusterStatusFrom(cluster, justApplied, { now: new Date() });
    expect(status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(["Ready=False/Reconciling", "Progressing=True/Reconciling", "Degraded=False/AsExpected"]);

    await eventually("every broker Pod runs the new config hash and is Ready", async () => {
      const pods = await brokerPods();
      const done = pods.filter(
        (p) => p.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] === objects.configHash && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
      );
      return done.length === BROKERS && pods.length === BROKERS ? true : undefined;
    });
    const settled = await eventually("rollout complete", async () => {
      const s = await statefulSet();
      return s.status?.currentRevision === s.status?.updateRevision && s.status?.readyReplicas === BROKERS ? s : undefined;
    });
    expect(clusterStatusFrom(cluster, settled, { now: new Date() }).conditions?.[0]).toMatchObject({ type: "Ready", status: "True" });
  });

  it("refuses a storage.size change to the StatefulSet unless the live claim templates are kept", async () => {
    const grown: Cluster = { ...cluster, spec: { ...cluster.spec, storage: { size: "2Gi", storageClassName: storageClass } } };
    const fresh = buildClusterObjects(grown, { ...buildOptions, serviceMonitorAvailable: false });
    const refused = await serverSideApply(fresh.statefulSet, true);
    expect(refused.status).toBe(422);
    expect(message(refused)).toMatch(/spec\.volumeClaimTemplates: .*field is immutable/);
    const keeping = buildClusterObjects(grown, { ...buildOptions, serviceMonitorAvailable: false, currentVolumeClaimTemplates: (await statefulSet()).spec?.volumeClaimTemplates });
    const accepted = await serverSideApply(keeping.statefulSet, true);
    expect(accepted.status, message(accepted)).toBe(200);
  });

  it("is deleted with its children by the garbage collector, keeping the brokers' volumes", async () => {
    const response = await apiRequest(kubeConfig, "DELETE", `${clustersPath}/${name}`);
    expect(response.status, message(response)).toBe(200);
    await eventually("StatefulSet, Services and ConfigMap of the Cluster deleted", async () => {
      const sts = (await apps.listNamespacedStatefulSet({ namespace, labelSelector: `app.kubernetes.io/instance=${name}` })).items;
      const services = (await core.listNamespacedService({ namespace, labelSelector: `app.kubernetes.io/instance=${name}` })).items;
      const configMaps = (await core.listNamespacedConfigMap({ namespace, labelSelector: `app.kubernetes.io/instance=${name}` })).items;
      return sts.length + services.length + configMaps.length === 0 ? true : undefined;
    });
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((c) => c.metadata?.name).filter((n) => n?.startsWith(`data-${name}-`));
    expect(claims.sort()).toEqual(["data-live-0", "data-live-1", "data-live-2"]);
  });
});
