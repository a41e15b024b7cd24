/**
 * Serving status for the standard gRPC health service (grpc.health.v1): "" (the whole server)
 * and each service name. SERVING once the broker has started, NOT_SERVING from the moment
 * graceful shutdown begins, so Kubernetes probes and load balancers stop sending traffic before
 * the port closes. Watchers are told of every change.
 *
 * Invariant: every service shares one status (a single broker has no partial readiness yet).
 */
export type ServingStatus = "SERVING" | "NOT_SERVING";

export const healthServiceNames: readonly string[] = ["", "sluice.v1.Sluice", "sluice.v1.Admin"];

export type HealthListener = (status: ServingStatus) => void;

export class HealthState {
  private current: ServingStatus = "NOT_SERVING";
  private readonly listeners = new Set<HealthListener>();

  get status(): ServingStatus {
    return this.current;
  }

  /** Whether `service` is one the health service knows about. */
  knows(service: string): boolean {
    return healthServiceNames.includes(service);
  }

  set(status: ServingStatus): void {
    if (status === this.current) return;
    this.current = status;
    for (const listener of [...this.listeners]) listener(status);
  }

  watch(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of open Watch streams (they are ended at shutdown). */
  get watchers(): number {
    return this.listeners.size;
  }
}
