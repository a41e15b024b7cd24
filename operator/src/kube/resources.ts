/**
 * The API resources the operator uses: group, version, plural and kind, and the URL paths built
 * from them. One table, so a typo in a plural cannot hide in a reconciler.
 */

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const SLUICE_GROUP = "sluice.io";
export const SLUICE_VERSION = "v1alpha1";
export const SLUICE_API_VERSION = `${SLUICE_GROUP}/${SLUICE_VERSION}`;

export const resources = {
  cluster: { group: SLUICE_GROUP, version: SLUICE_VERSION, plural: "clusters", kind: "Cluster", namespaced: true },
  topic: { group: SLUICE_GROUP, version: SLUICE_VERSION, plural: "topics", kind: "Topic", namespaced: true },
  statefulSet: { group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet", namespaced: true },
  service: { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  configMap: { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
  pod: { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  podDisruptionBudget: { group: "policy", version: "v1", plural: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true },
  serviceMonitor: { group: "monitoring.coreos.com", version: "v1", plural: "servicemonitors", kind: "ServiceMonitor", namespaced: true },
  lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
  event: { group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true },
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(resource: ResourceType): string {
  return resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
}

export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The collection path: all namespaces when `namespace` is undefined (or the resource is cluster-scoped). */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const base = groupVersionPath(apiVersionOf(resource));
  const ns = resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${resource.plural}`;
}

export function objectPath(resource: ResourceType, namespace: string | undefined, name: string, subresource?: "status"): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}${subresource === undefined ? "" : `/${subresource}`}`;
}

/** Finds the resource type for an object's apiVersion and kind among the table's entries. */
export function resourceForKind(apiVersion: string, kind: string): ResourceType | undefined {
  return Object.values(resources).find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
