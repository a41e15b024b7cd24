/**
 * The client's view of time, randomness and timers, injected so that batching, linger,
 * back-pressure and retry timing are tested with a manual clock instead of real sleeps.
 * The `system*` implementations are the only place the SDK touches `Date.now`,
 * `Math.random` and `setTimeout`.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface Random {
  /** A number in [0, 1). */
  next(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler {
  /** Runs `callback` once after `delayMs` (0 means "soon, after the current task"). */
  after(delayMs: number, callback: () => void): TimerHandle;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemRandom: Random = { next: () => Math.random() };

export const systemScheduler: Scheduler = {
  after(delayMs, callback) {
    // setTimeout(0) waits at least 1 ms in Node; "soon" should not add a millisecond per hop.
    if (delayMs <= 0) {
      const immediate = setImmediate(callback);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

/** A deterministic Random for tests and simulations (mulberry32). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/**
 * A clock and scheduler that only move when told to (`advance`). Timers due at or before the
 * new time run in due order. For tests of timing behaviour without sleeping.
 */
export class ManualTime implements Clock, Scheduler {
  private nowMs: number;
  private seq = 0;
  private timers: { dueMs: number; seq: number; callback: () => void; cancelled: boolean }[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  after(delayMs: number, callback: () => void): TimerHandle {
    const timer = { dueMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Timers not yet run or cancelled. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advance(deltaMs: number): void {
    const target = this.nowMs + deltaMs;
    for (;;) {
      const live = this.timers.filter((t) => !t.cancelled && t.dueMs <= target);
      if (live.length === 0) break;
      live.sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
      const next = live[0];
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next && !t.cancelled);
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      next.callback();
    }
    this.nowMs = target;
  }
}
