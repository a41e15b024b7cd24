/**
 * A keyed, de-duplicating work queue with per-key exponential backoff (the shape of client-go's
 * rate-limited work queue).
 *
 * Invariants:
 *   - A key is in the queue at most once: adding a queued key again is a no-op.
 *   - A key is never handed to two workers at once: a key added while it is being processed is
 *     marked dirty and queued again only when `done(key)` is called, so the change is seen.
 *   - `addRateLimited` waits BACKOFF_BASE_MS · 2^(failures-1), capped at BACKOFF_MAX_MS;
 *     `forget` resets the failure count once a key reconciles cleanly.
 *   - A delayed add keeps the earliest due time when several are asked for.
 *   - After `shutDown`, `get` resolves undefined, timers are cancelled and adds are ignored.
 *
 * Time is injected (a Scheduler), so tests drive the backoff without sleeping.
 */
import { systemScheduler, type Scheduler, type TimerHandle } from "@sluice/client";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS } from "../limits.js";

/** Delay before retry number `failures` (1-based): base · 2^(failures-1), at most `maxMs`. */
export function backoffDelayMs(failures: number, baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS): number {
  if (failures <= 0) return 0;
  // 2^30 · base overflows nothing but is far past any cap; stop doubling there.
  const exponent = Math.min(failures - 1, 30);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

export interface WorkQueueOptions {
  readonly scheduler?: Scheduler;
  readonly clock?: { now(): number };
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
}

export class WorkQueue<K = string> {
  private readonly order: K[] = [];
  /** Keys waiting to be processed (queued, or queued again once their worker is done). */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, { dueMs: number; timer: TimerHandle }>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly scheduler: Scheduler;
  private readonly clock: { now(): number };
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.scheduler = options.scheduler ?? systemScheduler;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.backoffBaseMs = options.backoffBaseMs ?? BACKOFF_BASE_MS;
    this.backoffMaxMs = options.backoffMaxMs ?? BACKOFF_MAX_MS;
  }

  /** Keys ready to be handed out (not counting those being processed or waiting on a timer). */
  get depth(): number {
    return this.order.length;
  }

  get isShutDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.order.push(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending delayed add wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const dueMs = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.dueMs <= dueMs) return;
      pending.timer.cancel();
    }
    const timer = this.scheduler.after(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { dueMs, timer });
  }

  /** Adds `key` after its backoff; each call counts one more failure. Returns the delay used. */
  addRateLimited(key: K): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delayMs = backoffDelayMs(failures, this.backoffBaseMs, this.backoffMaxMs);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Failures counted for `key` since it last succeeded. */
  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** The key reconciled cleanly: its next failure starts the backoff from the beginning. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** The next key to process, waiting for one; undefined once the queue is shut down. */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.order.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The worker finished `key`; if it was added meanwhile, it is queued again now. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.order.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
