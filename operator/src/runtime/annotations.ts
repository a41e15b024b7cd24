/**
 * Annotations and finalizers the operator reads or writes, in one place.
 *
 * - `sluice.io/pause-reconciliation: "true"` on a Cluster or Topic: the operator leaves it
 *   alone (no broker calls, no child objects applied) and says so in status
 *   (Progressing=False, reason ReconciliationPaused). Remove the annotation to resume.
 * - `sluice.io/bootstrap-override: "host:port"` on a Cluster: Topics of that Cluster reach its
 *   brokers at this address instead of the client Service's DNS name (development and tests,
 *   where the operator runs outside the cluster network).
 * - finalizer `sluice.io/topic-finalizer` on a Topic: holds its deletion until the topic's
 *   deletionPolicy has been carried out.
 */
import type { KubeObject } from "../kube/objects.js";

export const PAUSE_ANNOTATION = "sluice.io/pause-reconciliation";
export const BOOTSTRAP_OVERRIDE_ANNOTATION = "sluice.io/bootstrap-override";
export const TOPIC_FINALIZER = "sluice.io/topic-finalizer";

export function isPaused(object: KubeObject): boolean {
  return object.metadata.annotations?.[PAUSE_ANNOTATION] === "true";
}
