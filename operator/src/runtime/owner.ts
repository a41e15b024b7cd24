/**
 * Owner references: every object a Cluster owns names it as its controller, so Kubernetes'
 * garbage collector deletes the children when the Cluster is deleted and the StatefulSet informer
 * can tell which Cluster to reconcile when a child changes.
 */
import type { KubeObject, OwnerReference } from "../kube/objects.js";

export function controllerReference(owner: KubeObject): OwnerReference {
  const uid = owner.metadata.uid;
  if (uid === undefined || uid === "") throw new Error(`${owner.kind} ${owner.metadata.name} has no uid: read it from the apiserver first`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid, controller: true, blockOwnerDeletion: true };
}

/** The object with `owner` as its only controller reference (other, non-controller references kept). */
export function withController<T extends KubeObject>(object: T, owner: KubeObject): T {
  const reference = controllerReference(owner);
  const others = (object.metadata.ownerReferences ?? []).filter((r) => r.controller !== true && r.uid !== reference.uid);
  return { ...object, metadata: { ...object.metadata, ownerReferences: [...others, reference] } };
}

/** The controller reference of `object` if it is of `kind` in the API group `group`. */
export function controllerOf(object: KubeObject, group: string, kind: string): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === kind && r.apiVersion.split("/")[0] === group);
}

export function isOwnedBy(object: KubeObject, owner: KubeObject): boolean {
  return object.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid) ?? false;
}
