// Proves the producer's batch buffer pool reuses only buffers given back, keeps at most its
// bound of idle buffers and of buffers held early, and refuses a buffer given back twice or of
// another size.
import { describe, expect, it } from "vitest";
import { AssertionError } from "@sluice/protocol";
import { BatchBufferPool } from "./batch-buffer-pool.js";

describe("BatchBufferPool", () => {
  it("hands out distinct buffers and reuses only given-back ones", () => {
    const pool = new BatchBufferPool(1024, 2);
    const a = pool.take();
    const b = pool.take();
    expect(a).not.toBe(b);
    expect(a.length).toBe(1024);
    pool.give(a);
    expect(pool.pooled).toBe(1);
    expect(pool.take()).toBe(a);
    expect(pool.pooled).toBe(0);
  });

  it("keeps at most pooledMax idle buffers", () => {
    const pool = new BatchBufferPool(16, 1);
    const a = pool.take();
    const b = pool.take();
    pool.give(a);
    pool.give(b);
    expect(pool.pooled).toBe(1);
    expect(pool.take()).toBe(a);
    expect(pool.take()).not.toBe(b);
  });

  it("refuses a buffer given back twice or of another size", () => {
    const pool = new BatchBufferPool(16, 4);
    const a = pool.take();
    pool.give(a);
    expect(() => pool.give(a)).toThrow(AssertionError);
    expect(() => pool.give(Buffer.alloc(8))).toThrow(AssertionError);
  });

  it("hands out at most pooledMax buffers early, and more again once they are no longer early", () => {
    const pool = new BatchBufferPool(16, 2);
    const a = pool.takeEarly();
    const b = pool.takeEarly();
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(pool.takeEarly()).toBeUndefined();
    pool.endEarly();
    expect(pool.takeEarly()).toBeDefined();
    expect(pool.heldEarly).toBe(2);
    pool.endEarly();
    pool.endEarly();
    expect(() => pool.endEarly()).toThrow(AssertionError);
  });
});
