// Proves the simulated disk's crash model: only fdatasync'ed bytes and fsynced names survive a crash, a prefix crash keeps an in-order prefix (possibly torn), and the test controls (faults, held syncs, scheduled crashes) behave.
import { describe, expect, it } from "vitest";
import { SimStorageFs } from "./sim-fs.js";
import { seededRandom } from "./sim-random.js";

async function setup(): Promise<SimStorageFs> {
  const fs = new SimStorageFs();
  await fs.mkdir("/d");
  await fs.fsyncDir("/");
  return fs;
}

describe("SimStorageFs", () => {
  it("drops unsynced bytes in a crash and keeps synced ones", async () => {
    let fs = await setup();
    const f = await fs.open("/d/f", "create");
    await fs.fsyncDir("/d");
    await f.write([Buffer.from("synced")], 0);
    await f.datasync();
    await f.write([Buffer.from("+lost")], 6);
    expect(fs.content("/d/f").toString()).toBe("synced+lost");
    expect(fs.durableContent("/d/f")?.toString()).toBe("synced");
    fs = fs.crash();
    expect(fs.content("/d/f").toString()).toBe("synced");
    await expect(f.read(Buffer.alloc(1), 0, 1, 0)).rejects.toMatchObject({ code: "EBADF" });
  });

  it("loses a new file whose name was never fsynced, even if its bytes were", async () => {
    let fs = await setup();
    const f = await fs.open("/d/new", "create");
    await f.write([Buffer.from("data")], 0);
    await f.datasync();
    fs = fs.crash();
    expect(await fs.stat("/d/new")).toBeUndefined();
  });

  it("makes a rename durable only with the directory fsync, and atomically", async () => {
    let fs = await setup();
    for (const [name, text] of [["a", "old"], ["b", "new"]] as const) {
      const f = await fs.open(`/d/${name}`, "create");
      await f.write([Buffer.from(text)], 0);
      await f.datasync();
      await f.close();
    }
    await fs.fsyncDir("/d");
    await fs.rename("/d/b", "/d/a");
    fs = fs.crash();
    expect(fs.content("/d/a").toString()).toBe("old");
    await fs.rename("/d/b", "/d/a");
    await fs.fsyncDir("/d");
    fs = fs.crash();
    expect(fs.content("/d/a").toString()).toBe("new");
    expect(await fs.stat("/d/b")).toBeUndefined();
  });

  it("a prefix crash keeps an in-order prefix of pending writes, sometimes with a torn last one", async () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      let fs = await setup();
      const f = await fs.open("/d/f", "create");
      await fs.fsyncDir("/d");
      for (const chunk of ["aaaa", "bbbb", "cccc"]) await f.write([Buffer.from(chunk)], (await f.size()));
      fs = fs.crash("prefix", seededRandom(seed));
      const text = fs.content("/d/f").toString();
      expect("aaaabbbbcccc".startsWith(text)).toBe(true);
      seen.add(text);
    }
    // Whole prefixes and torn ones both happen.
    expect(seen.has("")).toBe(true);
    expect([...seen].some((t) => t.length % 4 !== 0)).toBe(true);
    expect(seen.has("aaaabbbbcccc")).toBe(true);
  });

  it("injects faults, optionally after a partial write", async () => {
    const fs = await setup();
    const f = await fs.open("/d/f", "create");
    fs.injectFault({ op: "write", code: "ENOSPC", partialWriteBytes: 2 });
    await expect(f.write([Buffer.from("abcd")], 0)).rejects.toMatchObject({ code: "ENOSPC" });
    expect(fs.content("/d/f").toString()).toBe("ab");
    await f.write([Buffer.from("abcd")], 0);
    expect(fs.content("/d/f").toString()).toBe("abcd");
  });

  it("holds fdatasync calls until released, and fails held ones in a crash", async () => {
    let fs = await setup();
    const f = await fs.open("/d/f", "create");
    fs.holdSyncs();
    let done = false;
    const sync = f.datasync().then(() => (done = true));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(done).toBe(false);
    expect(fs.heldSyncCount).toBe(1);
    fs.releaseSyncs();
    await sync;
    expect(done).toBe(true);
    fs.holdSyncs();
    const failing = f.datasync();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    fs = fs.crash();
    await expect(failing).rejects.toMatchObject({ code: "EIO" });
  });

  it("crashes at a scheduled call and fails it", async () => {
    const fs = await setup();
    fs.resetCounters();
    fs.scheduleCrash(3);
    const f = await fs.open("/d/f", "create");
    await f.write([Buffer.from("x")], 0);
    await expect(f.datasync()).rejects.toMatchObject({ code: "EIO" });
    expect(fs.scheduledCrashHappened).toBe(true);
    expect(await fs.restart().stat("/d/f")).toBeUndefined();
  });

  it("kills every view of the crashed process: its later calls fail and cannot touch the rebooted disk", async () => {
    const fs = await setup();
    const next = fs.crash();
    expect(fs.alive).toBe(false);
    expect(next.alive).toBe(true);
    await expect(fs.open("/d/zombie", "create")).rejects.toMatchObject({ code: "EIO" });
    await expect(fs.mkdir("/d/zombie-dir")).rejects.toMatchObject({ code: "EIO" });
    expect(await next.readdir("/d")).toEqual([]);
  });

  it("tracks open handles and their high-water mark", async () => {
    const fs = await setup();
    const a = await fs.open("/d/a", "create");
    const b = await fs.open("/d/b", "create");
    expect(fs.openHandleCount).toBe(2);
    await a.close();
    await b.close();
    expect(fs.openHandleCount).toBe(0);
    expect(fs.maxOpenHandles).toBe(2);
  });

  it("media damage hits durable bytes too", async () => {
    let fs = await setup();
    const f = await fs.open("/d/f", "create");
    await fs.fsyncDir("/d");
    await f.write([Buffer.from("abcdef")], 0);
    await f.datasync();
    fs.corruptByte("/d/f", 0, 0x20);
    fs.cutFile("/d/f", 4);
    fs = fs.crash();
    expect(fs.content("/d/f").toString()).toBe("Abcd");
  });
});
