// Proves back-pressure: reservations beyond the budget wait, are served in FIFO order as memory
// is released, fail with BufferExhaustedError after maxBlockMs, and fail at once when they could
// never fit.
import { describe, expect, it } from "vitest";
import { MessageTooLargeError } from "@sluice/protocol";
import { BufferPool } from "./buffer-pool.js";
import { BufferExhaustedError, ClientClosedError } from "./errors.js";
import { ManualTime } from "./runtime.js";

const settled = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("BufferPool", () => {
  it("grants reservations while they fit and makes later ones wait", async () => {
    const time = new ManualTime();
    const pool = new BufferPool(100, time);
    await pool.reserve(60, 1000);
    expect(pool.used).toBe(60);
    let granted = false;
    const waiting = pool.reserve(50, 1000).then(() => {
      granted = true;
    });
    await settled();
    expect(granted).toBe(false);
    expect(pool.hasWaiters).toBe(true);
    pool.release(10);
    await settled();
    expect(granted).toBe(true);
    await waiting;
    expect(pool.used).toBe(100);
  });

  it("serves waiters in arrival order: a small request does not overtake a large one", async () => {
    const time = new ManualTime();
    const pool = new BufferPool(100, time);
    await pool.reserve(100, 0);
    const order: string[] = [];
    const big = pool.reserve(80, 1000).then(() => order.push("big"));
    const small = pool.reserve(10, 1000).then(() => order.push("small"));
    expect(pool.tryReserve(1)).toBe(false); // queued waiters come first
    pool.release(30);
    await settled();
    expect(order).toEqual([]);
    pool.release(70);
    await Promise.all([big, small]);
    expect(order).toEqual(["big", "small"]);
    expect(pool.used).toBe(90);
  });

  it("fails a waiter with BufferExhaustedError after maxBlockMs, and the next waiter can proceed", async () => {
    const time = new ManualTime();
    const pool = new BufferPool(100, time);
    await pool.reserve(90, 0);
    const big = pool.reserve(50, 200);
    const small = pool.reserve(5, 10_000);
    time.advance(199);
    await settled();
    time.advance(1);
    await expect(big).rejects.toBeInstanceOf(BufferExhaustedError);
    await small; // 90 + 5 fits once the big one stopped waiting
    expect(pool.used).toBe(95);
  });

  it("rejects at once a reservation larger than the whole budget", () => {
    const pool = new BufferPool(100, new ManualTime());
    expect(() => pool.tryReserve(101)).toThrow(MessageTooLargeError);
  });

  it("fails waiters and new reservations after close", async () => {
    const pool = new BufferPool(10, new ManualTime());
    await pool.reserve(10, 0);
    const waiting = pool.reserve(5, 1000);
    pool.close();
    await expect(waiting).rejects.toBeInstanceOf(ClientClosedError);
    expect(() => pool.tryReserve(1)).toThrow(ClientClosedError);
  });

  it("never goes over capacity under random reserve/release sequences", async () => {
    const time = new ManualTime();
    const pool = new BufferPool(1000, time);
    const held: number[] = [];
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      if (rnd() < 0.6) {
        const bytes = 1 + Math.floor(rnd() * 300);
        pending.push(pool.reserve(bytes, 1_000_000).then(() => void held.push(bytes)));
      } else if (held.length > 0) {
        pool.release(held.shift()!);
      }
      await settled();
      expect(pool.used).toBeLessThanOrEqual(1000);
      expect(pool.used).toBe(held.reduce((a, b) => a + b, 0));
    }
    while (held.length > 0) {
      pool.release(held.shift()!);
      await settled();
    }
    await Promise.all(pending);
  });
});
