/**
 * Where the operator reaches a Cluster's brokers to manage its topics (pure).
 *
 * In order:
 *   1. the Cluster's annotation `sluice.io/bootstrap-override: "host:port"`;
 *   2. an operator flag `--bootstrap-override=[namespace/]cluster=host:port`;
 *   3. the client Service's DNS name and port, `<cluster>.<namespace>.svc:<port>`: right for an
 *      operator running inside the Kubernetes cluster.
 * 1 and 2 exist for development and tests, where the operator runs outside the cluster network
 * (and for brokers reached through another address); they are documented in docs/operator.md.
 */
import { bootstrapAddress, withClusterDefaults, type Cluster } from "../cluster/index.js";
import type { BootstrapOverride } from "../config.js";
import { BOOTSTRAP_OVERRIDE_ANNOTATION } from "../runtime/annotations.js";

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** The annotation holds something that is not host:port. */
export class BootstrapOverrideError extends Error {
  readonly reason = "InvalidBootstrapOverride";
  constructor(value: string) {
    super(`annotation ${BOOTSTRAP_OVERRIDE_ANNOTATION} on the Cluster must be host:port (e.g. 127.0.0.1:9092), got "${value}"`);
    this.name = "BootstrapOverrideError";
  }
}

export function resolveBootstrap(cluster: Cluster, overrides: readonly BootstrapOverride[]): string {
  const namespace = cluster.metadata.namespace ?? "default";
  const annotated = cluster.metadata.annotations?.[BOOTSTRAP_OVERRIDE_ANNOTATION];
  if (annotated !== undefined) {
    const value = annotated.trim();
    const match = HOST_PORT.exec(value);
    const port = match === null ? 0 : Number(match[2]);
    if (match === null || port < 1 || port > 65535) throw new BootstrapOverrideError(annotated);
    return value;
  }
  const flag =
    overrides.find((o) => o.namespace === namespace && o.cluster === cluster.metadata.name) ??
    overrides.find((o) => o.namespace === undefined && o.cluster === cluster.metadata.name);
  if (flag !== undefined) return flag.address;
  return bootstrapAddress(cluster.metadata.name, namespace, withClusterDefaults(cluster.spec).listeners.internal.port);
}
