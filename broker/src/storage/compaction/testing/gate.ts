/**
 * Test-only: an I/O throttle a test can hold shut, to stop a clean in the middle (between two
 * batches) and act on the log meanwhile. The throttle runs on its own manual clock; its sleeps
 * wait for `open()` and then advance that clock by the time asked, so the bucket refills.
 */
import { ManualClock } from "../../clock.js";
import { IoThrottle } from "../../io-throttle.js";

export class GatedThrottle {
  readonly clock = new ManualClock(0);
  readonly throttle: IoThrottle;
  private isOpen = false;
  private waiters: Array<() => void> = [];

  /** Grants `burstBytes` at once, then every request waits for the gate. */
  constructor(burstBytes = 1) {
    this.throttle = new IoThrottle({
      bytesPerSecond: 1000,
      burstBytes,
      clock: this.clock,
      sleep: async (ms) => {
        if (!this.isOpen) await new Promise<void>((resolve) => this.waiters.push(resolve));
        this.clock.advance(ms);
      },
    });
  }

  /** From now, at most `bytes` more pass before the gate (it lowers the bucket, so start with a big burst). */
  allow(bytes: number): void {
    this.throttle.setRate(1000, bytes);
  }

  /** A clean is blocked on the gate. */
  get waiting(): number {
    return this.waiters.length;
  }

  open(): void {
    this.isOpen = true;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** Polls `condition` between event-loop turns until it holds (fails after `turns`). */
export async function eventually(condition: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error("condition never held");
}
