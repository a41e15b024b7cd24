/**
 * The manifest shape every child of a Cluster has: a Kubernetes object type from
 * @kubernetes/client-node (used for its field types only; objects stay plain JSON) with
 * apiVersion, kind and the metadata server-side apply needs made mandatory.
 */
import type { V1OwnerReference } from "@kubernetes/client-node";

/** Metadata every child carries: a name, the Cluster's namespace, labels and the owner. */
export interface ChildMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly ownerReferences: V1OwnerReference[];
}

/** A manifest with the fields server-side apply needs always present. */
export type Manifest<T> = Omit<T, "apiVersion" | "kind" | "metadata"> & {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ChildMetadata;
};
