/**
 * `buildClusterObjects`: the desired children of one Cluster, as plain manifests ready for
 * server-side apply — ConfigMap (broker config file), headless and client Services, optional
 * external Service, the broker StatefulSet, optional PodDisruptionBudget and optional
 * ServiceMonitor — each owned by the Cluster (controller owner reference) and labelled
 * app.kubernetes.io/{name,instance,component,managed-by} + sluice.io/cluster.
 *
 * Pure and deterministic: the same Cluster and options give the same objects (no clock, no
 * randomness), so applying twice changes nothing. A Cluster that cannot be built is a
 * ClusterSpecError (name, clashing ports, config key/value, image) for the reconciler to put in
 * status.
 *
 * Two things the caller must know:
 *   - StatefulSet volumeClaimTemplates are immutable. After a storage.size change, pass the live
 *     StatefulSet's templates as `currentVolumeClaimTemplates` (else the apply is refused) and grow
 *     the PVCs themselves (`brokerVolumeClaimNames` + the new size).
 *   - `unwanted` lists the optional children this spec does not want (external Service,
 *     PodDisruptionBudget, ServiceMonitor): delete them if they exist.
 */
import type {
  V1ConfigMap,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { brokerConfigFileText, BROKER_CONFIG_FILE, configHash, resolveClusterBrokerConfig } from "./broker-config.js";
import { ClusterSpecError } from "./errors.js";
import type { ChildMetadata, Manifest } from "./manifest.js";
import {
  bootstrapAddress,
  brokerVolumeClaimName,
  checkClusterName,
  clusterLabels,
  configMapName,
  externalServiceName,
  LABEL_SERVICE_ROLE,
  ownerReferenceTo,
  podDisruptionBudgetName,
  selectorLabels,
  serviceMonitorName,
} from "./names.js";
import { buildClientService, buildExternalService, buildHeadlessService } from "./services.js";
import { withClusterDefaults, type Cluster, type ResolvedClusterSpec } from "./spec.js";
import { buildStatefulSet, METRICS_PORT_NAME } from "./statefulset.js";

/** The `job` label Prometheus gives broker targets; the chart's alerts and dashboard select on it. */
export const DEFAULT_BROKER_JOB = "sluice-broker";
export const SERVICE_MONITOR_API_VERSION = "monitoring.coreos.com/v1";

export interface BuildClusterOptions {
  /** Image of the broker containers when spec.image is empty (the operator's own image). */
  readonly defaultBrokerImage: string;
  /** Whether the apiserver serves monitoring.coreos.com/v1 ServiceMonitor. */
  readonly serviceMonitorAvailable: boolean;
  /** Prometheus `job` label of broker targets; default DEFAULT_BROKER_JOB. */
  readonly brokerJob?: string;
  /** The live StatefulSet's volumeClaimTemplates, when it exists (they cannot change). */
  readonly currentVolumeClaimTemplates?: readonly V1PersistentVolumeClaim[];
}

/** monitoring.coreos.com/v1 ServiceMonitor, the fields we set. */
export interface ServiceMonitor {
  readonly apiVersion: typeof SERVICE_MONITOR_API_VERSION;
  readonly kind: "ServiceMonitor";
  readonly metadata: ChildMetadata;
  readonly spec: {
    readonly selector: { readonly matchLabels: Record<string, string> };
    readonly namespaceSelector: { readonly matchNames: string[] };
    readonly endpoints: Array<{
      readonly port: string;
      readonly path: string;
      readonly relabelings: Array<{ readonly sourceLabels?: string[]; readonly targetLabel: string; readonly replacement?: string; readonly action?: string }>;
    }>;
  };
}

export type ClusterChild =
  | Manifest<V1ConfigMap>
  | Manifest<V1Service>
  | Manifest<V1StatefulSet>
  | Manifest<V1PodDisruptionBudget>
  | ServiceMonitor;

/** Identifies an object the Cluster may own. */
export interface ChildReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ClusterObjects {
  readonly configMap: Manifest<V1ConfigMap>;
  readonly headlessService: Manifest<V1Service>;
  readonly clientService: Manifest<V1Service>;
  readonly externalService: Manifest<V1Service> | undefined;
  readonly statefulSet: Manifest<V1StatefulSet>;
  readonly podDisruptionBudget: Manifest<V1PodDisruptionBudget> | undefined;
  readonly serviceMonitor: ServiceMonitor | undefined;
  /** Every desired object in apply order: config and Services before the StatefulSet that uses them. */
  readonly desired: readonly ClusterChild[];
  /** Optional children this spec does not want: delete them if they exist. */
  readonly unwanted: readonly ChildReference[];
  /** SHA-256 of the broker config file (also the Pod template's sluice.io/config-hash). */
  readonly configHash: string;
  /** host:port of the client Service. */
  readonly bootstrap: string;
  /** The resolved spec the objects were built from. */
  readonly spec: ResolvedClusterSpec;
  /** Things the user asked for that this build could not honour (for Events/logs); not errors. */
  readonly warnings: readonly string[];
}

function childMetadata(name: string, namespace: string, cluster: string, owner: V1OwnerReference): ChildMetadata {
  return { name, namespace, labels: clusterLabels(cluster), ownerReferences: [owner] };
}

function buildServiceMonitor(name: string, namespace: string, owner: V1OwnerReference, job: string): ServiceMonitor {
  return {
    apiVersion: SERVICE_MONITOR_API_VERSION,
    kind: "ServiceMonitor",
    metadata: childMetadata(serviceMonitorName(name), namespace, name, owner),
    spec: {
      // Only the headless Service: it lists every broker (Ready or not) exactly once.
      selector: { matchLabels: { ...selectorLabels(name), [LABEL_SERVICE_ROLE]: "brokers" } },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [
        {
          port: METRICS_PORT_NAME,
          path: "/metrics",
          relabelings: [
            // Same job name and cluster label as the chart's PodMonitor: one set of alerts and dashboards.
            { targetLabel: "job", replacement: job },
            { sourceLabels: ["__meta_kubernetes_pod_label_sluice_io_cluster"], targetLabel: "sluice_cluster" },
          ],
        },
      ],
    },
  };
}

/**
 * The ports each broker binds must differ (the broker would fail to bind, or refuse data-port ==
 * port). The CRD refuses clashes at apply time; this catches Clusters stored before a rule
 * existed, e.g. a port of 9093 from before `dataPort` (default 9093) was added, naming the field.
 */
function checkBrokerPorts(spec: ResolvedClusterSpec): void {
  const { port, dataPort } = spec.listeners.internal;
  if (dataPort === port) {
    throw new ClusterSpecError("spec.listeners.internal.dataPort", `${dataPort} is also listeners.internal.port; the two listeners need different ports`, "InvalidSpec");
  }
  if (!spec.metrics.enabled) return;
  for (const [field, used] of [["listeners.internal.port", port], ["listeners.internal.dataPort", dataPort]] as const) {
    if (spec.metrics.port === used) {
      throw new ClusterSpecError("spec.metrics.port", `${used} is also ${field}; the metrics server needs a port of its own`, "InvalidSpec");
    }
  }
}

export function buildClusterObjects(cluster: Cluster, options: BuildClusterOptions): ClusterObjects {
  const name = cluster.metadata.name;
  checkClusterName(name);
  const namespace = cluster.metadata.namespace;
  if (namespace === undefined || namespace === "") throw new ClusterSpecError("metadata.namespace", "missing (a Cluster is namespaced)", "InvalidSpec");
  const owner = ownerReferenceTo(cluster);
  const spec = withClusterDefaults(cluster.spec);
  checkBrokerPorts(spec);
  const image = spec.image ?? options.defaultBrokerImage;
  if (image.trim() === "") throw new ClusterSpecError("spec.image", "empty, and the operator has no default broker image (--default-broker-image)", "InvalidSpec");

  const brokerConfig = resolveClusterBrokerConfig(spec);
  const configText = brokerConfigFileText(spec);
  const hash = configHash(configText);
  const ownerReferences = [owner];
  const warnings: string[] = [];
  const unwanted: ChildReference[] = [];

  const configMap: Manifest<V1ConfigMap> = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMetadata(configMapName(name), namespace, name, owner),
    data: { [BROKER_CONFIG_FILE]: configText },
  };
  const serviceInputs = { name, namespace, spec, ownerReferences };
  const headlessService = buildHeadlessService(serviceInputs);
  const clientService = buildClientService(serviceInputs);
  const externalService = buildExternalService(serviceInputs);
  if (externalService === undefined) unwanted.push({ apiVersion: "v1", kind: "Service", namespace, name: externalServiceName(name) });

  const statefulSet = buildStatefulSet({
    name,
    namespace,
    spec,
    image,
    configHash: hash,
    shutdownTimeoutMs: brokerConfig.shutdownTimeoutMs,
    ownerReferences,
    currentVolumeClaimTemplates: options.currentVolumeClaimTemplates,
  });

  let podDisruptionBudget: Manifest<V1PodDisruptionBudget> | undefined;
  if (spec.podDisruptionBudget.enabled) {
    podDisruptionBudget = {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: childMetadata(podDisruptionBudgetName(name), namespace, name, owner),
      spec: { maxUnavailable: spec.podDisruptionBudget.maxUnavailable, selector: { matchLabels: selectorLabels(name) } },
    };
  } else {
    unwanted.push({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace, name: podDisruptionBudgetName(name) });
  }

  let serviceMonitor: ServiceMonitor | undefined;
  const wantsMonitor = spec.metrics.enabled && spec.metrics.serviceMonitor;
  if (wantsMonitor && options.serviceMonitorAvailable) {
    serviceMonitor = buildServiceMonitor(name, namespace, owner, options.brokerJob ?? DEFAULT_BROKER_JOB);
  } else {
    if (wantsMonitor) warnings.push(`spec.metrics.serviceMonitor is true but the apiserver does not serve ${SERVICE_MONITOR_API_VERSION} ServiceMonitor (is the Prometheus Operator installed?); none created`);
    // Only deletable where the kind is served; the caller skips it otherwise.
    if (options.serviceMonitorAvailable) unwanted.push({ apiVersion: SERVICE_MONITOR_API_VERSION, kind: "ServiceMonitor", namespace, name: serviceMonitorName(name) });
  }

  const desired: ClusterChild[] = [configMap, headlessService, clientService];
  if (externalService !== undefined) desired.push(externalService);
  desired.push(statefulSet);
  if (podDisruptionBudget !== undefined) desired.push(podDisruptionBudget);
  if (serviceMonitor !== undefined) desired.push(serviceMonitor);

  return {
    configMap,
    headlessService,
    clientService,
    externalService,
    statefulSet,
    podDisruptionBudget,
    serviceMonitor,
    desired,
    unwanted,
    configHash: hash,
    bootstrap: bootstrapAddress(name, namespace, spec.listeners.internal.port),
    spec,
    warnings,
  };
}

/** Names of the brokers' PVCs for `replicas` brokers (to grow them after a storage.size change). */
export function brokerVolumeClaimNames(cluster: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => brokerVolumeClaimName(cluster, i));
}
