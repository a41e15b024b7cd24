// Proves the work queue's contract: de-duplication, one worker per key, re-processing of a key
// added while it runs, exponential per-key backoff with a cap, earliest-wins delayed adds, and a
// shutdown that releases waiting workers.
import { ManualTime } from "@sluice/client";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, WorkQueue } from "./work-queue.js";

function queue(time = new ManualTime()): { q: WorkQueue; time: ManualTime } {
  return { q: new WorkQueue({ scheduler: time, clock: time, backoffBaseMs: 100, backoffMaxMs: 1_000 }), time };
}

describe("WorkQueue", () => {
  it("hands out each queued key once, in order, however often it was added", async () => {
    const { q } = queue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.depth).toBe(0);
  });

  it("never gives a key to a second worker while the first holds it, and re-queues it after done", async () => {
    const { q } = queue();
    q.add("a");
    const first = await q.get();
    expect(first).toBe("a");
    q.add("a"); // changed while being processed
    q.add("b");
    expect(await q.get()).toBe("b");
    expect(q.depth).toBe(0);
    q.done("a");
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe("a");
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const { q } = queue();
    const waiting = q.get();
    q.add("x");
    expect(await waiting).toBe("x");
    // Handed over directly: a second add while it is processed waits for done().
    q.add("x");
    expect(q.depth).toBe(0);
    q.done("x");
    expect(q.depth).toBe(1);
  });

  it("backs off exponentially per key up to the cap, and forget() starts over", () => {
    const { q } = queue();
    expect([1, 2, 3, 4, 5, 6].map(() => q.addRateLimited("k"))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(q.failuresOf("k")).toBe(6);
    expect(q.addRateLimited("other")).toBe(100);
    q.forget("k");
    expect(q.addRateLimited("k")).toBe(100);
  });

  it("adds a rate-limited key only when its delay has passed", async () => {
    const { q, time } = queue();
    q.addRateLimited("k");
    q.addRateLimited("k"); // second failure: 200 ms, but the earlier 100 ms timer wins
    time.advance(99);
    expect(q.depth).toBe(0);
    time.advance(1);
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe("k");
  });

  it("keeps the earliest of several delayed adds", () => {
    const { q, time } = queue();
    q.addAfter("k", 500);
    q.addAfter("k", 50);
    q.addAfter("k", 300);
    time.advance(50);
    expect(q.depth).toBe(1);
    time.advance(1_000);
    expect(q.depth).toBe(1);
  });

  it("releases waiting workers and ignores adds after shutDown", async () => {
    const { q, time } = queue();
    const waiting = q.get();
    q.addAfter("later", 100);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add("x");
    time.advance(1_000);
    expect(q.depth).toBe(0);
    expect(await q.get()).toBeUndefined();
  });
});

describe("backoffDelayMs", () => {
  it("doubles from the base and never exceeds the cap, even for huge failure counts", () => {
    expect(backoffDelayMs(0, 250, 60_000)).toBe(0);
    expect(backoffDelayMs(1, 250, 60_000)).toBe(250);
    expect(backoffDelayMs(9, 250, 60_000)).toBe(60_000);
    expect(backoffDelayMs(10_000, 250, 60_000)).toBe(60_000);
  });
});
