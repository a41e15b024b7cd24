/**
 * The Topic reconciler: makes a topic in a Sluice cluster match its Topic resource through the
 * cluster's Admin API, and records what it found in the Topic's status.
 *
 * One pass (level-triggered; every step is safe to repeat):
 *   1. Read the Topic fresh from the apiserver (not the informer cache: ownership below depends
 *      on the latest status).
 *   2. Being deleted → carry out spec.deletionPolicy, then remove the finalizer (finalize()).
 *   3. Paused (sluice.io/pause-reconciliation: "true") → only say so in status.
 *   4. Make sure the finalizer sluice.io/topic-finalizer is on.
 *   5. Find the Cluster (same namespace) and its bootstrap address (bootstrap.ts).
 *   6. Describe the topic, plan (topic-plan.ts), act: create / add partitions / alter config, or
 *      report a mismatch or conflict. A create is validated by the broker first (validateOnly),
 *      then status says Progressing=CreatingTopic, then the topic is created: an operator
 *      restarted between "created" and "status written" claims the topic as its own instead of
 *      calling it foreign.
 *   7. Write status (conditions, observedGeneration, topicId, partitions, message) only if it
 *      changed.
 *
 * Broker failures become status (broker-errors.ts); retriable ones are also thrown so the work
 * queue retries with backoff. Nothing here can stop other Topics from reconciling. A pass that
 * finds nothing new writes nothing, so the watch event of our own status write ends the loop.
 */
import type { Admin } from "@sluice/client";
import type { Logger } from "pino";
import { SluiceError } from "@sluice/protocol";
import { asCluster, asTopic, withTopicDefaults, type Cluster, type ConditionInput, type ResolvedTopicSpec, type Topic, type TopicStatus } from "../cluster/index.js";
import type { BootstrapOverride } from "../config.js";
import { describeError } from "../errors.js";
import type { KubeClient } from "../kube/kube-client.js";
import { splitKey, type KubeObject, type ObjectKey } from "../kube/objects.js";
import { resources } from "../kube/resources.js";
import { CLUSTER_MISSING_REQUEUE_MS } from "../limits.js";
import { isPaused, TOPIC_FINALIZER } from "../runtime/annotations.js";
import { findCondition, jsonEqual, setConditions } from "../runtime/conditions.js";
import type { ReconcileResult, Reconciler } from "../runtime/controller.js";
import type { EventRecorder } from "../runtime/events.js";
import type { AdminPool } from "./admin-pool.js";
import { BootstrapOverrideError, resolveBootstrap } from "./bootstrap.js";
import { classifyBrokerError } from "./broker-errors.js";
import { isManaged, planTopic, type ObservedTopic, type Ownership } from "./topic-plan.js";

export interface TopicReconcilerDeps {
  readonly client: KubeClient;
  readonly admins: AdminPool;
  readonly events: EventRecorder;
  /** The Cluster (informer cache first, then the apiserver), or undefined. */
  readonly readCluster: (namespace: string, name: string) => Promise<Cluster | undefined>;
  readonly bootstrapOverrides: readonly BootstrapOverride[];
  readonly now?: () => Date;
}

/** Reason of the Progressing condition while a create is under way (see step 6). */
export const CREATING_REASON = "CreatingTopic";

const ready = (message = ""): ConditionInput[] => [
  { type: "Ready", status: "True", reason: "TopicReady", message },
  { type: "Progressing", status: "False", reason: "Reconciled", message: "" },
  { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
];

const failed = (reason: string, message: string): ConditionInput[] => [
  { type: "Ready", status: "False", reason, message },
  { type: "Progressing", status: "False", reason, message: "blocked until the problem is fixed" },
  { type: "Degraded", status: "True", reason, message },
];

/** The cluster's view of a topic, or undefined when it has none of that name. */
async function describe(admin: Admin, name: string): Promise<ObservedTopic | undefined> {
  try {
    const [topic] = await admin.describeTopics([name]);
    if (topic === undefined) return undefined;
    return { topicId: topic.topicId, partitions: topic.partitions.length, replicationFactor: topic.replicationFactor, config: topic.configs };
  } catch (error) {
    if (error instanceof SluiceError && error.errorName === "UNKNOWN_TOPIC_OR_PARTITION") return undefined;
    throw error;
  }
}

function ownershipOf(topic: Topic): Ownership {
  const progressing = findCondition(topic.status?.conditions, "Progressing");
  return {
    recordedTopicId: topic.status?.topicId === undefined || topic.status.topicId === "" ? undefined : topic.status.topicId,
    creationUnderWay: progressing?.status === "True" && progressing.reason === CREATING_REASON,
  };
}

export class TopicReconciler implements Reconciler {
  readonly kind = "Topic";
  private readonly now: () => Date;

  constructor(private readonly deps: TopicReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: ObjectKey, logger: Logger): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const raw = await this.deps.client.get(resources.topic, namespace, name);
    if (raw === undefined) return {};
    let topic = asTopic(raw);
    const spec = withTopicDefaults(topic);
    if (topic.metadata.deletionTimestamp !== undefined) return this.finalize(topic, spec, logger);

    if (isPaused(topic)) {
      await this.writeStatus(topic, {
        conditions: [{ type: "Progressing", status: "False", reason: "ReconciliationPaused", message: "annotation sluice.io/pause-reconciliation is \"true\": the operator leaves this topic alone" }],
        keepOtherConditions: true,
      });
      return {};
    }

    if (!(topic.metadata.finalizers ?? []).includes(TOPIC_FINALIZER)) {
      topic = asTopic(
        await this.deps.client.mergePatch(resources.topic, namespace, name, {
          metadata: { finalizers: [...(topic.metadata.finalizers ?? []), TOPIC_FINALIZER], resourceVersion: topic.metadata.resourceVersion },
        }),
      );
    }

    const cluster = await this.deps.readCluster(namespace, spec.cluster);
    if (cluster === undefined || cluster.metadata.deletionTimestamp !== undefined) {
      await this.writeStatus(topic, { conditions: failed("ClusterNotFound", `no Cluster "${spec.cluster}" in namespace ${namespace}; create it, or fix spec.cluster (immutable: a new Topic)`) });
      return { requeueAfterMs: CLUSTER_MISSING_REQUEUE_MS };
    }
    let bootstrap: string;
    try {
      bootstrap = resolveBootstrap(cluster, this.deps.bootstrapOverrides);
    } catch (error) {
      if (!(error instanceof BootstrapOverrideError)) throw error;
      await this.writeStatus(topic, { conditions: failed(error.reason, error.message) });
      return {};
    }

    const admin = this.deps.admins.get(bootstrap);
    try {
      return await this.converge(topic, spec, admin, logger);
    } catch (error) {
      const failure = classifyBrokerError(error, bootstrap);
      const previous = findCondition(topic.status?.conditions, "Ready");
      await this.writeStatus(topic, { conditions: failed(failure.reason, failure.message) });
      if (previous?.reason !== failure.reason) this.deps.events.record(topic, "Warning", failure.reason, "Reconcile", failure.message);
      if (failure.retriable) throw error;
      logger.warn({ reason: failure.reason, err: describeError(error) }, "the cluster refused the topic; waiting for a spec change");
      return {};
    }
  }

  private async converge(topic: Topic, spec: ResolvedTopicSpec, admin: Admin, logger: Logger): Promise<ReconcileResult> {
    const topicName = spec.topicName;
    const observed = await describe(admin, topicName);
    const plan = planTopic(spec, observed, ownershipOf(topic));
    const log = logger.child({ topic: topicName });
    switch (plan.action) {
      case "create": {
        // Validate first: a topic the broker refuses must not flip status to Creating and back
        // on every pass (each status write is a watch event, which would loop).
        const wanted = [{ name: topicName, partitions: spec.partitions, replicationFactor: spec.replicationFactor, configs: spec.config }];
        await admin.createTopics(wanted, { validateOnly: true });
        await this.writeStatus(topic, {
          conditions: [
            { type: "Ready", status: "False", reason: "Creating", message: `creating topic ${topicName}` },
            { type: "Progressing", status: "True", reason: CREATING_REASON, message: `creating topic ${topicName}` },
            { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
          ],
        });
        const [created] = await admin.createTopics(wanted);
        if (created === undefined) throw new Error(`createTopics returned no result for ${topicName}`);
        log.info({ topicId: created.topicId, partitions: created.partitions }, "topic created");
        this.deps.events.record(topic, "Normal", "TopicCreated", "Create", `created topic ${topicName} (${created.partitions} partitions, replication factor ${created.replicationFactor})`);
        await this.writeStatus(topic, { conditions: ready(), topicId: created.topicId, partitions: created.partitions });
        return {};
      }
      case "mismatch": {
        const message = `a topic named ${topicName} already exists in the cluster and differs from this Topic, so it was not adopted: ${plan.differences.join("; ")}. Make the spec match it, or delete the topic from the cluster`;
        if (findCondition(topic.status?.conditions, "Ready")?.reason !== "TopicExistsMismatch") {
          this.deps.events.record(topic, "Warning", "TopicExistsMismatch", "Adopt", message);
        }
        log.warn({ differences: plan.differences }, "existing topic differs; not adopted");
        await this.writeStatus(topic, { conditions: failed("TopicExistsMismatch", message), topicId: null, partitions: observed?.partitions ?? null });
        return {};
      }
      case "conflict": {
        await this.writeStatus(topic, { conditions: failed(plan.reason, plan.message), topicId: observed?.topicId ?? null, partitions: observed?.partitions ?? null });
        return {};
      }
      case "update": {
        if (observed === undefined) throw new Error("an update plan needs an observed topic");
        let partitions = observed.partitions;
        if (plan.adopted) {
          log.info({ topicId: observed.topicId }, "existing topic matches; adopted");
          this.deps.events.record(topic, "Normal", "TopicAdopted", "Adopt", `adopted the existing topic ${topicName} (it matches the spec)`);
        }
        // No "Updating" status first: both changes are quick, and a refused change then writes
        // one failure status instead of flipping between two on every pass.
        if (plan.growPartitionsTo !== undefined) {
          await admin.createPartitions([{ topic: topicName, count: plan.growPartitionsTo }]);
          log.info({ from: partitions, to: plan.growPartitionsTo }, "partitions added");
          this.deps.events.record(topic, "Normal", "PartitionsAdded", "Update", `topic ${topicName}: partitions ${partitions} → ${plan.growPartitionsTo}`);
          partitions = plan.growPartitionsTo;
        }
        const { set, delete: removed } = plan.config;
        if (Object.keys(set).length > 0 || removed.length > 0) {
          await admin.alterConfigs([{ topic: topicName, set, delete: removed }]);
          const parts = [...Object.entries(set).map(([k, v]) => `${k}=${v}`), ...removed.map((k) => `${k} removed`)];
          log.info({ set, delete: removed }, "topic config changed");
          this.deps.events.record(topic, "Normal", "ConfigChanged", "Update", `topic ${topicName}: ${parts.join(", ")}`);
        }
        await this.writeStatus(topic, { conditions: ready(), topicId: observed.topicId, partitions });
        return {};
      }
    }
  }

  /** The Topic is being deleted: carry out its deletionPolicy, then let it go. */
  private async finalize(topic: Topic, spec: ResolvedTopicSpec, logger: Logger): Promise<ReconcileResult> {
    if (!(topic.metadata.finalizers ?? []).includes(TOPIC_FINALIZER)) return {};
    const namespace = topic.metadata.namespace ?? "";
    const log = logger.child({ topic: spec.topicName, deletionPolicy: spec.deletionPolicy });
    if (spec.deletionPolicy === "Retain") {
      this.deps.events.record(topic, "Normal", "TopicRetained", "Delete", `deletionPolicy Retain: topic ${spec.topicName} stays in the cluster`);
      log.info("Topic deleted; topic retained in the cluster");
    } else if (isPaused(topic)) {
      this.deps.events.record(topic, "Warning", "ReconciliationPaused", "Delete", `reconciliation is paused: topic ${spec.topicName} was left in the cluster`);
      log.warn("Topic deleted while paused; topic left in the cluster");
    } else {
      const cluster = await this.deps.readCluster(namespace, spec.cluster);
      if (cluster === undefined || cluster.metadata.deletionTimestamp !== undefined) {
        this.deps.events.record(topic, "Warning", "ClusterNotFound", "Delete", `Cluster ${spec.cluster} is gone; nothing to delete topic ${spec.topicName} from`);
        log.warn({ cluster: spec.cluster }, "Cluster gone; releasing the Topic without deleting the topic");
      } else {
        const bootstrap = resolveBootstrap(cluster, this.deps.bootstrapOverrides);
        const admin = this.deps.admins.get(bootstrap);
        try {
          const observed = await describe(admin, spec.topicName);
          if (observed !== undefined && isManaged(observed, ownershipOf(topic))) {
            await admin.deleteTopics([spec.topicName]);
            log.info({ topicId: observed.topicId }, "topic deleted");
            this.deps.events.record(topic, "Normal", "TopicDeleted", "Delete", `deleted topic ${spec.topicName} from the cluster`);
          } else if (observed !== undefined) {
            log.info({ topicId: observed.topicId }, "the topic in the cluster is not this Topic's (never created or adopted by it); left as is");
          }
        } catch (error) {
          if (!(error instanceof SluiceError && error.errorName === "UNKNOWN_TOPIC_OR_PARTITION")) {
            const failure = classifyBrokerError(error, bootstrap);
            await this.writeStatus(topic, { conditions: failed(failure.reason, `cannot delete topic ${spec.topicName}: ${failure.message}`) });
            throw error;
          }
        }
      }
    }
    await this.deps.client.mergePatch(resources.topic, namespace, topic.metadata.name, {
      metadata: { finalizers: (topic.metadata.finalizers ?? []).filter((f) => f !== TOPIC_FINALIZER), resourceVersion: topic.metadata.resourceVersion },
    });
    return {};
  }

  /**
   * Writes status through the status subresource when it differs from the current one. `null`
   * for topicId/partitions removes them; undefined keeps what is there.
   */
  private async writeStatus(
    topic: Topic,
    update: { conditions: ConditionInput[]; keepOtherConditions?: boolean; topicId?: string | null; partitions?: number | null },
  ): Promise<void> {
    const current: TopicStatus = topic.status ?? {};
    const generation = topic.metadata.generation;
    const kept = update.keepOtherConditions === true ? (current.conditions ?? []).filter((c) => !update.conditions.some((u) => u.type === c.type)) : [];
    const wanted: ConditionInput[] = [...kept.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })), ...update.conditions];
    const order = ["Ready", "Progressing", "Degraded"];
    wanted.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    const conditions = setConditions(current.conditions, wanted, generation, this.now());
    const readyCondition = conditions.find((c) => c.type === "Ready");
    const message = readyCondition !== undefined && readyCondition.status !== "True" ? readyCondition.message : "";
    const topicId = update.topicId === undefined ? current.topicId : (update.topicId ?? undefined);
    const partitions = update.partitions === undefined ? current.partitions : (update.partitions ?? undefined);
    const next: TopicStatus = {
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      ...(topicId === undefined ? {} : { topicId }),
      ...(partitions === undefined ? {} : { partitions }),
      message,
      conditions,
    };
    if (jsonEqual(next, { ...current, message: current.message ?? "" })) return;
    const patch = { status: { ...next, topicId: topicId ?? null, partitions: partitions ?? null } };
    const written = await this.deps.client.mergePatch<KubeObject>(resources.topic, topic.metadata.namespace, topic.metadata.name, patch, "status");
    // Later writes in this pass compare against what is now stored.
    (topic as { status?: TopicStatus }).status = (written as unknown as Topic).status;
  }
}

/** Reads a Cluster through an informer cache, falling back to the apiserver (a Cluster created a moment ago). */
export function clusterReader(
  cache: (namespace: string, name: string) => KubeObject | undefined,
  client: KubeClient,
): (namespace: string, name: string) => Promise<Cluster | undefined> {
  return async (namespace, name) => {
    const cached = cache(namespace, name) ?? (await client.get(resources.cluster, namespace, name));
    return cached === undefined ? undefined : asCluster(cached);
  };
}
