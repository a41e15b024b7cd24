// Proves one data directory can be owned by one live broker at a time, and that a lock left by a
// dead process (kill -9) or a damaged lock file does not keep the broker from starting.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageError } from "@sluice/protocol";
import { LOCK_FILE_NAME, lockDataDir } from "./data-dir-lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("lockDataDir", () => {
  it("refuses a second owner while the first is alive, naming its pid", async () => {
    const lock = await lockDataDir(dir);
    expect((await readFile(join(dir, LOCK_FILE_NAME), "utf8")).trim()).toBe(String(process.pid));
    const second = lockDataDir(dir);
    await expect(second).rejects.toBeInstanceOf(StorageError);
    await expect(lockDataDir(dir)).rejects.toThrow(`in use by another broker (pid ${process.pid}`);
    await lock.release();
    const again = await lockDataDir(dir);
    await again.release();
  });

  it("takes over a lock whose process is gone, or whose file is garbage", async () => {
    await writeFile(join(dir, LOCK_FILE_NAME), "99999999\n"); // above Linux's pid_max: never alive
    const lock = await lockDataDir(dir);
    expect((await readFile(join(dir, LOCK_FILE_NAME), "utf8")).trim()).toBe(String(process.pid));
    await lock.release();
    await writeFile(join(dir, LOCK_FILE_NAME), "not a pid");
    await (await lockDataDir(dir)).release();
  });
});
