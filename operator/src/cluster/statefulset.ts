/**
 * The broker StatefulSet of a Cluster: one Pod per broker, each with its own volume and stable
 * DNS name, started as `sluice-broker --config /etc/sluice/broker.json`.
 *
 * How a Pod knows who it is: the StatefulSet controller labels every Pod with its ordinal
 * (`apps.kubernetes.io/pod-index`, Kubernetes ≥ 1.28); the downward API turns that label into
 * SLUICE_BROKER_ID, which the broker reads like its --broker-id flag. The advertised host is the
 * Pod's name under the headless Service (SLUICE_ADVERTISED_HOST from metadata.name).
 *
 * Shutdown: SIGTERM already drains the broker (health NOT_SERVING, in-flight requests finish
 * within shutdown-timeout-ms, logs close cleanly). The preStop hook sleeps first so Endpoints
 * drop the Pod before the broker stops answering; terminationGracePeriodSeconds covers that
 * sleep, the broker's own timeout and a margin for closing the logs (limits.ts).
 *
 * Pure: no I/O.
 */
import type {
  V1Affinity,
  V1Container,
  V1EnvVar,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1PodSpec,
  V1Probe,
  V1ResourceRequirements,
  V1StatefulSet,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import type { Manifest } from "./manifest.js";
import { BROKER_CONFIG_PATH, CONFIG_MOUNT_PATH, DATA_MOUNT_PATH } from "./broker-config.js";
import {
  ANTI_AFFINITY_WEIGHT,
  BROKER_GID,
  BROKER_UID,
  LIVENESS_FAILURE_THRESHOLD,
  LIVENESS_PERIOD_SECONDS,
  PRESTOP_DELAY_SECONDS,
  PROBE_TIMEOUT_SECONDS,
  READINESS_FAILURE_THRESHOLD,
  READINESS_PERIOD_SECONDS,
  REVISION_HISTORY_LIMIT,
  SHUTDOWN_MARGIN_SECONDS,
  STARTUP_FAILURE_THRESHOLD,
  STARTUP_PERIOD_SECONDS,
  TMP_VOLUME_SIZE,
} from "./limits.js";
import {
  clusterLabels,
  configMapName,
  DATA_VOLUME_NAME,
  headlessServiceName,
  selectorLabels,
  statefulSetName,
} from "./names.js";
import type { ResolvedClusterSpec, ResourceRequirementsSpec } from "./spec.js";

/** The label the StatefulSet controller puts on each Pod with its ordinal. */
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
/** Pod template annotation: SHA-256 of the broker config file, so a config change rolls the Pods. */
export const CONFIG_HASH_ANNOTATION = "sluice.io/config-hash";
export const BROKER_CONTAINER_NAME = "broker";
export const GRPC_PORT_NAME = "grpc";
/** The data listener (Produce/Fetch over plain TCP) that brokers advertise in Metadata. */
export const DATA_PORT_NAME = "data";
/** The chart's PodMonitor and the ServiceMonitor scrape the container port of this name. */
export const METRICS_PORT_NAME = "metrics";
const CONFIG_VOLUME_NAME = "config";
const TMP_VOLUME_NAME = "tmp";
/** The hostname topology key: spreading over it means one broker per Node where possible. */
const HOSTNAME_TOPOLOGY_KEY = "kubernetes.io/hostname";

export interface StatefulSetInputs {
  readonly name: string;
  readonly namespace: string;
  readonly spec: ResolvedClusterSpec;
  readonly image: string;
  readonly configHash: string;
  readonly shutdownTimeoutMs: number;
  readonly ownerReferences: V1OwnerReference[];
  /** The live StatefulSet's claim templates (immutable once created); undefined builds them from the spec. */
  readonly currentVolumeClaimTemplates: readonly V1PersistentVolumeClaim[] | undefined;
}

/** Seconds Kubernetes waits between the preStop hook's start and SIGKILL. */
export function terminationGracePeriodSeconds(shutdownTimeoutMs: number): number {
  return PRESTOP_DELAY_SECONDS + Math.ceil(shutdownTimeoutMs / 1000) + SHUTDOWN_MARGIN_SECONDS;
}

/** The CRD allows integer quantities; container resources are strings. */
function resourcesOf(spec: ResourceRequirementsSpec | undefined): V1ResourceRequirements | undefined {
  if (spec === undefined) return undefined;
  const quantities = (values: Readonly<Record<string, string | number>> | undefined): Record<string, string> | undefined =>
    values === undefined ? undefined : Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
  const out: V1ResourceRequirements = {};
  const limits = quantities(spec.limits);
  const requests = quantities(spec.requests);
  if (limits !== undefined) out.limits = limits;
  if (requests !== undefined) out.requests = requests;
  if (spec.claims !== undefined) out.claims = spec.claims.map((c) => ({ ...c }));
  return out;
}

function grpcProbe(port: number, periodSeconds: number, failureThreshold: number): V1Probe {
  return { grpc: { port }, periodSeconds, failureThreshold, timeoutSeconds: PROBE_TIMEOUT_SECONDS };
}

function brokerEnv(cluster: string, namespace: string): V1EnvVar[] {
  return [
    // Not SLUICE_*: the broker refuses unknown SLUICE_ variables; this one only feeds the next.
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "SLUICE_BROKER_ID", valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } } },
    { name: "SLUICE_ADVERTISED_HOST", value: `$(POD_NAME).${headlessServiceName(cluster)}.${namespace}.svc` },
  ];
}

function brokerContainer(inputs: StatefulSetInputs): V1Container {
  const { spec } = inputs;
  const port = spec.listeners.internal.port;
  const ports: NonNullable<V1Container["ports"]> = [
    { name: GRPC_PORT_NAME, containerPort: port, protocol: "TCP" },
    { name: DATA_PORT_NAME, containerPort: spec.listeners.internal.dataPort, protocol: "TCP" },
  ];
  if (spec.metrics.enabled) ports.push({ name: METRICS_PORT_NAME, containerPort: spec.metrics.port, protocol: "TCP" });
  const container: V1Container = {
    name: BROKER_CONTAINER_NAME,
    image: inputs.image,
    command: ["sluice-broker"],
    args: ["--config", BROKER_CONFIG_PATH],
    env: brokerEnv(inputs.name, inputs.namespace),
    ports,
    volumeMounts: [
      { name: DATA_VOLUME_NAME, mountPath: DATA_MOUNT_PATH },
      { name: CONFIG_VOLUME_NAME, mountPath: CONFIG_MOUNT_PATH, readOnly: true },
      { name: TMP_VOLUME_NAME, mountPath: "/tmp" },
    ],
    startupProbe: grpcProbe(port, STARTUP_PERIOD_SECONDS, STARTUP_FAILURE_THRESHOLD),
    readinessProbe: grpcProbe(port, READINESS_PERIOD_SECONDS, READINESS_FAILURE_THRESHOLD),
    livenessProbe: grpcProbe(port, LIVENESS_PERIOD_SECONDS, LIVENESS_FAILURE_THRESHOLD),
    lifecycle: { preStop: { sleep: { seconds: PRESTOP_DELAY_SECONDS } } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    },
  };
  if (spec.imagePullPolicy !== undefined) container.imagePullPolicy = spec.imagePullPolicy;
  const resources = resourcesOf(spec.resources);
  if (resources !== undefined) container.resources = resources;
  return container;
}

/**
 * Placement: always prefer one broker per Node. With `rack`, brokers must run on Nodes carrying
 * the rack label and are spread evenly over its values (maxSkew 1, DoNotSchedule: a broker left
 * Pending says "add capacity in that rack", where ScheduleAnyway would silently put two replicas
 * of a partition in one rack).
 */
function placement(spec: ResolvedClusterSpec, cluster: string): { affinity: V1Affinity; topologySpreadConstraints?: V1TopologySpreadConstraint[] } {
  const selector = { matchLabels: selectorLabels(cluster) };
  const preferApart = (topologyKey: string): { weight: number; podAffinityTerm: { labelSelector: typeof selector; topologyKey: string } } => ({
    weight: ANTI_AFFINITY_WEIGHT,
    podAffinityTerm: { labelSelector: selector, topologyKey },
  });
  if (spec.rack === undefined) {
    return { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [preferApart(HOSTNAME_TOPOLOGY_KEY)] } } };
  }
  const rackKey = spec.rack.topologyKey;
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: rackKey, operator: "Exists" }] }],
        },
      },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [preferApart(HOSTNAME_TOPOLOGY_KEY)] },
    },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: rackKey, whenUnsatisfiable: "DoNotSchedule", labelSelector: selector }],
  };
}

function volumeClaimTemplates(spec: ResolvedClusterSpec, cluster: string): V1PersistentVolumeClaim[] {
  const claim: V1PersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: DATA_VOLUME_NAME, labels: clusterLabels(cluster) },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: spec.storage.size } },
    },
  };
  if (spec.storage.storageClassName !== undefined && claim.spec !== undefined) claim.spec.storageClassName = spec.storage.storageClassName;
  return [claim];
}

export function buildStatefulSet(inputs: StatefulSetInputs): Manifest<V1StatefulSet> {
  const { name, namespace, spec } = inputs;
  const podSpec: V1PodSpec = {
    containers: [brokerContainer(inputs)],
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(inputs.shutdownTimeoutMs),
    // Brokers talk to the apiserver never; no token in their file system.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: BROKER_UID,
      runAsGroup: BROKER_GID,
      fsGroup: BROKER_GID,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumes: [
      { name: CONFIG_VOLUME_NAME, configMap: { name: configMapName(name) } },
      { name: TMP_VOLUME_NAME, emptyDir: { sizeLimit: TMP_VOLUME_SIZE } },
    ],
    ...placement(spec, name),
  };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: statefulSetName(name), namespace, labels: clusterLabels(name), ownerReferences: inputs.ownerReferences },
    spec: {
      serviceName: headlessServiceName(name),
      replicas: spec.replicas,
      podManagementPolicy: "Parallel",
      revisionHistoryLimit: REVISION_HISTORY_LIMIT,
      selector: { matchLabels: selectorLabels(name) },
      updateStrategy: { type: "RollingUpdate" },
      // Scaling down or deleting the Cluster keeps the brokers' data: volumes go only by hand.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: {
        metadata: { labels: clusterLabels(name), annotations: { [CONFIG_HASH_ANNOTATION]: inputs.configHash } },
        spec: podSpec,
      },
      volumeClaimTemplates: inputs.currentVolumeClaimTemplates === undefined ? volumeClaimTemplates(spec, name) : [...inputs.currentVolumeClaimTemplates],
    },
  };
}
