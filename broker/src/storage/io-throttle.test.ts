// Proves the I/O throttle holds background bytes to its rate (burst allowed), grants nothing while paused, and lets an oversized request through alone.
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { IoThrottle } from "./io-throttle.js";

function throttle(bytesPerSecond: number, burstBytes?: number): { t: IoThrottle; clock: ManualClock; slept: number[] } {
  const clock = new ManualClock(0);
  const slept: number[] = [];
  const t = new IoThrottle({
    bytesPerSecond,
    burstBytes,
    clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock.advance(ms);
    },
  });
  return { t, clock, slept };
}

describe("IoThrottle", () => {
  it("lets a burst through, then paces to the rate", async () => {
    const { t, clock } = throttle(1000, 500);
    await t.acquire(500);
    expect(clock.nowMs()).toBe(0);
    for (let i = 0; i < 10; i++) await t.acquire(100);
    // 1000 bytes past the burst at 1000 B/s: about a second.
    expect(clock.nowMs()).toBeGreaterThanOrEqual(900);
    expect(clock.nowMs()).toBeLessThanOrEqual(1100);
    expect(t.grantedBytes).toBe(1500);
  });

  it("grants an oversized request alone and makes the next caller pay its debt", async () => {
    const { t, clock } = throttle(1000, 100);
    await t.acquire(5000);
    expect(clock.nowMs()).toBe(0);
    await t.acquire(1);
    expect(clock.nowMs()).toBeGreaterThanOrEqual(4900);
  });

  it("grants nothing while paused", async () => {
    const { t } = throttle(Infinity);
    t.pause();
    let granted = false;
    const pending = t.acquire(10).then(() => (granted = true));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(granted).toBe(false);
    expect(t.paused).toBe(true);
    t.resume();
    await pending;
    expect(granted).toBe(true);
  });
});
