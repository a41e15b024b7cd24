/**
 * One broker per data directory: a `<dataDir>/broker.lock` file holding the owner's pid, created
 * exclusively at start and removed at clean shutdown. Two brokers appending to the same logs
 * would corrupt them, so a second start fails with a clear StorageError naming the owner.
 *
 * A lock left by a process that no longer exists (kill -9, power loss) is stale and taken over.
 * Liveness is checked with signal 0; a recycled pid could make a stale lock look live, which
 * fails safe (the operator removes the file after checking).
 */
import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "@sluice/protocol";

export const LOCK_FILE_NAME = "broker.lock";

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else — alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function createExclusive(path: string): Promise<boolean> {
  try {
    const file = await open(path, "wx", 0o644);
    try {
      await file.writeFile(`${process.pid}\n`, "utf8");
      await file.datasync();
    } finally {
      await file.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new StorageError(`cannot create ${path}`, { cause: error });
  }
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await createExclusive(path)) {
      return { path, release: () => rm(path, { force: true }) };
    }
    const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new StorageError(`data directory ${dataDir} is in use by another broker (pid ${owner}, lock file ${path})`);
    }
    // Stale (its process is gone, or the file is unreadable): take it over.
    await rm(path, { force: true });
  }
  throw new StorageError(`could not take the lock ${path} (another broker is starting at the same time?)`);
}
