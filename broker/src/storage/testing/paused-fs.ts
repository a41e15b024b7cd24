/**
 * Test-only: a `StorageFs` wrapper that can stop one chosen file-system call until the test lets
 * it go, so a test can run a read (or anything else) at an exact point inside another operation
 * (a compaction swap, a retention delete, a truncation) instead of hoping a timing race hits it.
 * Calls are delegated unchanged; only the matched call waits, before it reaches the inner fs.
 * An optional `delay` runs before every call (a seeded number of event-loop turns, say), so
 * concurrent operations interleave differently per seed yet replay exactly.
 */
import type { FileStat, OpenMode, StorageFile, StorageFs } from "../fs/storage-fs.js";

export type PausableOp = "open" | "read" | "write" | "datasync" | "truncate" | "size" | "stat" | "readdir" | "mkdir" | "rename" | "unlink" | "rmdir" | "fsyncDir";

export interface PauseMatch {
  /** Only this kind of call (any when absent). */
  readonly op?: PausableOp;
  /** Only calls whose path contains this (any when absent). */
  readonly pathIncludes?: string;
  /** Let this many matching calls pass first (default 0: the next one stops). */
  readonly skip?: number;
}

export interface Pause {
  /** Resolves once a matching call is waiting; `op` and `path` say which. */
  readonly reached: Promise<{ op: PausableOp; path: string }>;
  readonly hit: boolean;
  /** Lets the waiting call (and any later one) go on. */
  release(): void;
}

interface Armed {
  readonly match: PauseMatch;
  skip: number;
  hit: boolean;
  reach: (at: { op: PausableOp; path: string }) => void;
  released: Promise<void>;
}

class PausedFile implements StorageFile {
  constructor(
    private readonly fs: PausedFs,
    private readonly inner: StorageFile,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    await this.fs.gate("read", this.inner.path);
    return this.inner.read(buffer, offset, length, position);
  }

  async write(buffers: readonly Buffer[], position: number): Promise<void> {
    await this.fs.gate("write", this.inner.path);
    return this.inner.write(buffers, position);
  }

  async datasync(): Promise<void> {
    await this.fs.gate("datasync", this.inner.path);
    return this.inner.datasync();
  }

  async truncate(sizeBytes: number): Promise<void> {
    await this.fs.gate("truncate", this.inner.path);
    return this.inner.truncate(sizeBytes);
  }

  async size(): Promise<number> {
    await this.fs.gate("size", this.inner.path);
    return this.inner.size();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class PausedFs implements StorageFs {
  private armed: Armed[] = [];

  constructor(
    readonly inner: StorageFs,
    private readonly delay?: () => Promise<void>,
  ) {}

  /** Stops the first call matching `match` until `release()`. */
  pauseAt(match: PauseMatch): Pause {
    let reach: Armed["reach"] = () => undefined;
    const reached = new Promise<{ op: PausableOp; path: string }>((resolve) => {
      reach = resolve;
    });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const armed: Armed = { match, skip: match.skip ?? 0, hit: false, reach, released };
    this.armed.push(armed);
    return {
      reached,
      get hit() {
        return armed.hit;
      },
      release: () => {
        this.armed = this.armed.filter((a) => a !== armed);
        release();
      },
    };
  }

  /** Waits if `op` on `path` matches an armed pause. */
  async gate(op: PausableOp, path: string): Promise<void> {
    if (this.delay !== undefined) await this.delay();
    for (const armed of this.armed) {
      if (armed.hit) continue;
      if (armed.match.op !== undefined && armed.match.op !== op) continue;
      if (armed.match.pathIncludes !== undefined && !path.includes(armed.match.pathIncludes)) continue;
      if (armed.skip-- > 0) continue;
      armed.hit = true;
      armed.reach({ op, path });
      await armed.released;
      return;
    }
  }

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    await this.gate("open", path);
    return new PausedFile(this, await this.inner.open(path, mode));
  }

  async stat(path: string): Promise<FileStat | undefined> {
    await this.gate("stat", path);
    return this.inner.stat(path);
  }

  async readdir(dir: string): Promise<string[]> {
    await this.gate("readdir", dir);
    return this.inner.readdir(dir);
  }

  async mkdir(dir: string): Promise<void> {
    await this.gate("mkdir", dir);
    return this.inner.mkdir(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.gate("rename", from);
    return this.inner.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    await this.gate("unlink", path);
    return this.inner.unlink(path);
  }

  async rmdir(dir: string): Promise<void> {
    await this.gate("rmdir", dir);
    return this.inner.rmdir(dir);
  }

  async fsyncDir(dir: string): Promise<void> {
    await this.gate("fsyncDir", dir);
    return this.inner.fsyncDir(dir);
  }
}
