/**
 * A bounded, shared pool of open files: an LRU of handles used by every segment of every
 * partition, so a broker with thousands of segments keeps at most `maxOpen` descriptors.
 *
 * Invariants:
 * - At most `maxOpen` handles are open or opening at any time. When the pool is full, the least
 *   recently used idle handle is closed; if every handle is busy, the caller waits for one.
 * - A handle is never closed while a call holds it (`use` pins it for the call's duration).
 * - `forget(path)` detaches a path at once (the next `use` opens the file anew, which is what a
 *   rename over the path or an unlink needs); the old handle closes when its last user leaves.
 * Callers never hold one handle while asking for another, so waiting cannot deadlock.
 */
import { assert } from "@sluice/protocol";
import type { OpenMode, Opener, StorageFile, StorageFs } from "./storage-fs.js";

interface Entry {
  readonly path: string;
  readonly mode: OpenMode;
  readonly opening: Promise<StorageFile>;
  file: StorageFile | undefined;
  pins: number;
  detached: boolean;
}

export class FileHandlePool {
  private readonly entries = new Map<string, Entry>();
  /** Handles counted against the bound: attached entries plus detached ones still in use. */
  private slotsUsed = 0;
  private readonly waiters: Array<() => void> = [];
  /** Handles closed because the pool was full (for tests and metrics). */
  evictions = 0;
  /** Close failures swallowed during eviction (data safety rests on fdatasync, not close). */
  closeErrors = 0;

  constructor(
    readonly fs: StorageFs,
    readonly maxOpen: number,
  ) {
    assert(Number.isSafeInteger(maxOpen) && maxOpen >= 1, `maxOpen ${maxOpen} must be >= 1`);
  }

  get openCount(): number {
    return this.slotsUsed;
  }

  /** Runs `fn` with an open handle for `path`, opening it (mode `mode`) if needed. */
  async use<T>(path: string, mode: OpenMode, fn: (file: StorageFile) => Promise<T>): Promise<T> {
    const entry = await this.acquire(path, mode);
    try {
      const file = entry.file ?? (await entry.opening);
      return await fn(file);
    } finally {
      this.release(entry);
    }
  }

  private async acquire(path: string, mode: OpenMode): Promise<Entry> {
    for (;;) {
      const existing = this.entries.get(path);
      if (existing !== undefined) {
        if (existing.mode === "read" && mode !== "read") {
          this.detach(existing);
          continue;
        }
        existing.pins++;
        // Most recently used moves to the end of the map's order.
        this.entries.delete(path);
        this.entries.set(path, existing);
        try {
          await existing.opening;
        } catch (error) {
          existing.pins--;
          throw error;
        }
        return existing;
      }
      if (this.slotsUsed >= this.maxOpen && !this.evictOne()) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      this.slotsUsed++;
      const opening = this.fs.open(path, mode);
      const entry: Entry = { path, mode, opening, file: undefined, pins: 1, detached: false };
      this.entries.set(path, entry);
      try {
        entry.file = await opening;
      } catch (error) {
        if (this.entries.get(path) === entry) this.entries.delete(path);
        entry.detached = true;
        entry.pins--;
        this.freeSlot();
        throw error;
      }
      return entry;
    }
  }

  private release(entry: Entry): void {
    entry.pins--;
    assert(entry.pins >= 0, "file pool pin count went negative");
    if (entry.pins === 0 && entry.detached) {
      void this.closeEntry(entry);
    } else if (entry.pins === 0) {
      this.wakeOne();
    }
  }

  private evictOne(): boolean {
    for (const entry of this.entries.values()) {
      if (entry.pins === 0 && entry.file !== undefined) {
        this.evictions++;
        this.entries.delete(entry.path);
        entry.detached = true;
        void this.closeEntry(entry);
        return true;
      }
    }
    return false;
  }

  private detach(entry: Entry): void {
    if (this.entries.get(entry.path) === entry) this.entries.delete(entry.path);
    if (entry.detached) return;
    entry.detached = true;
    if (entry.pins === 0) void this.closeEntry(entry);
  }

  private async closeEntry(entry: Entry): Promise<void> {
    try {
      const file = entry.file ?? (await entry.opening);
      await file.close();
    } catch {
      this.closeErrors++;
    } finally {
      this.freeSlot();
    }
  }

  private freeSlot(): void {
    this.slotsUsed--;
    assert(this.slotsUsed >= 0, "file pool slot count went negative");
    this.wakeOne();
  }

  private wakeOne(): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter();
  }

  /**
   * An `Opener` for short-lived files (checkpoints): the handle counts against the bound while
   * in use and is closed right after.
   */
  readonly transient: Opener = async (path, mode, fn) => {
    try {
      return await this.use(path, mode, fn);
    } finally {
      this.forget(path);
    }
  };

  /** Detaches `path`: later uses reopen it; the current handle closes when idle. */
  forget(path: string): void {
    const entry = this.entries.get(path);
    if (entry !== undefined) this.detach(entry);
  }

  /** Detaches every path under `dirPrefix` (a log being closed or deleted). */
  forgetUnder(dirPrefix: string): void {
    for (const entry of [...this.entries.values()]) {
      if (entry.path.startsWith(dirPrefix)) this.detach(entry);
    }
  }

  /** Closes every idle handle now; resolves once all closes issued here finish. */
  async closeIdle(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const entry of [...this.entries.values()]) {
      if (entry.pins === 0) {
        this.entries.delete(entry.path);
        entry.detached = true;
        closing.push(this.closeEntry(entry));
      }
    }
    await Promise.all(closing);
  }
}
