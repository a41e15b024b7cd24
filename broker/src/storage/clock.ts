/**
 * Time as an input (STYLE.md habit 2). Storage needs wall time for timestamps, segment age and
 * retention (`nowMs`), and a monotonic clock for measuring durations such as fsync latency
 * (`monotonicMs`). The manual clock drives tests and the simulator: time moves only when told.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /** A monotonic millisecond reading with sub-millisecond precision; only differences mean anything. */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

export class ManualClock implements Clock {
  private now: number;

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  monotonicMs(): number {
    return this.now;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`clock cannot move backwards by ${ms} ms`);
    this.now += ms;
  }

  set(ms: number): void {
    this.now = ms;
  }
}
