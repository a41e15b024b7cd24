// Proves the shared handle pool never holds more than its bound, evicts the least recently used idle handle, never closes a handle in use, and reopens forgotten paths.
import { describe, expect, it } from "vitest";
import { FileHandlePool } from "./file-pool.js";
import { SimStorageFs } from "./sim-fs.js";

async function setup(files: number): Promise<SimStorageFs> {
  const fs = new SimStorageFs();
  await fs.mkdir("/d");
  for (let i = 0; i < files; i++) {
    const f = await fs.open(`/d/${i}`, "create");
    await f.write([Buffer.from(`file ${i}`)], 0);
    await f.close();
  }
  fs.resetCounters();
  return fs;
}

describe("FileHandlePool", () => {
  it("keeps at most maxOpen handles open under many concurrent users", async () => {
    const fs = await setup(20);
    const pool = new FileHandlePool(fs, 4);
    const reads = Array.from({ length: 200 }, (_, i) =>
      pool.use(`/d/${i % 20}`, "write", async (file) => {
        const buf = Buffer.alloc(10);
        const n = await file.read(buf, 0, 10, 0);
        return buf.subarray(0, n).toString();
      }),
    );
    const results = await Promise.all(reads);
    expect(results.every((r, i) => r === `file ${i % 20}`)).toBe(true);
    expect(fs.maxOpenHandles).toBeLessThanOrEqual(4);
    expect(pool.openCount).toBeLessThanOrEqual(4);
    expect(pool.evictions).toBeGreaterThan(0);
  });

  it("reuses a cached handle and evicts the least recently used idle one", async () => {
    const fs = await setup(3);
    const pool = new FileHandlePool(fs, 2);
    const touch = (i: number): Promise<number> => pool.use(`/d/${i}`, "write", (f) => f.size());
    await touch(0);
    await touch(1);
    await touch(0);
    expect(fs.counts.open).toBe(2);
    await touch(2);
    // 1 was least recently used: it went, 0 stayed.
    await touch(0);
    expect(fs.counts.open).toBe(3);
    await touch(1);
    expect(fs.counts.open).toBe(4);
  });

  it("never closes a handle while a call holds it", async () => {
    const fs = await setup(3);
    const pool = new FileHandlePool(fs, 1);
    let release: (() => void) | undefined;
    const holding = pool.use("/d/0", "write", async (file) => {
      await new Promise<void>((r) => (release = r));
      return file.size();
    });
    let second = false;
    const waiting = pool.use("/d/1", "write", async () => (second = true));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(second).toBe(false);
    release?.();
    expect(await holding).toBe(6);
    await waiting;
    expect(second).toBe(true);
    expect(fs.maxOpenHandles).toBe(1);
  });

  it("forget() makes the next use open the file anew (after a rename over it)", async () => {
    const fs = await setup(2);
    const pool = new FileHandlePool(fs, 4);
    expect(await pool.use("/d/0", "write", (f) => f.size())).toBe(6);
    await fs.rename("/d/1", "/d/0");
    pool.forget("/d/0");
    const buf = Buffer.alloc(6);
    await pool.use("/d/0", "write", (f) => f.read(buf, 0, 6, 0));
    expect(buf.toString()).toBe("file 1");
    await pool.closeIdle();
    expect(fs.openHandleCount).toBe(0);
  });

  it("surfaces open failures and frees the slot", async () => {
    const fs = await setup(1);
    const pool = new FileHandlePool(fs, 1);
    await expect(pool.use("/d/missing", "write", (f) => f.size())).rejects.toMatchObject({ code: "ENOENT" });
    expect(pool.openCount).toBe(0);
    expect(await pool.use("/d/0", "write", (f) => f.size())).toBe(6);
  });
});
