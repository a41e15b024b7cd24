/**
 * A controller: one work queue and N workers running one Reconciler (one kind), in the shape of
 * controller-runtime. Informer events and resyncs only enqueue keys; the reconciler reads the
 * world itself (level-triggered), so a missed or repeated event changes nothing.
 *
 * A reconcile that returns ends the key's backoff (and may ask to be run again after a delay);
 * one that throws is retried with the queue's per-key exponential backoff. Errors never stop a
 * worker, so one broken object cannot hold up the others.
 */
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import { splitKey, type ObjectKey } from "../kube/objects.js";
import type { OperatorMetrics } from "../metrics.js";
import { WorkQueue } from "./work-queue.js";

export interface ReconcileResult {
  /** Reconcile this key again after this long even if nothing changes (polling a slow process). */
  readonly requeueAfterMs?: number;
}

export interface Reconciler {
  /** The kind reconciled (metrics label, logs). */
  readonly kind: string;
  reconcile(key: ObjectKey, logger: Logger): Promise<ReconcileResult>;
}

export interface ControllerOptions {
  readonly reconciler: Reconciler;
  readonly workers: number;
  readonly metrics: OperatorMetrics;
  readonly logger: Logger;
  readonly queue?: WorkQueue<ObjectKey>;
}

export class Controller {
  readonly queue: WorkQueue<ObjectKey>;
  private readonly reconciler: Reconciler;
  private readonly metrics: OperatorMetrics;
  private readonly logger: Logger;
  private readonly workerCount: number;
  private workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.reconciler = options.reconciler;
    this.metrics = options.metrics;
    this.logger = options.logger.child({ kind: options.reconciler.kind });
    this.workerCount = options.workers;
    this.queue = options.queue ?? new WorkQueue<ObjectKey>();
  }

  get kind(): string {
    return this.reconciler.kind;
  }

  enqueue(key: ObjectKey): void {
    this.queue.add(key);
    this.updateDepth();
  }

  start(): void {
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.work());
  }

  /** Stops handing out keys and waits for in-flight reconciles (they are not interrupted). */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private updateDepth(): void {
    this.metrics.queueDepth.set({ kind: this.reconciler.kind }, this.queue.depth);
  }

  private async work(): Promise<void> {
    const kind = this.reconciler.kind;
    for (;;) {
      const key = await this.queue.get();
      this.updateDepth();
      if (key === undefined) return;
      const { namespace, name } = splitKey(key);
      const logger = this.logger.child({ namespace, name });
      const startedMs = performance.now();
      try {
        const result = await this.reconciler.reconcile(key, logger);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          this.metrics.reconcileTotal.inc({ kind, result: "requeue" });
        } else {
          this.metrics.reconcileTotal.inc({ kind, result: "success" });
        }
      } catch (error) {
        const retryInMs = this.queue.addRateLimited(key);
        this.metrics.reconcileTotal.inc({ kind, result: "error" });
        this.metrics.reconcileErrors.inc({ kind });
        logger.warn({ err: describeError(error), retryInMs, failures: this.queue.failuresOf(key) }, "reconcile failed; will retry");
      } finally {
        this.metrics.reconcileDuration.observe({ kind }, (performance.now() - startedMs) / 1000);
        this.queue.done(key);
        this.updateDepth();
      }
    }
  }
}
