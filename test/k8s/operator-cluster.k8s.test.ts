// Proves the Cluster reconciler end to end with the real operator process: a Cluster becomes a
// ConfigMap, headless and client Services, a StatefulSet and a PodDisruptionBudget, applied
// server-side by "sluice-operator" and owned by the Cluster; the StatefulSet's Pods run on the
// kwok Nodes and the Cluster's status goes Ready with readyBrokers and bootstrap; drift made to
// the StatefulSet behind the operator's back is undone; a child the spec stops wanting is removed;
// deleting the Cluster removes its children by garbage collection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "./control-plane.js";
import { apiRequest } from "./manifests.js";
import { condition, SluiceApi, startOperatorProcess, type OperatorProcess } from "./operator-harness.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeconfigPath, kubeConfig } = sharedControlPlane();

const suffix = Date.now().toString(36);
const namespace = `op-cluster-${suffix}`;
const storageClass = `op-cluster-${suffix}`;
const BROKERS = 3;
const volumes = Array.from({ length: BROKERS }, (_, i) => `op-cluster-${suffix}-${i}`);
const api = new SluiceApi(kubeConfig, namespace);
const NAME = "events";
let operator: OperatorProcess;

type Obj = {
  metadata: { name: string; uid: string; ownerReferences?: { uid: string; controller?: boolean; kind: string }[]; managedFields?: { manager: string }[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};

async function getObject(path: string): Promise<Obj | undefined> {
  const r = await apiRequest(kubeConfig, "GET", path);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as Obj;
}

const paths = {
  statefulSet: `/apis/apps/v1/namespaces/${namespace}/statefulsets/${NAME}`,
  headless: `/api/v1/namespaces/${namespace}/services/${NAME}-brokers`,
  client: `/api/v1/namespaces/${namespace}/services/${NAME}`,
  configMap: `/api/v1/namespaces/${namespace}/configmaps/${NAME}-config`,
  pdb: `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/${NAME}`,
};

async function post(path: string, body: unknown): Promise<void> {
  const r = await apiRequest(kubeConfig, "POST", path, { contentType: "application/json", text: JSON.stringify(body) });
  if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${r.body}`);
}

beforeAll(async () => {
  await api.createNamespace();
  // Volumes for the brokers' claims: kwok runs no containers, so hostPath volumes are never mounted.
  await post("/apis/storage.k8s.io/v1/storageclasses", {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: storageClass },
    provisioner: "kubernetes.io/no-provisioner",
    volumeBindingMode: "Immediate",
  });
  for (const volume of volumes) {
    await post("/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: volume },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: storageClass, persistentVolumeReclaimPolicy: "Delete", hostPath: { path: `/tmp/${volume}` } },
    });
  }
  operator = await startOperatorProcess(kubeconfigPath, [`--watch-namespaces=${namespace}`, "--default-broker-image=registry.example/sluice:test"]);
  await operator.waitForLine((l) => l.msg === "controllers running");
});

afterAll(async () => {
  await operator?.stop();
  await api.deleteNamespace();
  for (const volume of volumes) await apiRequest(kubeConfig, "DELETE", `/api/v1/persistentvolumes/${volume}`);
  await apiRequest(kubeConfig, "DELETE", `/apis/storage.k8s.io/v1/storageclasses/${storageClass}`);
});

describe("Cluster reconciler", () => {
  let uid = "";

  it("applies the Cluster's children, owned by it and managed by sluice-operator", async () => {
    const cluster = await api.mustCreate("clusters", { metadata: { name: NAME }, spec: { replicas: BROKERS, storage: { size: "1Gi", storageClassName: storageClass } } });
    uid = cluster.metadata.uid;
    const statefulSet = await pollUntil("the StatefulSet", () => getObject(paths.statefulSet), 30_000);
    const children = [statefulSet, ...(await Promise.all([paths.headless, paths.client, paths.configMap, paths.pdb].map((p) => pollUntil(p, () => getObject(p), 30_000))))];
    for (const child of children) {
      expect(child.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Cluster", uid, controller: true })]);
      expect(child.metadata.managedFields?.some((f) => f.manager === "sluice-operator")).toBe(true);
    }
    const spec = statefulSet.spec as { replicas: number; serviceName: string; template: { spec: { containers: { image: string }[] } } };
    expect(spec.replicas).toBe(BROKERS);
    expect(spec.serviceName).toBe(`${NAME}-brokers`);
    expect(spec.template.spec.containers[0]?.image).toBe("registry.example/sluice:test");
    const headless = children[1];
    expect((headless?.spec as { clusterIP?: string }).clusterIP).toBe("None");
    expect(Object.keys(children[3]?.data ?? {}).length).toBeGreaterThan(0);
  });

  it("runs the broker Pods on kwok Nodes and reports the Cluster Ready with its bootstrap address", async () => {
    await pollUntil(
      `${BROKERS} broker Pods Running`,
      async () => {
        const r = await apiRequest(kubeConfig, "GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${NAME}`)}`);
        const pods = (JSON.parse(r.body) as { items: { spec: { nodeName?: string }; status: { phase?: string } }[] }).items;
        return pods.length === BROKERS && pods.every((p) => p.status.phase === "Running" && (p.spec.nodeName ?? "").startsWith("kwok-node-")) ? pods : undefined;
      },
      90_000,
    );
    const ready = await api.waitForReady("clusters", NAME, "True", undefined, 90_000);
    expect(ready.status).toMatchObject({ readyBrokers: BROKERS, replicas: BROKERS, bootstrap: `${NAME}.${namespace}.svc:9092`, observedGeneration: ready.metadata.generation });
    expect(condition(ready, "Progressing")?.status).toBe("False");
    expect(condition(ready, "Degraded")?.status).toBe("False");
  });

  it("undoes a change made to the StatefulSet behind its back", async () => {
    const r = await apiRequest(kubeConfig, "PATCH", `${paths.statefulSet}?fieldManager=someone-else`, { contentType: "application/merge-patch+json", text: JSON.stringify({ spec: { replicas: 1 } }) });
    expect(r.status).toBe(200);
    await pollUntil(
      "replicas back to 3",
      async () => {
        const s = await getObject(paths.statefulSet);
        return (s?.spec as { replicas?: number } | undefined)?.replicas === BROKERS ? true : undefined;
      },
      30_000,
    );
  });

  it("removes the PodDisruptionBudget when the spec turns it off", async () => {
    await api.mustPatch("clusters", NAME, { spec: { podDisruptionBudget: { enabled: false } } });
    await pollUntil("PDB deleted", async () => ((await getObject(paths.pdb)) === undefined ? true : undefined), 30_000);
  });

  it("reports a spec the builder refuses in status and keeps running", async () => {
    await api.mustCreate("clusters", { metadata: { name: "bad", annotations: {} }, spec: { replicas: 1, config: { "default-partitions": "0" } } });
    const bad = await api.waitFor("clusters", "bad", "Degraded=True", (o) => (condition(o, "Degraded")?.status === "True" ? o : undefined));
    expect(condition(bad, "Ready")?.status).toBe("False");
    expect(condition(bad, "Ready")?.message.length).toBeGreaterThan(0);
    expect(operator.child.exitCode).toBeNull();
  });

  it("deletes the children with the Cluster (garbage collection of owned objects)", async () => {
    await api.delete("clusters", NAME);
    await api.waitForGone("clusters", NAME);
    for (const path of [paths.statefulSet, paths.headless, paths.client, paths.configMap]) {
      await pollUntil(`${path} deleted`, async () => ((await getObject(path)) === undefined ? true : undefined), 60_000);
    }
  });
});
