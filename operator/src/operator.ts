/**
 * The operator process minus its command line: wires informers, work queues, reconcilers,
 * leader election, metrics and health into one object with `stop()`.
 *
 *   informers (per watched namespace, or all)     → queue keys
 *     Cluster        → its Cluster key, and the keys of its Topics (bootstrap may have changed)
 *     Topic          → its key
 *     StatefulSet    → the key of the Cluster that controls it (owner reference)
 *   every resyncPeriodSeconds                    → every cached Cluster and Topic again
 *   Controller(Topic), Controller(Cluster)       → N workers each
 *
 * With leader election only the Lease holder starts informers and controllers; a standby just
 * serves /healthz and /readyz and campaigns. Losing the Lease calls `onFatal` (main exits at
 * once: in-flight work must not continue once another replica may have started).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { LABEL_MANAGED_BY, MANAGED_BY } from "./cluster/index.js";
import { ClusterReconciler } from "./cluster-reconciler/cluster-reconciler.js";
import type { OperatorConfig } from "./config.js";
import { KubeClient } from "./kube/kube-client.js";
import { keyOf, objectKey, type KubeObject } from "./kube/objects.js";
import { resources, type ResourceType } from "./kube/resources.js";
import { SHUTDOWN_TIMEOUT_MS } from "./limits.js";
import { lifecycleLogger } from "./logger.js";
import { OperatorMetrics, startMetricsServer, type MetricsServer } from "./metrics.js";
import { Controller } from "./runtime/controller.js";
import { KubeEventRecorder } from "./runtime/events.js";
import { ResourceInformer, type InformerEvent } from "./runtime/informer.js";
import { LeaderElector } from "./runtime/leader-election.js";
import { controllerOf } from "./runtime/owner.js";
import { AdminPool } from "./topic/admin-pool.js";
import { clusterReader, TopicReconciler } from "./topic/topic-reconciler.js";
import { OPERATOR_VERSION } from "./version.js";

export interface Operator {
  /** The bound /metrics port (useful with --metrics-port=0). */
  readonly metricsPort: number;
  /** Resolves once this replica reconciles (leader, caches synced, workers running). */
  readonly running: Promise<void>;
  stop(): Promise<void>;
}

export interface OperatorDeps {
  readonly config: OperatorConfig;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Called when the operator cannot go on (the Lease was lost); main exits. */
  readonly onFatal: (reason: string) => void;
}

interface Informers {
  readonly clusters: ResourceInformer<KubeObject>[];
  readonly topics: ResourceInformer<KubeObject>[];
  readonly statefulSets: ResourceInformer<KubeObject>[];
}

function findIn(informers: readonly ResourceInformer<KubeObject>[], namespace: string, name: string): KubeObject | undefined {
  for (const informer of informers) {
    const found = informer.get(namespace, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Whether an informer event can change what a reconcile does: anything but a status-only update
 * (our own status writes would otherwise trigger a second, idle pass for every object). Drift
 * outside the object is caught by the periodic resync.
 */
function specChanged(event: InformerEvent, object: KubeObject, seen: Map<string, string>): boolean {
  const key = keyOf(object);
  if (event === "delete") {
    seen.delete(key);
    return true;
  }
  const m = object.metadata;
  const signature = JSON.stringify([m.uid, m.generation, m.deletionTimestamp, m.finalizers, m.annotations, m.labels]);
  const changed = seen.get(key) !== signature;
  seen.set(key, signature);
  return changed;
}

export async function startOperator(deps: OperatorDeps): Promise<Operator> {
  const { config, kubeConfig, logger } = deps;
  const lifecycle = lifecycleLogger(logger);
  const client = new KubeClient(kubeConfig);
  const metrics = new OperatorMetrics();
  const events = new KubeEventRecorder(client, config.identity, logger);
  const admins = new AdminPool();
  const namespaces: (string | undefined)[] = config.watchNamespaces.length === 0 ? [undefined] : [...config.watchNamespaces];

  let reconciling = false;
  let standby = config.leaderElection !== undefined;
  let stopping = false;
  const ready = (): boolean => !stopping && (reconciling || standby);
  const server: MetricsServer = await startMetricsServer(metrics, { ready }, config.metricsHost, config.metricsPort);
  lifecycle.info(
    {
      version: OPERATOR_VERSION,
      metricsPort: server.port,
      apiserver: client.serverUrl,
      watchNamespaces: config.watchNamespaces.length === 0 ? "all" : config.watchNamespaces,
      leaderElection: config.leaderElection !== undefined,
    },
    "operator started",
  );

  let informers: Informers | undefined;
  let controllers: Controller[] = [];
  let resyncTimer: NodeJS.Timeout | undefined;

  const startControllers = async (): Promise<void> => {
    const allInformers: ResourceInformer<KubeObject>[] = [];
    const byKind: { clusters: ResourceInformer<KubeObject>[]; topics: ResourceInformer<KubeObject>[]; statefulSets: ResourceInformer<KubeObject>[] } = {
      clusters: [],
      topics: [],
      statefulSets: [],
    };
    const current: Informers = byKind;
    const topicController = new Controller({
      reconciler: new TopicReconciler({
        client,
        admins,
        events,
        readCluster: clusterReader((ns, name) => findIn(current.clusters, ns, name), client),
        bootstrapOverrides: config.bootstrapOverrides,
      }),
      workers: config.workers,
      metrics,
      logger,
    });
    const clusterController = new Controller({
      reconciler: new ClusterReconciler({
        client,
        events,
        defaultBrokerImage: config.defaultBrokerImage,
        readStatefulSet: (ns, name) => findIn(current.statefulSets, ns, name),
      }),
      workers: config.workers,
      metrics,
      logger,
    });
    controllers = [topicController, clusterController];
    const seenTopics = new Map<string, string>();
    const seenClusters = new Map<string, string>();

    const make = (resource: ResourceType, namespace: string | undefined, onEvent: (event: InformerEvent, object: KubeObject) => void, labelSelector?: string): ResourceInformer<KubeObject> => {
      const informer = new ResourceInformer<KubeObject>({ kubeConfig, client, resource, namespace, logger, onEvent, ...(labelSelector === undefined ? {} : { labelSelector }) });
      allInformers.push(informer);
      return informer;
    };
    const topicsOfCluster = (cluster: KubeObject): void => {
      const namespace = cluster.metadata.namespace ?? "";
      for (const informer of current.topics) {
        for (const topic of informer.list(namespace)) {
          if ((topic as { spec?: { cluster?: string } }).spec?.cluster === cluster.metadata.name) topicController.enqueue(keyOf(topic));
        }
      }
    };
    for (const namespace of namespaces) {
      byKind.topics.push(
        make(resources.topic, namespace, (event, topic) => {
          if (specChanged(event, topic, seenTopics)) topicController.enqueue(keyOf(topic));
        }),
      );
      byKind.clusters.push(
        make(resources.cluster, namespace, (event, cluster) => {
          if (!specChanged(event, cluster, seenClusters)) return;
          clusterController.enqueue(keyOf(cluster));
          topicsOfCluster(cluster);
        }),
      );
      byKind.statefulSets.push(
        make(
          resources.statefulSet,
          namespace,
          (_e, statefulSet) => {
            const owner = controllerOf(statefulSet, resources.cluster.group, resources.cluster.kind);
            if (owner !== undefined) clusterController.enqueue(objectKey(statefulSet.metadata.namespace ?? "", owner.name));
          },
          `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
        ),
      );
    }
    informers = current;
    // Workers first: events arriving during the initial lists are queued, not lost; reconcilers
    // read what they need from the apiserver, and the cache lookups they make fall back to it.
    for (const informer of allInformers) void informer.start();
    await Promise.all(allInformers.map((i) => i.synced));
    if (stopping) return;
    for (const controller of controllers) controller.start();
    resyncTimer = setInterval(() => {
      for (const informer of current.clusters) for (const c of informer.list()) clusterController.enqueue(keyOf(c));
      for (const informer of current.topics) for (const t of informer.list()) topicController.enqueue(keyOf(t));
    }, config.resyncPeriodSeconds * 1000);
    resyncTimer.unref();
    reconciling = true;
    standby = false;
    lifecycle.info({ workers: config.workers }, "controllers running");
  };

  let elector: LeaderElector | undefined;
  let running: Promise<void>;
  if (config.leaderElection === undefined) {
    metrics.leader.set(1);
    running = startControllers();
  } else {
    const le = config.leaderElection;
    elector = new LeaderElector(client, { ...le, identity: config.identity }, lifecycle);
    metrics.leader.set(0);
    const campaign = elector;
    running = campaign
      .acquire(() => {
        metrics.leader.set(0);
        reconciling = false;
        deps.onFatal("lost the leader Lease");
      })
      .then(async (acquired) => {
        if (!acquired || stopping) return;
        metrics.leader.set(1);
        await startControllers();
      });
  }
  running.catch((error: unknown) => {
    logger.error({ err: error instanceof Error ? error.message : String(error) }, "could not start the controllers");
    deps.onFatal("controllers failed to start");
  });

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (resyncTimer !== undefined) clearInterval(resyncTimer);
    const all = informers === undefined ? [] : [...informers.clusters, ...informers.topics, ...informers.statefulSets];
    await Promise.all(all.map((i) => i.stop()));
    // In-flight reconciles finish (they are short); a wedged one does not hold the exit forever.
    await Promise.race([
      Promise.all(controllers.map((c) => c.stop())),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_TIMEOUT_MS).unref()),
    ]);
    // Only now release the Lease: nobody else may start while our reconciles could still write.
    await elector?.stop();
    metrics.leader.set(0);
    await admins.close();
    await server.close();
    client.close();
    lifecycle.info("operator stopped");
  };

  return { metricsPort: server.port, running, stop };
}
