/**
 * Typed errors of the Cluster builder. Both are the world's faults (a resource the operator
 * cannot act on), never our bugs: the reconciler reports them in status (`Ready=False`,
 * reason `reason`) and keeps running.
 */
import { SluiceError } from "@sluice/protocol";

/** An object is not a Cluster/Topic of the shape the CRD promises; `field` says where. */
export class ResourceShapeError extends SluiceError {
  readonly field: string;
  readonly reason = "InvalidResource";
  constructor(kind: string, field: string, detail: string) {
    super("INVALID_REQUEST", `${kind} ${field}: ${detail}`);
    this.name = "ResourceShapeError";
    this.field = field;
  }
}

/**
 * A Cluster the brokers cannot be built for (a name too long for the objects it owns, a
 * broker config key or value the broker refuses, no image). `field` is the spec path; the
 * message says what to change.
 */
export class ClusterSpecError extends SluiceError {
  readonly field: string;
  /** Condition reason for status: `InvalidName`, `InvalidConfig` or `InvalidSpec`. */
  readonly reason: "InvalidName" | "InvalidConfig" | "InvalidSpec";
  readonly detail: string;
  constructor(field: string, detail: string, reason: ClusterSpecError["reason"] = "InvalidSpec") {
    super("INVALID_CONFIG", `${field}: ${detail}`);
    this.name = "ClusterSpecError";
    this.field = field;
    this.reason = reason;
    this.detail = `${field}: ${detail}`;
  }
}
