/**
 * Operator benchmark: how long from `kubectl apply` of a Topic to its status saying Ready, with
 * the real operator process, a real kube-apiserver (test/k8s/control-plane.ts) and a real broker.
 *
 *   1. 50 Topics applied one at a time: apply → Ready=True seen on a watch → next
 *      (topic_ready_p50_ms, topic_ready_p99_ms).
 *   2. 200 new Topics applied at once: time until every one is Ready (reconcile_200_topics_ms).
 *   3. The operator's resident memory afterwards (operator_rss_mb, /proc/<pid>/status VmRSS).
 * Baseline in the same run, without the operator: a ConfigMap created and then patched (two
 * writes, like a Topic's apply and its status write), seen on a watch (baseline_apply_p50_ms);
 * `ready_vs_baseline_ratio` is topic_ready_p50_ms / baseline_apply_p50_ms.
 * Floors (the issue's): p50 ≤ 1000 ms, 200 topics ≤ 30 s; `floors_met` is 1 when both hold.
 *
 * Options: --sequential 50, --burst 200, --workers 4.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import { repoRoot, startControlPlane } from "../test/k8s/control-plane.js";
import { apiRequest, applyManifestDirectory } from "../test/k8s/manifests.js";
import { OPERATOR_DIST_MAIN, SluiceApi, startOperatorProcess } from "../test/k8s/operator-harness.js";
import { numberOption, percentile, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { startBenchBroker } from "./support/broker-fixture.js";

const TOPIC_READY_P50_FLOOR_MS = 1_000;
const BURST_FLOOR_MS = 30_000;
/** Longest wait for one Topic (or the burst) before the run is declared failed. */
const WAIT_TIMEOUT_MS = 120_000;

interface WatchedObject {
  metadata?: { name?: string; generation?: number };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
}

/** Watches a collection and resolves waiters when an object they wait for satisfies their test. */
class Waiters {
  private readonly waiting = new Map<string, { test: (o: WatchedObject) => boolean; resolve: (ms: number) => void }>();
  private abort: AbortController | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly path: string,
  ) {}

  async start(): Promise<void> {
    this.abort = await new Watch(this.kubeConfig).watch(
      this.path,
      {},
      (_type: string, object: WatchedObject) => {
        const name = object.metadata?.name ?? "";
        const waiter = this.waiting.get(name);
        if (waiter !== undefined && waiter.test(object)) {
          this.waiting.delete(name);
          waiter.resolve(performance.now());
        }
      },
      () => undefined,
    );
  }

  /** Resolves with the performance.now() at which `name` first satisfied `test`. */
  waitFor(name: string, test: (o: WatchedObject) => boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not seen in ${WAIT_TIMEOUT_MS} ms`)), WAIT_TIMEOUT_MS);
      this.waiting.set(name, {
        test,
        resolve: (ms) => {
          clearTimeout(timer);
          resolve(ms);
        },
      });
    });
  }

  stop(): void {
    this.abort?.abort();
  }
}

const isReady = (o: WatchedObject): boolean =>
  o.status?.observedGeneration === o.metadata?.generation && (o.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const sequential = numberOption(options, "sequential", 50);
  const burst = numberOption(options, "burst", 200);
  const workers = numberOption(options, "workers", 4);
  // The built operator is what the image runs (and what operator_rss_mb should describe); from
  // source, tsx's compiler adds ~100 MB. `npm run build` makes the dist.
  const entry = existsSync(OPERATOR_DIST_MAIN) ? "dist" : "source";
  const controlPlane = await startControlPlane({ nodeCount: 0 });
  const broker = await startBenchBroker();
  const cleanups: (() => Promise<void>)[] = [() => broker.stop(), () => controlPlane.stop()];
  try {
    const kubeConfig = controlPlane.kubeConfig;
    await applyManifestDirectory(kubeConfig, join(repoRoot, "crds"));
    const namespace = "bench-operator";
    const api = new SluiceApi(kubeConfig, namespace);
    await api.createNamespace();

    // Baseline: ConfigMap create + patch, seen on a watch, no operator involved.
    const configMaps = new Waiters(kubeConfig, `/api/v1/namespaces/${namespace}/configmaps`);
    await configMaps.start();
    const baseline: number[] = [];
    for (let i = 0; i < sequential; i++) {
      const name = `baseline-${i}`;
      const seen = configMaps.waitFor(name, (o) => (o as { data?: Record<string, string> }).data?.["state"] === "done");
      const startedMs = performance.now();
      await apiRequest(kubeConfig, "POST", `/api/v1/namespaces/${namespace}/configmaps`, { contentType: "application/json", text: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { state: "new" } }) });
      await apiRequest(kubeConfig, "PATCH", `/api/v1/namespaces/${namespace}/configmaps/${name}`, { contentType: "application/merge-patch+json", text: JSON.stringify({ data: { state: "done" } }) });
      baseline.push((await seen) - startedMs);
    }
    configMaps.stop();

    await api.mustCreate("clusters", { metadata: { name: "bench", annotations: { "sluice.io/bootstrap-override": broker.bootstrap } }, spec: { replicas: 1 } });
    const operator = await startOperatorProcess(controlPlane.kubeconfigPath, [`--watch-namespaces=${namespace}`, `--workers=${workers}`, "--log-level=warn"], {}, { entry });
    cleanups.unshift(async () => {
      await operator.stop();
    });
    await operator.waitForLine((l) => l.msg === "controllers running" || l.level === "fatal");
    const topics = new Waiters(kubeConfig, `/apis/sluice.io/v1alpha1/namespaces/${namespace}/topics`);
    await topics.start();

    const readyMs: number[] = [];
    for (let i = 0; i < sequential; i++) {
      const name = `seq-${i}`;
      const ready = topics.waitFor(name, isReady);
      const startedMs = performance.now();
      await api.mustCreate("topics", { metadata: { name }, spec: { cluster: "bench", partitions: 3, config: { "retention.ms": "3600000" } } });
      readyMs.push((await ready) - startedMs);
    }

    const names = Array.from({ length: burst }, (_, i) => `burst-${i}`);
    const allReady = Promise.all(names.map((name) => topics.waitFor(name, isReady)));
    const burstStartedMs = performance.now();
    await Promise.all(names.map((name) => api.mustCreate("topics", { metadata: { name }, spec: { cluster: "bench", partitions: 1 } })));
    const lastReadyMs = Math.max(...(await allReady));
    const burstMs = lastReadyMs - burstStartedMs;
    topics.stop();
    const pid = operator.child.pid;
    const rss = pid === undefined ? Number.NaN : rssMb(pid);

    const sortedReady = [...readyMs].sort((a, b) => a - b);
    const sortedBaseline = [...baseline].sort((a, b) => a - b);
    const p50 = percentile(sortedReady, 50);
    const p99 = percentile(sortedReady, 99);
    const baselineP50 = percentile(sortedBaseline, 50);
    const floorsMet = p50 <= TOPIC_READY_P50_FLOOR_MS && burstMs <= BURST_FLOOR_MS;
    printTable(`operator: apply → Ready (${sequential} one at a time, then ${burst} at once; ${workers} workers)`, [
      ["topic_ready_p50_ms", p50],
      ["topic_ready_p99_ms", p99],
      ["reconcile_200_topics_ms", burstMs],
      ["operator_rss_mb", rss],
      ["baseline_apply_p50_ms (ConfigMap create+patch → watch)", baselineP50],
      ["ready_vs_baseline_ratio", p50 / baselineP50],
      ["floors (p50 ≤ 1000 ms, burst ≤ 30 s)", floorsMet ? "met" : "NOT met"],
    ]);
    return {
      config: { sequential, burst, workers, brokers: 1, apiserver: controlPlane.version, operator_entry: entry },
      metrics: {
        topic_ready_p50_ms: p50,
        topic_ready_p99_ms: p99,
        reconcile_200_topics_ms: burstMs,
        operator_rss_mb: rss,
        baseline_apply_p50_ms: baselineP50,
        ready_vs_baseline_ratio: p50 / baselineP50,
        floors_met: floorsMet ? 1 : 0,
      },
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
