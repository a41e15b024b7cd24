/**
 * The Cluster reconciler: applies the objects a Cluster owns (built by the pure
 * `buildClusterObjects` of operator/src/cluster/) with server-side apply, removes optional
 * children the spec no longer wants, and writes status from the broker StatefulSet
 * (`clusterStatusFrom`: readyBrokers, bootstrap, Ready/Progressing/Degraded).
 *
 * Every child carries the Cluster as its controller owner reference, so deleting a Cluster
 * deletes them by garbage collection; nothing here runs on deletion.
 *
 * A spec the builder refuses (ClusterSpecError) or the apiserver refuses (4xx) is reported in
 * status (Ready=False, Degraded=True with the reason) and waits for a spec change; an apiserver
 * that cannot be reached (5xx, timeouts) is retried with backoff.
 *
 * A ServiceMonitor is applied only when the spec asks for it and monitoring.coreos.com/v1 is
 * served (API discovery, no watch on CRDs: that would need cluster-wide read access to every
 * CRD). A Cluster that asks for one the apiserver does not serve yet is requeued every
 * SERVICE_MONITOR_RECHECK_MS, and "not served" is only trusted for
 * SERVICE_MONITOR_NOT_SERVED_TTL_MS, so installing the Prometheus Operator is picked up within
 * a minute, or at once by a change to the Cluster. Uninstalling it makes the ServiceMonitor apply
 * answer 404: the pass is retried after discovering again, not reported as ApplyFailed.
 */
import type { V1PersistentVolumeClaim, V1StatefulSet } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  asCluster,
  buildClusterObjects,
  clusterStatusFrom,
  ClusterSpecError,
  type Cluster,
  type ClusterObjects,
  type ClusterStatus,
  type ConditionInput,
} from "../cluster/index.js";
import { describeError, isNotFound, KubeApiError } from "../errors.js";
import type { KubeClient } from "../kube/kube-client.js";
import { splitKey, type KubeObject, type ObjectKey } from "../kube/objects.js";
import { resourceForKind, resources, type ResourceType } from "../kube/resources.js";
import { CLUSTER_PROGRESS_REQUEUE_MS, SERVICE_MONITOR_NOT_SERVED_TTL_MS, SERVICE_MONITOR_RECHECK_MS, SERVICE_MONITOR_SERVED_TTL_MS } from "../limits.js";
import { isPaused } from "../runtime/annotations.js";
import { findCondition, jsonEqual, setConditions } from "../runtime/conditions.js";
import type { ReconcileResult, Reconciler } from "../runtime/controller.js";
import type { EventRecorder } from "../runtime/events.js";
import { isOwnedBy } from "../runtime/owner.js";
import type { PartitionRebalancer } from "./rebalance.js";

export interface ClusterReconcilerDeps {
  readonly client: KubeClient;
  readonly events: EventRecorder;
  readonly defaultBrokerImage: string;
  /** The live StatefulSet (informer cache), or undefined. */
  readonly readStatefulSet: (namespace: string, name: string) => KubeObject | undefined;
  /** Absent today (see rebalance.ts): scaling applies the new replica count directly. */
  readonly rebalancer?: PartitionRebalancer;
  readonly now?: () => Date;
}

interface StatefulSetObject extends KubeObject {
  readonly spec?: { readonly replicas?: number; readonly volumeClaimTemplates?: V1PersistentVolumeClaim[] };
}

export class ClusterReconciler implements Reconciler {
  readonly kind = "Cluster";
  private readonly now: () => Date;
  private serviceMonitorServed: { value: boolean; checkedMs: number } | undefined;

  constructor(private readonly deps: ClusterReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: ObjectKey, logger: Logger): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const raw = await this.deps.client.get(resources.cluster, namespace, name);
    if (raw === undefined) return {};
    const cluster = asCluster(raw);
    // Children go by garbage collection (owner references); nothing to do while deleting.
    if (cluster.metadata.deletionTimestamp !== undefined) return {};

    if (isPaused(cluster)) {
      const paused: ConditionInput = { type: "Progressing", status: "False", reason: "ReconciliationPaused", message: 'annotation sluice.io/pause-reconciliation is "true": the operator leaves this Cluster alone' };
      const wanted = (cluster.status?.conditions ?? []).map((c): ConditionInput => (c.type === "Progressing" ? paused : c));
      if (!wanted.includes(paused)) wanted.push(paused);
      const conditions = setConditions(cluster.status?.conditions, wanted, cluster.metadata.generation, this.now());
      await this.writeStatus(cluster, { ...cluster.status, conditions });
      return {};
    }

    const live = this.deps.readStatefulSet(namespace, name) as StatefulSetObject | undefined;
    let objects: ClusterObjects;
    try {
      objects = buildClusterObjects(cluster, {
        defaultBrokerImage: this.deps.defaultBrokerImage,
        serviceMonitorAvailable: await this.serviceMonitorAvailable(),
        ...(live?.spec?.volumeClaimTemplates === undefined ? {} : { currentVolumeClaimTemplates: live.spec.volumeClaimTemplates }),
      });
    } catch (error) {
      if (!(error instanceof ClusterSpecError)) throw error;
      return this.reportProblem(cluster, live, error.reason, error.detail, logger);
    }
    if (cluster.metadata.generation !== cluster.status?.observedGeneration) {
      for (const warning of objects.warnings) this.deps.events.record(cluster, "Warning", "SpecNotHonoured", "Apply", warning);
    }

    const liveReplicas = live?.spec?.replicas;
    const wantedReplicas = objects.spec.replicas;
    let statefulSetToApply: KubeObject = objects.statefulSet as unknown as KubeObject;
    let waitingMessage: string | undefined;
    let requeueAfterMs: number | undefined;
    if (this.deps.rebalancer !== undefined && liveReplicas !== undefined && liveReplicas !== wantedReplicas) {
      const decision = await this.deps.rebalancer.beforeScale(cluster, liveReplicas, wantedReplicas);
      if (!decision.proceed) {
        const held = objects.statefulSet;
        statefulSetToApply = { ...held, spec: { ...held.spec, replicas: liveReplicas } } as unknown as KubeObject;
        waitingMessage = decision.message;
        requeueAfterMs = decision.requeueAfterMs ?? CLUSTER_PROGRESS_REQUEUE_MS;
      }
    }

    let appliedStatefulSet: KubeObject | undefined;
    try {
      for (const child of objects.desired) {
        const object = (child.kind === "StatefulSet" ? statefulSetToApply : child) as unknown as KubeObject;
        const resource = resourceForKind(object.apiVersion, object.kind);
        if (resource === undefined) throw new Error(`no resource type for ${object.apiVersion} ${object.kind}`);
        const applied = await this.applyChild(resource, object);
        if (object.kind === "StatefulSet") appliedStatefulSet = applied;
      }
      for (const unwanted of objects.unwanted) {
        const resource = resourceForKind(unwanted.apiVersion, unwanted.kind);
        if (resource === undefined) continue;
        const existing = await this.deps.client.get(resource, unwanted.namespace, unwanted.name);
        if (existing !== undefined && isOwnedBy(existing, cluster)) {
          await this.deps.client.delete(resource, unwanted.namespace, unwanted.name, existing.metadata.uid);
          logger.info({ child: `${unwanted.kind}/${unwanted.name}` }, "removed a child the spec no longer wants");
        }
      }
    } catch (error) {
      if (error instanceof KubeApiError && !error.retriable) {
        return this.reportProblem(cluster, live, "ApplyFailed", `the apiserver refused a child object: ${error.message}`, logger);
      }
      throw error;
    }

    const statefulSet = (appliedStatefulSet ?? live) as unknown as V1StatefulSet | undefined;
    let status = clusterStatusFrom(cluster, statefulSet, { now: this.now() });
    if (waitingMessage !== undefined) {
      const conditions = setConditions(
        status.conditions,
        [...(status.conditions ?? []).map((c) => (c.type === "Progressing" ? { type: c.type, status: "True" as const, reason: "Rebalancing", message: waitingMessage ?? "" } : c))],
        cluster.metadata.generation,
        this.now(),
      );
      status = { ...status, conditions };
    } else if (this.deps.rebalancer !== undefined && liveReplicas !== undefined && liveReplicas !== wantedReplicas && findCondition(status.conditions, "Ready")?.status === "True") {
      await this.deps.rebalancer.afterScale(cluster, wantedReplicas);
    }
    const becameReady = findCondition(status.conditions, "Ready")?.status === "True" && findCondition(cluster.status?.conditions, "Ready")?.status !== "True";
    await this.writeStatus(cluster, status);
    if (becameReady) {
      logger.info({ readyBrokers: status.readyBrokers }, "Cluster ready");
      this.deps.events.record(cluster, "Normal", "ClusterReady", "Reconcile", `${status.readyBrokers ?? 0} brokers ready; bootstrap ${status.bootstrap ?? ""}`);
    }
    const settled = findCondition(status.conditions, "Ready")?.status === "True" && findCondition(status.conditions, "Progressing")?.status !== "True";
    let nextMs = requeueAfterMs ?? (settled ? undefined : CLUSTER_PROGRESS_REQUEUE_MS);
    // Waiting for the Prometheus Operator: nothing else would wake a settled Cluster before the resync.
    if (wantsUnservedServiceMonitor(objects)) nextMs = Math.min(nextMs ?? SERVICE_MONITOR_RECHECK_MS, SERVICE_MONITOR_RECHECK_MS);
    return nextMs === undefined ? {} : { requeueAfterMs: nextMs };
  }

  /**
   * Server-side apply of one child. A ServiceMonitor answered with 404 means the kind stopped
   * being served (the Prometheus Operator was uninstalled) since discovery said it was: forget
   * that answer and fail retriably, so the retry re-discovers instead of reporting ApplyFailed.
   */
  private async applyChild(resource: ResourceType, object: KubeObject): Promise<KubeObject> {
    try {
      return await this.deps.client.apply(resource, object);
    } catch (error) {
      if (resource === resources.serviceMonitor && isNotFound(error)) {
        this.serviceMonitorServed = undefined;
        throw new Error("monitoring.coreos.com/v1 ServiceMonitor is no longer served; discovering again", { cause: error });
      }
      throw error;
    }
  }

  private async reportProblem(cluster: Cluster, live: KubeObject | undefined, reason: string, message: string, logger: Logger): Promise<ReconcileResult> {
    const status = clusterStatusFrom(cluster, live as unknown as V1StatefulSet | undefined, { now: this.now(), problem: { reason, message } });
    if (findCondition(cluster.status?.conditions, "Degraded")?.reason !== reason) {
      this.deps.events.record(cluster, "Warning", reason, "Apply", message);
    }
    logger.warn({ reason, message }, "Cluster cannot be applied; waiting for a spec change");
    await this.writeStatus(cluster, status);
    return {};
  }

  private async writeStatus(cluster: Cluster, status: ClusterStatus): Promise<void> {
    if (jsonEqual(status, cluster.status ?? {})) return;
    await this.deps.client.mergePatch(resources.cluster, cluster.metadata.namespace, cluster.metadata.name, { status }, "status");
  }

  private async serviceMonitorAvailable(): Promise<boolean> {
    const nowMs = this.now().getTime();
    const cached = this.serviceMonitorServed;
    if (cached !== undefined && nowMs - cached.checkedMs < (cached.value ? SERVICE_MONITOR_SERVED_TTL_MS : SERVICE_MONITOR_NOT_SERVED_TTL_MS)) return cached.value;
    let value = false;
    try {
      const list = await this.deps.client.discover("monitoring.coreos.com/v1");
      value = list?.resources.some((r) => r.name === resources.serviceMonitor.plural) ?? false;
    } catch (error) {
      // Unknown: keep the last answer (or none) rather than deleting a ServiceMonitor on a blip.
      if (this.serviceMonitorServed !== undefined) return this.serviceMonitorServed.value;
      throw new Error(`API discovery of monitoring.coreos.com/v1 failed: ${describeError(error)}`, { cause: error });
    }
    this.serviceMonitorServed = { value, checkedMs: nowMs };
    return value;
  }
}

/** The spec asks for a ServiceMonitor but the apiserver does not serve the kind (yet). */
function wantsUnservedServiceMonitor(objects: ClusterObjects): boolean {
  return objects.spec.metrics.enabled && objects.spec.metrics.serviceMonitor && objects.serviceMonitor === undefined;
}
