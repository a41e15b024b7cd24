/**
 * Lease-based leader election (coordination.k8s.io/v1), the algorithm of client-go's
 * leaderelection package:
 *
 *   - A candidate takes the Lease when nobody holds it, or when the record it last saw has not
 *     changed for `leaseDurationSeconds` (measured on this process's monotonic clock from when it
 *     saw the change, so clock skew between replicas does not matter). Writes carry the
 *     resourceVersion read, so two candidates cannot both win: the loser gets 409.
 *   - The leader renews every `retryPeriodSeconds`. If it could not renew for
 *     `renewDeadlineSeconds` (< lease duration) it has lost: `onLost` runs and the process must
 *     stop reconciling at once (main exits), before anyone else may take over.
 *   - On shutdown the leader releases the Lease (empty holder, duration 1 s), so a standby takes
 *     over within a retry period instead of waiting for expiry.
 */
import type { Logger } from "pino";
import { describeError, isConflict, KubeApiError } from "../errors.js";
import type { KubeClient } from "../kube/kube-client.js";
import type { KubeObject } from "../kube/objects.js";
import { resources } from "../kube/resources.js";

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
}

interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

interface Lease extends KubeObject {
  readonly spec?: LeaseSpec;
}

/** MicroTime, as the Lease API wants it: RFC 3339 with microseconds. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

export class LeaderElector {
  private observedRecord = "";
  private observedAtMs = 0;
  private leading = false;
  private readonly abort = new AbortController();
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly logger: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Resolves true once this replica leads (then keeps renewing in the background and calls
   * `onLost` if it stops leading), or false when `stop()` was called first.
   */
  async acquire(onLost: () => void): Promise<boolean> {
    const { retryPeriodSeconds } = this.options;
    let loggedWaiting = false;
    while (!this.abort.signal.aborted) {
      let acquired = false;
      try {
        acquired = await this.tryAcquireOrRenew();
      } catch (error) {
        this.logger.warn({ err: describeError(error) }, "leader election: could not read or write the Lease");
      }
      if (acquired) {
        this.leading = true;
        this.logger.info({ lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity }, "leader election: became the leader");
        this.renewing = this.renewLoop(onLost);
        return true;
      }
      if (!loggedWaiting) {
        loggedWaiting = true;
        this.logger.info({ lease: `${this.options.namespace}/${this.options.name}` }, "leader election: another replica leads; waiting");
      }
      await sleep(retryPeriodSeconds * 1000 * (1 + Math.random() * 0.2), this.abort.signal);
    }
    return false;
  }

  /** Stops campaigning or renewing; a leader releases the Lease. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.renewing;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get<Lease>(resources.lease, this.options.namespace, this.options.name);
      if (lease === undefined || lease.spec?.holderIdentity !== this.options.identity) return;
      await this.client.replace(resources.lease, this.options.namespace, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime() },
      });
      this.logger.info({ lease: `${this.options.namespace}/${this.options.name}` }, "leader election: released the Lease");
    } catch (error) {
      this.logger.warn({ err: describeError(error) }, "leader election: could not release the Lease (it expires by itself)");
    }
  }

  private async renewLoop(onLost: () => void): Promise<void> {
    const { retryPeriodSeconds, renewDeadlineSeconds } = this.options;
    let lastRenewMs = performance.now();
    while (!this.abort.signal.aborted) {
      await sleep(retryPeriodSeconds * 1000, this.abort.signal);
      if (this.abort.signal.aborted) return;
      try {
        if (await this.tryAcquireOrRenew()) {
          lastRenewMs = performance.now();
          continue;
        }
        // Someone else holds it: we lost it outright.
        lastRenewMs = -Infinity;
      } catch (error) {
        this.logger.warn({ err: describeError(error) }, "leader election: renewing the Lease failed");
      }
      if (performance.now() - lastRenewMs > renewDeadlineSeconds * 1000) {
        this.leading = false;
        this.logger.error({ lease: `${this.options.namespace}/${this.options.name}` }, "leader election: lost the Lease");
        onLost();
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    const now = microTime();
    const lease = await this.client.get<Lease>(resources.lease, namespace, name);
    if (lease === undefined) {
      try {
        await this.client.create(resources.lease, namespace, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409) return false; // another replica created it first
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds, spec.leaseTransitions]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAtMs = performance.now();
    }
    const holder = spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (heldByOther && this.observedAtMs + durationMs > performance.now()) return false;
    const ours = holder === identity;
    try {
      await this.client.replace(resources.lease, namespace, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: ours && spec.acquireTime !== undefined ? spec.acquireTime : now,
          renewTime: now,
          leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
        },
      });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }
}
