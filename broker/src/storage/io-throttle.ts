/**
 * A byte-rate limiter for background I/O (compaction reads and writes), so it cannot starve
 * appends and reads of disk bandwidth: a token bucket refilled at `bytesPerSecond`, with
 * `pause()`/`resume()` for stopping background work outright (say, while the disk is near
 * full or a latency SLO is at risk). Time and sleeping are injected.
 *
 * Invariants: over any window the bytes granted are at most burst + rate x window plus the
 * last request granted; a paused throttle grants nothing; a request larger than the burst is
 * granted alone (it goes into debt and the next caller waits it out), so a big batch is never
 * stuck.
 */
import { assert } from "@sluice/protocol";
import type { Clock } from "./clock.js";

export interface IoThrottleOptions {
  /** Infinity for no limit. */
  readonly bytesPerSecond: number;
  /** Bytes that may pass at once after a quiet spell; defaults to one second's worth (capped at 64 MiB). */
  readonly burstBytes?: number;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class IoThrottle {
  private rate: number;
  private burst: number;
  private tokens: number;
  private lastRefillMs: number;
  private pausedUntil: Promise<void> | undefined;
  private resumeNow: (() => void) | undefined;
  /** Bytes granted so far. */
  grantedBytes = 0;

  constructor(private readonly options: IoThrottleOptions) {
    this.rate = options.bytesPerSecond;
    this.burst = IoThrottle.burstFor(options.bytesPerSecond, options.burstBytes);
    this.tokens = this.burst;
    this.lastRefillMs = options.clock.monotonicMs();
  }

  private static burstFor(rate: number, burst: number | undefined): number {
    assert(rate > 0, `throttle rate ${rate} must be positive`);
    return burst ?? (Number.isFinite(rate) ? Math.min(rate, 64 * 1024 * 1024) : Infinity);
  }

  setRate(bytesPerSecond: number, burstBytes?: number): void {
    this.refill();
    this.rate = bytesPerSecond;
    this.burst = IoThrottle.burstFor(bytesPerSecond, burstBytes);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  pause(): void {
    if (this.pausedUntil !== undefined) return;
    this.pausedUntil = new Promise<void>((resolve) => {
      this.resumeNow = resolve;
    });
  }

  resume(): void {
    const resume = this.resumeNow;
    this.pausedUntil = undefined;
    this.resumeNow = undefined;
    resume?.();
  }

  get paused(): boolean {
    return this.pausedUntil !== undefined;
  }

  private refill(): void {
    const now = this.options.clock.monotonicMs();
    const elapsed = Math.max(0, now - this.lastRefillMs);
    this.lastRefillMs = now;
    if (Number.isFinite(this.rate)) this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    else this.tokens = Infinity;
  }

  /** Waits until `bytes` may be read or written. */
  async acquire(bytes: number): Promise<void> {
    for (;;) {
      while (this.pausedUntil !== undefined) await this.pausedUntil;
      this.refill();
      if (this.tokens >= 0) break;
      await this.options.sleep(Math.ceil((-this.tokens / this.rate) * 1000));
    }
    this.tokens -= bytes;
    this.grantedBytes += bytes;
  }
}
