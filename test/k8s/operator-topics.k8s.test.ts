// Proves the Topic reconciler end to end: the real operator process against the test apiserver
// and a real broker process. A Topic creates its topic with the asked partitions and config and
// reports Ready with the topic id; partitions grow; config is set and removed to match the spec
// exactly; an existing topic is adopted only when it matches, otherwise Ready=False
// TopicExistsMismatch lists the differences; deletion honours Delete and Retain; a Topic whose
// Cluster is gone does not hang on delete; what the apiserver refuses never reaches the operator
// and what the broker refuses is reported in status while other Topics still become Ready; an
// unreachable broker is ClusterUnreachable until it comes back; the pause annotation is honoured.
import { Admin } from "@sluice/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, removeDataDir, startBrokerProcess, type BrokerProcess } from "../e2e/broker-process.js";
import { condition, metricSum, SluiceApi, startOperatorProcess, type OperatorProcess } from "./operator-harness.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeconfigPath, kubeConfig } = sharedControlPlane();

const namespace = `op-topics-${Date.now().toString(36)}`;
const api = new SluiceApi(kubeConfig, namespace);
const CLUSTER = "events";
let broker: BrokerProcess;
let admin: Admin;
let operator: OperatorProcess;
const spares: BrokerProcess[] = [];

async function brokerTopic(name: string): Promise<{ topicId: string; partitions: number; configs: Record<string, string> } | undefined> {
  const all = await admin.listTopics();
  if (!all.some((t) => t.name === name)) return undefined;
  const [described] = await admin.describeTopics([name]);
  return described === undefined ? undefined : { topicId: described.topicId, partitions: described.partitions.length, configs: { ...described.configs } };
}

beforeAll(async () => {
  broker = await startBrokerProcess();
  admin = new Admin({ bootstrap: broker.bootstrap });
  await api.createNamespace();
  await api.mustCreate("clusters", {
    metadata: { name: CLUSTER, annotations: { "sluice.io/bootstrap-override": broker.bootstrap } },
    spec: { replicas: 1 },
  });
  operator = await startOperatorProcess(kubeconfigPath, [`--watch-namespaces=${namespace}`, "--workers=4"]);
  await operator.waitForLine((l) => l.msg === "controllers running");
});

afterAll(async () => {
  await operator?.stop();
  await admin?.close();
  for (const b of [broker, ...spares]) {
    if (b === undefined) continue;
    await b.stop();
    await removeDataDir(b.dataDir);
  }
  await api.deleteNamespace();
});

describe("Topic reconciler", () => {
  it("creates the topic with its partitions and config and reports Ready with the topic id", async () => {
    await api.mustCreate("topics", { metadata: { name: "orders" }, spec: { cluster: CLUSTER, partitions: 3, config: { "retention.ms": "3600000", "cleanup.policy": "delete" } } });
    const topic = await api.waitForReady("topics", "orders");
    const inBroker = await brokerTopic("orders");
    expect(inBroker).toEqual({ topicId: topic.status?.topicId, partitions: 3, configs: { "retention.ms": "3600000", "cleanup.policy": "delete" } });
    expect(topic.status?.partitions).toBe(3);
    expect(topic.metadata.finalizers).toContain("sluice.io/topic-finalizer");
    expect(condition(topic, "Degraded")?.status).toBe("False");
    expect(condition(topic, "Progressing")?.status).toBe("False");
  });

  it("grows partitions and makes the config exactly the spec's (set, change, remove)", async () => {
    const before = await api.waitForReady("topics", "orders");
    await api.mustPatch("topics", "orders", { spec: { partitions: 5, config: { "retention.ms": "7200000", "cleanup.policy": null, "max.message.bytes": "2097152" } } });
    await api.waitForReady("topics", "orders");
    const topic = await api.waitFor("topics", "orders", "5 partitions in status", (o) => (o?.status?.partitions === 5 ? o : undefined));
    expect(await brokerTopic("orders")).toEqual({ topicId: before.status?.topicId, partitions: 5, configs: { "retention.ms": "7200000", "max.message.bytes": "2097152" } });
    expect(topic.status?.topicId).toBe(before.status?.topicId);
  });

  it("re-applies the spec when the topic's config is changed behind the operator's back (resync or next change)", async () => {
    await admin.alterConfigs([{ topic: "orders", set: { "segment.bytes": "1048576" } }]);
    // Any change to the Topic triggers a full comparison; the drifted key goes.
    await api.mustPatch("topics", "orders", { metadata: { labels: { touched: "yes" } }, spec: { config: { "retention.ms": "7200000", "max.message.bytes": "2097152", "segment.ms": "600000" } } });
    await api.waitFor("topics", "orders", "config converged", (o) => (o?.status?.observedGeneration === o?.metadata.generation ? o : undefined));
    await expect.poll(async () => (await brokerTopic("orders"))?.configs, { timeout: 30_000 }).toEqual({ "retention.ms": "7200000", "max.message.bytes": "2097152", "segment.ms": "600000" });
  });

  it("adopts an existing topic only when partitions, replication factor and config match", async () => {
    const [made] = await admin.createTopics([{ name: "adopt-me", partitions: 2, configs: { "retention.ms": "60000" } }]);
    await admin.createTopics([{ name: "foreign", partitions: 4, configs: { "cleanup.policy": "compact" } }]);

    await api.mustCreate("topics", { metadata: { name: "adopt-me" }, spec: { cluster: CLUSTER, partitions: 2, config: { "retention.ms": "60000" } } });
    const adopted = await api.waitForReady("topics", "adopt-me");
    expect(adopted.status?.topicId).toBe(made?.topicId);

    await api.mustCreate("topics", { metadata: { name: "foreign" }, spec: { cluster: CLUSTER, partitions: 2, config: { "retention.ms": "60000" } } });
    const refused = await api.waitForReady("topics", "foreign", "False", "TopicExistsMismatch");
    const message = condition(refused, "Ready")?.message ?? "";
    expect(message).toContain("partitions: the cluster has 4, spec asks 2");
    expect(message).toContain('config cleanup.policy: the cluster has "compact", spec does not set it');
    expect(message).toContain('config retention.ms: not set in the cluster, spec asks "60000"');
    expect(refused.status?.topicId).toBeUndefined();
    // Nothing was changed on the foreign topic.
    expect(await brokerTopic("foreign")).toMatchObject({ partitions: 4, configs: { "cleanup.policy": "compact" } });

    // Deleting the refused Topic must not delete the topic it never owned.
    await api.delete("topics", "foreign");
    await api.waitForGone("topics", "foreign");
    expect(await brokerTopic("foreign")).toBeDefined();
  });

  it("deletes the topic with deletionPolicy Delete and keeps it with Retain", async () => {
    await api.mustCreate("topics", { metadata: { name: "to-delete" }, spec: { cluster: CLUSTER, deletionPolicy: "Delete" } });
    await api.mustCreate("topics", { metadata: { name: "to-keep" }, spec: { cluster: CLUSTER, deletionPolicy: "Retain" } });
    await api.waitForReady("topics", "to-delete");
    const kept = await api.waitForReady("topics", "to-keep");
    await api.delete("topics", "to-delete");
    await api.delete("topics", "to-keep");
    await api.waitForGone("topics", "to-delete");
    await api.waitForGone("topics", "to-keep");
    expect(await brokerTopic("to-delete")).toBeUndefined();
    expect((await brokerTopic("to-keep"))?.topicId).toBe(kept.status?.topicId);
  });

  it("uses spec.topicName for the topic in the cluster", async () => {
    await api.mustCreate("topics", { metadata: { name: "named" }, spec: { cluster: CLUSTER, topicName: "Payments.v1", partitions: 2 } });
    const topic = await api.waitForReady("topics", "named");
    expect((await brokerTopic("Payments.v1"))?.topicId).toBe(topic.status?.topicId);
  });

  it("leaves what the apiserver refuses out, reports what the broker refuses, and keeps reconciling other Topics", async () => {
    // Refused by the CRD (CEL): shrinking partitions, unknown config key, a bad topic name.
    expect((await api.patch("topics", "orders", { spec: { partitions: 1 } })).status).toBe(422);
    expect((await api.create("topics", { metadata: { name: "bad-key" }, spec: { cluster: CLUSTER, config: { "retention.hours": "1" } } })).status).toBe(422);
    expect((await api.create("topics", { metadata: { name: "bad-name" }, spec: { cluster: CLUSTER, topicName: "no spaces" } })).status).toBe(422);

    // Refused by the broker: a value out of range, and a name colliding with an existing one.
    await api.mustCreate("topics", { metadata: { name: "too-small" }, spec: { cluster: CLUSTER, config: { "max.message.bytes": "1" } } });
    const invalid = await api.waitForReady("topics", "too-small", "False", "InvalidConfig");
    expect(condition(invalid, "Ready")?.message).toMatch(/max\.message\.bytes.*fix spec\.config/);
    expect(condition(invalid, "Degraded")?.status).toBe("True");
    expect(invalid.status?.message).toBe(condition(invalid, "Ready")?.message);
    // A refusal is written once and then left alone: no reconcile loop on our own status writes.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const reconcilesBefore = metricSum(await operator.metrics(), "sluice_operator_reconciles_total", /kind="Topic"/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(metricSum(await operator.metrics(), "sluice_operator_reconciles_total", /kind="Topic"/) - reconcilesBefore).toBeLessThanOrEqual(1);
    await admin.createTopics([{ name: "a.b" }]);
    await api.mustCreate("topics", { metadata: { name: "collides" }, spec: { cluster: CLUSTER, topicName: "a_b" } });
    await api.waitForReady("topics", "collides", "False", "InvalidTopicName");

    // Fixing the spec heals it; a new valid Topic is Ready; the operator never restarted.
    await api.mustPatch("topics", "too-small", { spec: { config: { "max.message.bytes": "65536" } } });
    await api.waitForReady("topics", "too-small");
    await api.mustCreate("topics", { metadata: { name: "after-errors" }, spec: { cluster: CLUSTER, partitions: 2 } });
    await api.waitForReady("topics", "after-errors");
    expect(operator.child.exitCode).toBeNull();
    await api.delete("topics", "collides");
    await api.waitForGone("topics", "collides");
  });

  it("honours sluice.io/pause-reconciliation and catches up when it is removed", async () => {
    await api.mustCreate("topics", { metadata: { name: "paused" }, spec: { cluster: CLUSTER, partitions: 1 } });
    await api.waitForReady("topics", "paused");
    await api.mustPatch("topics", "paused", { metadata: { annotations: { "sluice.io/pause-reconciliation": "true" } }, spec: { partitions: 3 } });
    const paused = await api.waitFor("topics", "paused", "Progressing=ReconciliationPaused", (o) => (condition(o, "Progressing")?.reason === "ReconciliationPaused" ? o : undefined));
    expect(condition(paused, "Ready")?.status).toBe("True");
    expect((await brokerTopic("paused"))?.partitions).toBe(1);
    await api.mustPatch("topics", "paused", { metadata: { annotations: { "sluice.io/pause-reconciliation": null } } });
    await api.waitFor("topics", "paused", "3 partitions", (o) => (o?.status?.partitions === 3 && condition(o, "Ready")?.status === "True" ? o : undefined));
    expect((await brokerTopic("paused"))?.partitions).toBe(3);
  });

  it("reports a missing Cluster and lets a Topic go when its Cluster is missing or was deleted", async () => {
    await api.mustCreate("topics", { metadata: { name: "orphan" }, spec: { cluster: "ghost" } });
    const orphan = await api.waitForReady("topics", "orphan", "False", "ClusterNotFound");
    expect(orphan.metadata.finalizers).toContain("sluice.io/topic-finalizer");
    await api.delete("topics", "orphan");
    await api.waitForGone("topics", "orphan", 20_000);

    // A Cluster deleted under a Ready Topic: deleting the Topic afterwards does not hang.
    await api.mustCreate("clusters", { metadata: { name: "short-lived", annotations: { "sluice.io/bootstrap-override": broker.bootstrap } }, spec: { replicas: 1 } });
    await api.mustCreate("topics", { metadata: { name: "outlives" }, spec: { cluster: "short-lived" } });
    await api.waitForReady("topics", "outlives");
    await api.delete("clusters", "short-lived");
    await api.waitForGone("clusters", "short-lived");
    await api.delete("topics", "outlives");
    await api.waitForGone("topics", "outlives", 20_000);
    // Nothing to delete it from: the topic itself is left where it was.
    expect(await brokerTopic("outlives")).toBeDefined();
  });

  it("says ClusterUnreachable while the brokers cannot be reached and recovers with backoff when they can", async () => {
    const port = await freePort();
    await api.mustCreate("clusters", { metadata: { name: "down", annotations: { "sluice.io/bootstrap-override": `127.0.0.1:${port}` } }, spec: { replicas: 1 } });
    await api.mustCreate("topics", { metadata: { name: "waiting" }, spec: { cluster: "down", partitions: 2 } });
    const unreachable = await api.waitForReady("topics", "waiting", "False", "ClusterUnreachable");
    expect(condition(unreachable, "Ready")?.message).toContain(`127.0.0.1:${port}`);
    const spare = await startBrokerProcess({ port });
    spares.push(spare);
    await api.waitForReady("topics", "waiting", "True", undefined, 90_000);
    const [described] = await new Admin({ bootstrap: spare.bootstrap }).describeTopics(["waiting"]);
    expect(described?.partitions.length).toBe(2);
  });
});
