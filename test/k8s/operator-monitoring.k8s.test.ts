// Proves the Cluster reconciler's ServiceMonitor handling with the real operator process against the
// test apiserver, with a stand-in CRD for the Prometheus Operator's monitoring.coreos.com/v1
// ServiceMonitor: a Cluster that asks for one before the kind is served gets a Warning Event and
// then its ServiceMonitor once the CRD appears, without being touched; a new Cluster gets a
// ServiceMonitor it owns that selects its headless Service's `metrics` port; turning it off
// removes it; and removing the CRD again does not leave a Cluster failed with ApplyFailed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "./control-plane.js";
import { apiRequest } from "./manifests.js";
import { condition, SluiceApi, startOperatorProcess, type OperatorProcess } from "./operator-harness.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeconfigPath, kubeConfig } = sharedControlPlane();

const namespace = `op-monitoring-${Date.now().toString(36)}`;
const api = new SluiceApi(kubeConfig, namespace);
let operator: OperatorProcess;

/**
 * The Prometheus Operator's ServiceMonitor as far as the apiserver needs it: same group, version,
 * kind and plural; any content. Labelled like cluster-objects.k8s.test.ts's, so either file's
 * clean-up recognises it.
 */
const STAND_IN_CRD_NAME = "servicemonitors.monitoring.coreos.com";
const standInCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: STAND_IN_CRD_NAME, labels: { "sluice.io/test-stand-in": "true" } },
  spec: {
    group: "monitoring.coreos.com",
    scope: "Namespaced",
    names: { kind: "ServiceMonitor", listKind: "ServiceMonitorList", plural: "servicemonitors", singular: "servicemonitor" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
  },
};
const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${STAND_IN_CRD_NAME}`;
const discoveryPath = "/apis/monitoring.coreos.com/v1";
/** CRD creation and removal, including the discovery document catching up. Usually ~1 s. */
const CRD_CHANGE_TIMEOUT_MS = 30_000;
/**
 * A Cluster whose brokers are not all ready is reconciled every 10 s and a "not served" discovery
 * answer is trusted for 5 s, so a ServiceMonitor follows the CRD within ~15 s. Well below the
 * 60 s a "not served" answer used to be trusted for.
 */
const SERVICE_MONITOR_AFTER_CRD_TIMEOUT_MS = 30_000;

type Obj = {
  metadata: { name: string; uid: string; ownerReferences?: { uid: string; controller?: boolean; kind: string; name: string }[]; managedFields?: { manager: string }[] };
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string }[] };
};

async function getJson<T>(path: string): Promise<T | undefined> {
  const r = await apiRequest(kubeConfig, "GET", path);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

const serviceMonitorPath = (name: string): string => `/apis/monitoring.coreos.com/v1/namespaces/${namespace}/servicemonitors/${name}`;
const getServiceMonitor = (name: string): Promise<Obj | undefined> => getJson<Obj>(serviceMonitorPath(name));

async function servesServiceMonitors(): Promise<boolean> {
  const list = await getJson<{ resources: { name: string }[] }>(discoveryPath);
  return list?.resources.some((r) => r.name === "servicemonitors") ?? false;
}

async function installStandInCrd(): Promise<void> {
  const r = await apiRequest(kubeConfig, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { contentType: "application/json", text: JSON.stringify(standInCrd) });
  if (r.status !== 201) throw new Error(`create the stand-in CRD: ${r.status} ${r.body}`);
  await pollUntil(
    "stand-in ServiceMonitor CRD Established and in discovery",
    async () => {
      const crd = await getJson<Obj>(crdPath);
      const established = crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
      return established && (await servesServiceMonitors()) ? true : undefined;
    },
    CRD_CHANGE_TIMEOUT_MS,
  );
}

async function removeStandInCrd(): Promise<void> {
  await apiRequest(kubeConfig, "DELETE", crdPath);
  await pollUntil(
    "stand-in ServiceMonitor CRD gone, also from discovery",
    async () => ((await getJson<Obj>(crdPath)) === undefined && !(await servesServiceMonitors()) ? true : undefined),
    CRD_CHANGE_TIMEOUT_MS,
  );
}

beforeAll(async () => {
  // A run that crashed may have left it; this file needs to start without it.
  await removeStandInCrd();
  await api.createNamespace();
  operator = await startOperatorProcess(kubeconfigPath, [`--watch-namespaces=${namespace}`, "--default-broker-image=registry.example/sluice:test"]);
  await operator.waitForLine((l) => l.msg === "controllers running");
});

afterAll(async () => {
  await operator?.stop();
  await api.deleteNamespace();
  // Other files share the apiserver: none of them may see ServiceMonitor served.
  await removeStandInCrd();
});

describe("Cluster reconciler and ServiceMonitor", () => {
  let earlyUid = "";

  it("reconciles a Cluster asking for a ServiceMonitor while the kind is not served, with a Warning Event and no ServiceMonitor", async () => {
    const early = await api.mustCreate("clusters", { metadata: { name: "early" }, spec: { replicas: 1, metrics: { serviceMonitor: true } } });
    earlyUid = early.metadata.uid;
    await api.waitFor("clusters", "early", "reconciled", (o) => (o?.status?.observedGeneration === o?.metadata.generation ? o : undefined));
    // Its other children were applied all the same.
    expect(await getJson<Obj>(`/apis/apps/v1/namespaces/${namespace}/statefulsets/early`)).toBeDefined();
    const warning = await pollUntil(
      "a SpecNotHonoured Event for Cluster early",
      async () => {
        const events = await getJson<{ items: { reason?: string; type?: string; note?: string; regarding?: { name?: string; uid?: string } }[] }>(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
        return events?.items.find((e) => e.reason === "SpecNotHonoured" && e.regarding?.uid === earlyUid);
      },
      30_000,
    );
    expect(warning.type).toBe("Warning");
    expect(warning.note).toContain("monitoring.coreos.com/v1 ServiceMonitor");
    expect(await servesServiceMonitors()).toBe(false);
  });

  it("creates that Cluster's ServiceMonitor once the CRD appears, without a change to the Cluster", async () => {
    const before = await api.get("clusters", "early");
    await installStandInCrd();
    const monitor = await pollUntil("ServiceMonitor early", () => getServiceMonitor("early"), SERVICE_MONITOR_AFTER_CRD_TIMEOUT_MS);
    expect(monitor.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Cluster", name: "early", uid: earlyUid, controller: true })]);
    expect((await api.get("clusters", "early"))?.metadata.generation).toBe(before?.metadata.generation);
  });

  it("creates a ServiceMonitor owned by a new Cluster that selects its headless Service's metrics port", async () => {
    const late = await api.mustCreate("clusters", { metadata: { name: "late" }, spec: { replicas: 1, metrics: { serviceMonitor: true, port: 9700 } } });
    const monitor = await pollUntil("ServiceMonitor late", () => getServiceMonitor("late"), 30_000);
    expect(monitor.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Cluster", name: "late", uid: late.metadata.uid, controller: true })]);
    expect(monitor.metadata.managedFields?.some((f) => f.manager === "sluice-operator")).toBe(true);
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: { port: string; path?: string }[] };
    expect(spec.namespaceSelector.matchNames).toEqual([namespace]);
    expect(spec.endpoints.map((e) => [e.port, e.path])).toEqual([["metrics", "/metrics"]]);

    // Prometheus scrapes the Services the selector matches: exactly the headless one (every broker once), which has that port.
    const selector = Object.entries(spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",");
    const services = await getJson<{ items: { metadata: { name: string }; spec: { ports: { name: string; port: number }[] } }[] }>(
      `/api/v1/namespaces/${namespace}/services?labelSelector=${encodeURIComponent(selector)}`,
    );
    expect(services?.items.map((s) => s.metadata.name)).toEqual(["late-brokers"]);
    expect(services?.items[0]?.spec.ports.find((p) => p.name === "metrics")?.port).toBe(9700);
  });

  it("removes the ServiceMonitor when the spec turns it off, and leaves other Clusters' alone", async () => {
    await api.mustPatch("clusters", "late", { spec: { metrics: { serviceMonitor: false } } });
    await pollUntil("ServiceMonitor late deleted", async () => ((await getServiceMonitor("late")) === undefined ? true : undefined), 30_000);
    expect(await getServiceMonitor("early")).toBeDefined();
    // The Service keeps its metrics port: metrics stay on, only the ServiceMonitor went.
    const headless = await getJson<{ spec: { ports: { name: string }[] } }>(`/api/v1/namespaces/${namespace}/services/late-brokers`);
    expect(headless?.spec.ports.map((p) => p.name)).toContain("metrics");
  });

  it("does not fail a Cluster with ApplyFailed when the kind stops being served (Prometheus Operator uninstalled)", async () => {
    await removeStandInCrd();
    // A spec change makes the operator apply at once, very likely still trusting "served".
    const patched = await api.mustPatch("clusters", "early", { spec: { podDisruptionBudget: { maxUnavailable: 0 } } });
    const reconciled = await api.waitFor("clusters", "early", "generation observed", (o) => ((o?.status?.observedGeneration ?? 0) >= patched.metadata.generation ? o : undefined));
    expect(condition(reconciled, "Degraded")?.reason).not.toBe("ApplyFailed");
    expect(condition(reconciled, "Ready")?.reason).not.toBe("ApplyFailed");
    const pdb = await getJson<{ spec: { maxUnavailable: number } }>(`/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/early`);
    expect(pdb?.spec.maxUnavailable).toBe(0);
  });
});
