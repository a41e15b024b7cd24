/**
 * Names, labels and owner references of the objects a Cluster owns, and the rule that makes
 * every derived name valid: a Cluster name is a DNS-1035 label of at most
 * CLUSTER_NAME_LENGTH_MAX characters.
 *
 *   object                 name                        why this name
 *   StatefulSet            <cluster>                   Pods <cluster>-<i>, so a broker's Pod name says its id
 *   headless Service       <cluster>-brokers           per-broker DNS <cluster>-<i>.<cluster>-brokers.<ns>.svc
 *   client Service         <cluster>                   bootstrap <cluster>.<ns>.svc:<port>
 *   external Service       <cluster>-external
 *   ConfigMap              <cluster>-config            the broker config file
 *   PodDisruptionBudget    <cluster>
 *   ServiceMonitor         <cluster>
 *
 * Pure: no I/O.
 */
import type { V1OwnerReference } from "@kubernetes/client-node";
import { ClusterSpecError } from "./errors.js";
import { CLUSTER_KIND, SLUICE_API_VERSION, type Cluster } from "./spec.js";

/**
 * Longest Cluster name. The StatefulSet controller labels each Pod
 * `controller-revision-hash: <statefulset>-<hash of up to 10 characters>`, and label values are
 * at most 63 characters: 63 - 1 - 10 = 52. Every other derived name is shorter than that label.
 */
export const CLUSTER_NAME_LENGTH_MAX = 52;
/** Kubernetes' limit on a DNS label (RFC 1035/1123) and on a label value. */
export const DNS_LABEL_LENGTH_MAX = 63;

/** Service names must be DNS-1035 labels: a letter first, no dots. */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1035Label(name: string): boolean {
  return name.length <= DNS_LABEL_LENGTH_MAX && DNS_1035_LABEL.test(name);
}

/** Throws ClusterSpecError (reason InvalidName) when objects cannot be named after this Cluster. */
export function checkClusterName(name: string): void {
  if (!DNS_1035_LABEL.test(name)) {
    throw new ClusterSpecError(
      "metadata.name",
      `"${name}" cannot name the Cluster's Services: use lower-case letters, digits and "-", starting with a letter (a DNS-1035 label, no dots)`,
      "InvalidName",
    );
  }
  if (name.length > CLUSTER_NAME_LENGTH_MAX) {
    throw new ClusterSpecError(
      "metadata.name",
      `"${name}" is ${name.length} characters; at most ${CLUSTER_NAME_LENGTH_MAX} fit the StatefulSet's Pod labels`,
      "InvalidName",
    );
  }
}

export const statefulSetName = (cluster: string): string => cluster;
export const headlessServiceName = (cluster: string): string => `${cluster}-brokers`;
export const clientServiceName = (cluster: string): string => cluster;
export const externalServiceName = (cluster: string): string => `${cluster}-external`;
export const configMapName = (cluster: string): string => `${cluster}-config`;
export const podDisruptionBudgetName = (cluster: string): string => cluster;
export const serviceMonitorName = (cluster: string): string => cluster;
/** The StatefulSet's volume claim template; PVCs are `data-<cluster>-<i>`. */
export const DATA_VOLUME_NAME = "data";
export const brokerPodName = (cluster: string, ordinal: number): string => `${cluster}-${ordinal}`;
export const brokerVolumeClaimName = (cluster: string, ordinal: number): string => `${DATA_VOLUME_NAME}-${brokerPodName(cluster, ordinal)}`;

/** Stable DNS name of broker `ordinal` (the headless Service's per-Pod record). */
export function brokerHost(cluster: string, namespace: string, ordinal: number): string {
  return `${brokerPodName(cluster, ordinal)}.${headlessServiceName(cluster)}.${namespace}.svc`;
}

/** host:port clients inside the Kubernetes cluster bootstrap from (the client Service). */
export function bootstrapAddress(cluster: string, namespace: string, port: number): string {
  return `${clientServiceName(cluster)}.${namespace}.svc:${port}`;
}

export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_INSTANCE = "app.kubernetes.io/instance";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
/** The Cluster's name again, under our own key: the chart's PodMonitor relabels it to `sluice_cluster`. */
export const LABEL_CLUSTER = "sluice.io/cluster";
/** Which of the Cluster's Services an object is (brokers | client | external): ServiceMonitor selects one. */
export const LABEL_SERVICE_ROLE = "sluice.io/service";
export const MANAGED_BY = "sluice-operator";
export const COMPONENT_BROKER = "broker";

/** Labels that select the Cluster's broker Pods. Never change them: a StatefulSet's selector is immutable. */
export function selectorLabels(cluster: string): Record<string, string> {
  return { [LABEL_NAME]: "sluice", [LABEL_INSTANCE]: cluster, [LABEL_COMPONENT]: COMPONENT_BROKER };
}

/** Labels on every object a Cluster owns (and its Pods). */
export function clusterLabels(cluster: string): Record<string, string> {
  return { ...selectorLabels(cluster), [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_CLUSTER]: cluster };
}

/** The owner reference that lets the garbage collector delete a child with its Cluster. */
export function ownerReferenceTo(cluster: Cluster): V1OwnerReference {
  const uid = cluster.metadata.uid;
  if (uid === undefined || uid === "") {
    throw new ClusterSpecError("metadata.uid", "missing: children can only be owned by a Cluster read back from the apiserver", "InvalidSpec");
  }
  return {
    apiVersion: SLUICE_API_VERSION,
    kind: CLUSTER_KIND,
    name: cluster.metadata.name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
