// Proves `--watch-namespaces=a,b` with the real operator process, the test apiserver and a real
// broker process: Clusters and Topics in both watched namespaces are reconciled (those there before
// the operator started and those created after), while a third namespace is left alone through
// several resyncs: its Cluster and Topics get no status, no finalizer and no children, its topics
// are never created in the broker, and no operator log line names it.
import { Admin } from "@sluice/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "../e2e/broker-process.js";
import { pollUntil } from "./control-plane.js";
import { apiRequest } from "./manifests.js";
import { metricSum, SluiceApi, startOperatorProcess, type OperatorProcess } from "./operator-harness.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeconfigPath, kubeConfig } = sharedControlPlane();

const run = Date.now().toString(36);
const letters = ["a", "b", "c"] as const;
type Letter = (typeof letters)[number];
const watched: readonly Letter[] = ["a", "b"];
const apis: Record<Letter, SluiceApi> = {
  a: new SluiceApi(kubeConfig, `op-ns-a-${run}`),
  b: new SluiceApi(kubeConfig, `op-ns-b-${run}`),
  c: new SluiceApi(kubeConfig, `op-ns-c-${run}`),
};
const CLUSTER = "events";
/** The operator's minimum: several resyncs fit in a few seconds of this file. */
const RESYNC_PERIOD_SECONDS = 5;
/** The three namespaces share one broker: topic names carry the namespace's letter. */
const topicName = (letter: Letter, topic: string): string => `${topic}-${letter}-${run}`;
const reconcilesOf = async (kind: string): Promise<number> => metricSum(await operator.metrics(), "sluice_operator_reconciles_total", new RegExp(`kind="${kind}"`));

let broker: BrokerProcess;
let admin: Admin;
let operator: OperatorProcess;

async function brokerTopics(): Promise<string[]> {
  return (await admin.listTopics()).map((t) => t.name);
}

function createTopic(letter: Letter, topic: string): Promise<unknown> {
  return apis[letter].mustCreate("topics", { metadata: { name: topic }, spec: { cluster: CLUSTER, partitions: 2, topicName: topicName(letter, topic) } });
}

beforeAll(async () => {
  broker = await startBrokerProcess();
  admin = new Admin({ bootstrap: broker.bootstrap });
  // The unwatched namespace is filled first: everything in it predates what the operator does reconcile.
  for (const letter of ["c", "a", "b"] as const) {
    await apis[letter].createNamespace();
    await apis[letter].mustCreate("clusters", {
      metadata: { name: CLUSTER, annotations: { "sluice.io/bootstrap-override": broker.bootstrap } },
      spec: { replicas: 1 },
    });
    await createTopic(letter, "orders");
  }
  operator = await startOperatorProcess(kubeconfigPath, [
    `--watch-namespaces=${watched.map((l) => apis[l].namespace).join(",")}`,
    `--resync-period-seconds=${RESYNC_PERIOD_SECONDS}`,
    "--default-broker-image=registry.example/sluice:test",
  ]);
  await operator.waitForLine((l) => l.msg === "controllers running");
});

afterAll(async () => {
  await operator?.stop();
  await admin?.close();
  if (broker !== undefined) {
    await broker.stop();
    await removeDataDir(broker.dataDir);
  }
  // Topics in a and b carry the finalizer, which the stopped operator can no longer remove.
  for (const letter of watched) {
    for (const topic of ["orders", "late"]) await apis[letter].patch("topics", topic, { metadata: { finalizers: null } }).catch(() => undefined);
  }
  for (const letter of letters) await apis[letter].deleteNamespace();
});

describe("--watch-namespaces with two namespaces", () => {
  it("reconciles the Topics and Clusters that were in both watched namespaces at start", async () => {
    for (const letter of watched) {
      const topic = await apis[letter].waitForReady("topics", "orders");
      expect(topic.metadata.finalizers).toContain("sluice.io/topic-finalizer");
      expect(topic.status?.partitions).toBe(2);
      const cluster = await apis[letter].waitFor("clusters", CLUSTER, "reconciled", (o) => (o?.status?.observedGeneration === o?.metadata.generation ? o : undefined));
      expect(cluster.status?.bootstrap).toBe(`${CLUSTER}.${apis[letter].namespace}.svc:9092`);
      const statefulSet = await apiRequest(kubeConfig, "GET", `/apis/apps/v1/namespaces/${apis[letter].namespace}/statefulsets/${CLUSTER}`);
      expect(statefulSet.status).toBe(200);
    }
    const names = await brokerTopics();
    expect(names).toEqual(expect.arrayContaining([topicName("a", "orders"), topicName("b", "orders")]));
  });

  it("reconciles Topics created in a watched namespace while it runs", async () => {
    await createTopic("c", "late");
    for (const letter of watched) await createTopic(letter, "late");
    for (const letter of watched) await apis[letter].waitForReady("topics", "late");
    expect(await brokerTopics()).toEqual(expect.arrayContaining([topicName("a", "late"), topicName("b", "late")]));
  });

  it("leaves the unwatched namespace alone, through several resyncs", async () => {
    // Everything in a and b is settled now; from here only the resync reconciles the four Topics.
    const before = await reconcilesOf("Topic");
    const watchedTopics = watched.length * 2;
    await pollUntil("two resyncs of every watched Topic", async () => ((await reconcilesOf("Topic")) >= before + 2 * watchedTopics ? true : undefined), 4 * RESYNC_PERIOD_SECONDS * 1000);

    for (const topic of ["orders", "late"]) {
      const ignored = await apis.c.get("topics", topic);
      expect(ignored?.status).toBeUndefined();
      expect(ignored?.metadata.finalizers ?? []).toEqual([]);
    }
    expect((await apis.c.get("clusters", CLUSTER))?.status).toBeUndefined();
    const statefulSet = await apiRequest(kubeConfig, "GET", `/apis/apps/v1/namespaces/${apis.c.namespace}/statefulsets/${CLUSTER}`);
    expect(statefulSet.status).toBe(404);
    const names = await brokerTopics();
    expect(names).not.toContain(topicName("c", "orders"));
    expect(names).not.toContain(topicName("c", "late"));
    expect(operator.lines.filter((l) => JSON.stringify(l).includes(apis.c.namespace))).toEqual([]);
  });
});
