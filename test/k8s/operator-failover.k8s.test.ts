// Proves the operator survives its own death: killed (SIGKILL) while Topics are still pending, a
// new operator process converges every Topic with exactly one CreateTopics call per topic and the
// topic ids unchanged (no duplicate, no lost work); and with leader election two replicas never
// both reconcile: only the Lease holder acts, a standby takes over after the leader is killed,
// and a leader stopped with SIGTERM releases the Lease for an immediate hand-over.
import { Admin } from "@sluice/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "../e2e/broker-process.js";
import { apiRequest } from "./manifests.js";
import { condition, metricSum, SluiceApi, startOperatorProcess, type OperatorProcess } from "./operator-harness.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeconfigPath, kubeConfig } = sharedControlPlane();

const namespace = `op-failover-${Date.now().toString(36)}`;
const api = new SluiceApi(kubeConfig, namespace);
const CLUSTER = "events";
const LEASE = "sluice-operator-test";
let broker: BrokerProcess;
let admin: Admin;
const operators: OperatorProcess[] = [];

async function start(args: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<OperatorProcess> {
  const op = await startOperatorProcess(kubeconfigPath, [`--watch-namespaces=${namespace}`, ...args], env);
  operators.push(op);
  return op;
}

async function brokerMetrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseTransitions?: number;
}

async function lease(): Promise<LeaseSpec | undefined> {
  const r = await apiRequest(kubeConfig, "GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${LEASE}`);
  return r.status === 200 ? ((JSON.parse(r.body) as { spec?: LeaseSpec }).spec ?? {}) : undefined;
}

beforeAll(async () => {
  broker = await startBrokerProcess();
  admin = new Admin({ bootstrap: broker.bootstrap });
  await api.createNamespace();
  await api.mustCreate("clusters", { metadata: { name: CLUSTER, annotations: { "sluice.io/bootstrap-override": broker.bootstrap } }, spec: { replicas: 1 } });
});

afterAll(async () => {
  for (const op of operators) await op.stop();
  await admin?.close();
  if (broker !== undefined) {
    await broker.stop();
    await removeDataDir(broker.dataDir);
  }
  await api.deleteNamespace();
});

describe("operator restart", () => {
  it("converges after a SIGKILL with pending Topics: one create per topic, ids unchanged", async () => {
    const COUNT = 24;
    const names = Array.from({ length: COUNT }, (_, i) => `restart-${i}`);
    const first = await start(["--workers=2"]);
    await first.waitForLine((l) => l.msg === "controllers running");
    await Promise.all(names.map((name) => api.mustCreate("topics", { metadata: { name }, spec: { cluster: CLUSTER, partitions: 2 } })));
    // Kill it mid-way: after the first topic is created, while others are still pending.
    await first.waitForLine((l) => l.msg === "topic created", 30_000);
    await first.kill9();
    const readyAtKill = (await Promise.all(names.map((n) => api.get("topics", n)))).filter((t) => condition(t, "Ready")?.status === "True").length;
    expect(readyAtKill).toBeLessThan(COUNT);

    const second = await start(["--workers=2"]);
    const topics = await Promise.all(names.map((name) => api.waitForReady("topics", name)));
    const listed = (await admin.listTopics()).filter((t) => t.name.startsWith("restart-"));
    expect(listed.map((t) => t.name).sort()).toEqual([...names].sort());
    for (const topic of topics) {
      expect(listed.find((t) => t.name === topic.metadata.name)?.topicId).toBe(topic.status?.topicId);
    }
    const text = await brokerMetrics();
    // validateOnly calls count too: every create is one validation plus one real call, and a topic
    // the first operator created before dying is never created (or refused as existing) again.
    expect(metricSum(text, "sluice_partition_errors_total", /method="[^"]*CreateTopics"/)).toBe(0);
    // The broker logs each topic it really creates: exactly one per Topic across both operators.
    expect(broker.lines.filter((l) => l.msg === "topic created" && String(l["topic"]).startsWith("restart-")).length).toBe(COUNT);
    await second.stop();
  });
});

describe("leader election", () => {
  const electionArgs = [
    "--leader-elect",
    `--leader-election-namespace=${namespace}`,
    `--leader-election-id=${LEASE}`,
    "--leader-election-lease-duration-seconds=4",
    "--leader-election-renew-deadline-seconds=3",
    "--leader-election-retry-period-seconds=1",
  ];

  it("lets only the Lease holder reconcile, and a standby takes over when the leader dies", async () => {
    const a = await start(electionArgs, { POD_NAME: "op-a" });
    await a.waitForLine((l) => l.msg === "controllers running");
    const b = await start(electionArgs, { POD_NAME: "op-b" });
    await b.waitForLine((l) => l.msg === "leader election: another replica leads; waiting");
    expect((await lease())?.holderIdentity).toBe("op-a");
    expect(metricSum(await a.metrics(), "sluice_operator_leader")).toBe(1);
    expect(metricSum(await b.metrics(), "sluice_operator_leader")).toBe(0);
    expect((await fetch(`http://127.0.0.1:${b.metricsPort}/readyz`)).status).toBe(200);

    await api.mustCreate("topics", { metadata: { name: "led-1" }, spec: { cluster: CLUSTER } });
    await api.waitForReady("topics", "led-1");
    expect(a.lines.some((l) => l.msg === "topic created" && l["name"] === "led-1")).toBe(true);
    expect(b.lines.some((l) => l["kind"] === "Topic")).toBe(false);
    expect(metricSum(await b.metrics(), "sluice_operator_reconciles_total")).toBe(0);

    await a.kill9();
    await b.waitForLine((l) => l.msg === "controllers running", 30_000);
    expect((await lease())?.holderIdentity).toBe("op-b");
    expect(metricSum(await b.metrics(), "sluice_operator_leader")).toBe(1);
    await api.mustCreate("topics", { metadata: { name: "led-2" }, spec: { cluster: CLUSTER } });
    await api.waitForReady("topics", "led-2");
    expect(b.lines.some((l) => l.msg === "topic created" && l["name"] === "led-2")).toBe(true);

    // SIGTERM: the leader releases the Lease on its way out.
    const c = await start(electionArgs, { POD_NAME: "op-c" });
    await c.waitForLine((l) => l.msg === "leader election: another replica leads; waiting");
    const stoppedAt = performance.now();
    expect((await b.stop()).code).toBe(0);
    expect(b.lines.some((l) => l.msg === "leader election: released the Lease")).toBe(true);
    await c.waitForLine((l) => l.msg === "controllers running", 30_000);
    expect((await lease())?.holderIdentity).toBe("op-c");
    // Released, not expired: the hand-over takes about a retry period (1 s), not a lease duration.
    expect(performance.now() - stoppedAt).toBeLessThan(15_000);
  });
});
