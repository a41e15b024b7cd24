/**
 * The Cluster and Topic custom resources (group sluice.io, version v1alpha1) as TypeScript types,
 * matching crds/sluice.io_clusters.yaml and crds/sluice.io_topics.yaml, plus the defaults those
 * schemas apply and a shape check for objects read from the apiserver.
 *
 * Why defaults here when the apiserver applies them: objects built in tests or read from an older
 * stored version may lack them, and every consumer (builder, status, reconcilers) should see one
 * fully resolved spec. `withClusterDefaults` applies exactly the CRD's `default:` values (the
 * k8s test compares it with what the apiserver stores), nothing more.
 *
 * Pure: no I/O. Bad shapes are `ResourceShapeError` naming the field.
 */
import { ResourceShapeError } from "./errors.js";

export const SLUICE_GROUP = "sluice.io";
export const SLUICE_VERSION = "v1alpha1";
export const SLUICE_API_VERSION = `${SLUICE_GROUP}/${SLUICE_VERSION}`;
export const CLUSTER_KIND = "Cluster";
export const CLUSTER_PLURAL = "clusters";
export const TOPIC_KIND = "Topic";
export const TOPIC_PLURAL = "topics";

/** The metadata fields the operator reads (a subset of metav1.ObjectMeta). */
export interface ResourceMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
}

export type ConditionType = "Ready" | "Progressing" | "Degraded";
export type ConditionStatus = "True" | "False" | "Unknown";

/** A metav1.Condition as the CRDs' status schemas hold it. */
export interface Condition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly observedGeneration?: number;
  /** RFC 3339; changes only when `status` flips. */
  readonly lastTransitionTime: string;
  /** CamelCase, matches ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$ */
  readonly reason: string;
  readonly message: string;
}

/** A Kubernetes quantity as the CRD accepts it (x-kubernetes-int-or-string). */
export type QuantityValue = string | number;

export interface ResourceRequirementsSpec {
  readonly limits?: Readonly<Record<string, QuantityValue>>;
  readonly requests?: Readonly<Record<string, QuantityValue>>;
  readonly claims?: ReadonlyArray<{ readonly name: string; readonly request?: string }>;
}

export type ImagePullPolicy = "Always" | "IfNotPresent" | "Never";
export type ExternalListenerType = "LoadBalancer" | "NodePort";

/** `spec` of a Cluster as a user may write it (optional fields optional). */
export interface ClusterSpec {
  readonly replicas: number;
  readonly image?: string;
  readonly imagePullPolicy?: ImagePullPolicy;
  readonly storage?: { readonly size?: string; readonly storageClassName?: string };
  readonly resources?: ResourceRequirementsSpec;
  /** Broker config keys (the broker's own spelling) → string values. */
  readonly config?: Readonly<Record<string, string>>;
  readonly rack?: { readonly topologyKey?: string };
  readonly listeners?: {
    /** `port`: gRPC (the full API); `dataPort`: the data listener (Produce/Fetch over plain TCP). */
    readonly internal?: { readonly port?: number; readonly dataPort?: number };
    readonly external?: {
      readonly type: ExternalListenerType;
      readonly port?: number;
      readonly annotations?: Readonly<Record<string, string>>;
    };
  };
  readonly metrics?: { readonly enabled?: boolean; readonly port?: number; readonly serviceMonitor?: boolean };
  readonly podDisruptionBudget?: { readonly enabled?: boolean; readonly maxUnavailable?: number | string };
}

export interface ClusterStatus {
  readonly observedGeneration?: number;
  readonly replicas?: number;
  readonly readyBrokers?: number;
  readonly bootstrap?: string;
  readonly conditions?: readonly Condition[];
}

export interface Cluster {
  readonly apiVersion: typeof SLUICE_API_VERSION;
  readonly kind: typeof CLUSTER_KIND;
  readonly metadata: ResourceMetadata;
  readonly spec: ClusterSpec;
  readonly status?: ClusterStatus;
}

/** A Cluster spec with every CRD default applied: what the builder reads. */
export interface ResolvedClusterSpec {
  readonly replicas: number;
  readonly image: string | undefined;
  readonly imagePullPolicy: ImagePullPolicy | undefined;
  readonly storage: { readonly size: string; readonly storageClassName: string | undefined };
  readonly resources: ResourceRequirementsSpec | undefined;
  readonly config: Readonly<Record<string, string>>;
  /** Undefined: no rack awareness (the CRD defaults `topologyKey` only when `rack` is given). */
  readonly rack: { readonly topologyKey: string } | undefined;
  readonly listeners: {
    readonly internal: { readonly port: number; readonly dataPort: number };
    readonly external:
      | { readonly type: ExternalListenerType; readonly port: number; readonly annotations: Readonly<Record<string, string>> }
      | undefined;
  };
  readonly metrics: { readonly enabled: boolean; readonly port: number; readonly serviceMonitor: boolean };
  readonly podDisruptionBudget: { readonly enabled: boolean; readonly maxUnavailable: number | string };
}

/** The CRD's `default:` values, one place. */
export const clusterDefaults = {
  storageSize: "10Gi",
  rackTopologyKey: "topology.kubernetes.io/zone",
  internalPort: 9092,
  dataPort: 9093,
  externalPort: 9094,
  metricsEnabled: true,
  metricsPort: 9644,
  serviceMonitor: false,
  podDisruptionBudgetEnabled: true,
  podDisruptionBudgetMaxUnavailable: 1,
} as const;

export function withClusterDefaults(spec: ClusterSpec): ResolvedClusterSpec {
  const external = spec.listeners?.external;
  return {
    replicas: spec.replicas,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    storage: { size: spec.storage?.size ?? clusterDefaults.storageSize, storageClassName: spec.storage?.storageClassName },
    resources: spec.resources,
    config: spec.config ?? {},
    rack: spec.rack === undefined ? undefined : { topologyKey: spec.rack.topologyKey ?? clusterDefaults.rackTopologyKey },
    listeners: {
      internal: {
        port: spec.listeners?.internal?.port ?? clusterDefaults.internalPort,
        dataPort: spec.listeners?.internal?.dataPort ?? clusterDefaults.dataPort,
      },
      external:
        external === undefined
          ? undefined
          : { type: external.type, port: external.port ?? clusterDefaults.externalPort, annotations: external.annotations ?? {} },
    },
    metrics: {
      enabled: spec.metrics?.enabled ?? clusterDefaults.metricsEnabled,
      port: spec.metrics?.port ?? clusterDefaults.metricsPort,
      serviceMonitor: spec.metrics?.serviceMonitor ?? clusterDefaults.serviceMonitor,
    },
    podDisruptionBudget: {
      enabled: spec.podDisruptionBudget?.enabled ?? clusterDefaults.podDisruptionBudgetEnabled,
      maxUnavailable: spec.podDisruptionBudget?.maxUnavailable ?? clusterDefaults.podDisruptionBudgetMaxUnavailable,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Topic

export type TopicDeletionPolicy = "Delete" | "Retain";

export interface TopicSpec {
  /** Name of the Cluster (same namespace). Immutable. */
  readonly cluster: string;
  /** Topic name in the cluster; defaults to metadata.name. Immutable. */
  readonly topicName?: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /** Topic config keys (retention.ms, cleanup.policy, ...) → string values. */
  readonly config?: Readonly<Record<string, string>>;
  readonly deletionPolicy?: TopicDeletionPolicy;
}

export interface TopicStatus {
  readonly observedGeneration?: number;
  readonly topicId?: string;
  readonly partitions?: number;
  readonly message?: string;
  readonly conditions?: readonly Condition[];
}

export interface Topic {
  readonly apiVersion: typeof SLUICE_API_VERSION;
  readonly kind: typeof TOPIC_KIND;
  readonly metadata: ResourceMetadata;
  readonly spec: TopicSpec;
  readonly status?: TopicStatus;
}

export interface ResolvedTopicSpec {
  readonly cluster: string;
  readonly topicName: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
  readonly deletionPolicy: TopicDeletionPolicy;
}

export const topicDefaults = { partitions: 1, replicationFactor: 1, deletionPolicy: "Delete" } as const;

/** The Topic's spec with the CRD's defaults; `topicName` falls back to metadata.name. */
export function withTopicDefaults(topic: Pick<Topic, "metadata" | "spec">): ResolvedTopicSpec {
  const spec = topic.spec;
  return {
    cluster: spec.cluster,
    topicName: spec.topicName ?? topic.metadata.name,
    partitions: spec.partitions ?? topicDefaults.partitions,
    replicationFactor: spec.replicationFactor ?? topicDefaults.replicationFactor,
    config: spec.config ?? {},
    deletionPolicy: spec.deletionPolicy ?? topicDefaults.deletionPolicy,
  };
}

// ---------------------------------------------------------------------------------------------
// Shape checks for objects read from the apiserver (informers hand over `unknown`-ish JSON)

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkEnvelope(kind: string, value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new ResourceShapeError(kind, "(object)", "not an object");
  if (value["apiVersion"] !== SLUICE_API_VERSION) throw new ResourceShapeError(kind, "apiVersion", `must be ${SLUICE_API_VERSION}, got ${String(value["apiVersion"])}`);
  if (value["kind"] !== kind) throw new ResourceShapeError(kind, "kind", `must be ${kind}, got ${String(value["kind"])}`);
  const metadata = value["metadata"];
  if (!isRecord(metadata) || typeof metadata["name"] !== "string" || metadata["name"] === "") {
    throw new ResourceShapeError(kind, "metadata.name", "missing");
  }
  if (!isRecord(value["spec"])) throw new ResourceShapeError(kind, "spec", "missing");
  return value;
}

function checkStringMap(kind: string, field: string, value: unknown): void {
  if (value === undefined) return;
  if (!isRecord(value)) throw new ResourceShapeError(kind, field, "must be a map of strings");
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw new ResourceShapeError(kind, `${field}.${key}`, `must be a string, got ${typeof item}`);
  }
}

/**
 * Checks the fields the operator relies on and returns the value typed as a Cluster. The
 * apiserver already validated it against the CRD; this catches objects from elsewhere (tests,
 * an older CRD) with a clear error instead of a crash deep in the builder.
 */
export function asCluster(value: unknown): Cluster {
  const o = checkEnvelope(CLUSTER_KIND, value);
  const spec = o["spec"] as Record<string, unknown>;
  const replicas = spec["replicas"];
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw new ResourceShapeError(CLUSTER_KIND, "spec.replicas", `must be a non-negative integer, got ${String(replicas)}`);
  }
  checkStringMap(CLUSTER_KIND, "spec.config", spec["config"]);
  const listeners = spec["listeners"];
  if (isRecord(listeners) && isRecord(listeners["external"])) {
    const type = listeners["external"]["type"];
    if (type !== "LoadBalancer" && type !== "NodePort") {
      throw new ResourceShapeError(CLUSTER_KIND, "spec.listeners.external.type", `must be LoadBalancer or NodePort, got ${String(type)}`);
    }
  }
  return o as unknown as Cluster;
}

export function asTopic(value: unknown): Topic {
  const o = checkEnvelope(TOPIC_KIND, value);
  const spec = o["spec"] as Record<string, unknown>;
  if (typeof spec["cluster"] !== "string" || spec["cluster"] === "") throw new ResourceShapeError(TOPIC_KIND, "spec.cluster", "missing");
  checkStringMap(TOPIC_KIND, "spec.config", spec["config"]);
  for (const field of ["partitions", "replicationFactor"] as const) {
    const n = spec[field];
    if (n !== undefined && (typeof n !== "number" || !Number.isInteger(n) || n < 1)) {
      throw new ResourceShapeError(TOPIC_KIND, `spec.${field}`, `must be a positive integer, got ${String(n)}`);
    }
  }
  return o as unknown as Topic;
}
