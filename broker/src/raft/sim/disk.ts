/**
 * A simulated disk for one replica: what the core reads (the page-cache view, a
 * MemoryStorage) and what would survive a crash (the durable image). Writes go to the view
 * at once and are queued as pending operations; `sync()` makes them durable. A crash keeps
 * the durable image plus a random prefix of the pending operations, and the last kept
 * append may be torn: only a prefix of its entries survives (recovery's CRC scan drops a
 * torn batch and everything after it).
 *
 * Model choice: pending operations reach the disk in order (a prefix), which is what a
 * single append-only log file with ordered writeback gives; a torn tail is the only
 * corruption, and it only ever affects unsynced data.
 *
 * Invariants: after sync() the durable image equals the view; a crash never changes data
 * that was synced.
 */
import type { Offset } from "@sluice/protocol";
import type { Random } from "../core/random.js";
import { MemoryStorage } from "../core/storage.js";
import type { Configuration, Entry, HardState, Snapshot } from "../core/types.js";

type DiskOp =
  | { readonly type: "append"; readonly entries: readonly Entry[] }
  | { readonly type: "hard-state"; readonly hardState: HardState }
  | { readonly type: "snapshot"; readonly snapshot: Snapshot };

function applyOp(storage: MemoryStorage, op: DiskOp): void {
  switch (op.type) {
    case "append":
      storage.append(op.entries);
      break;
    case "hard-state":
      storage.setHardState(op.hardState);
      break;
    case "snapshot":
      storage.applySnapshot(op.snapshot);
      break;
  }
}

export interface CrashOutcome {
  /** Pending operations that survived whole. */
  readonly keptOps: number;
  readonly pendingOps: number;
  /** Entries of a torn append that survived (-1: no torn write). */
  readonly tornKeptEntries: number;
}

export class SimDisk {
  /** What the core reads: durable image + every pending write. */
  view: MemoryStorage;
  private durable: MemoryStorage;
  private pending: DiskOp[] = [];

  constructor(config: Configuration) {
    this.durable = new MemoryStorage(config);
    this.view = this.durable.clone();
  }

  get unsyncedOps(): number {
    return this.pending.length;
  }

  writeSnapshot(snapshot: Snapshot): void {
    this.view.applySnapshot(snapshot);
    this.pending.push({ type: "snapshot", snapshot });
  }

  writeEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.view.append(entries);
    this.pending.push({ type: "append", entries });
  }

  writeHardState(hardState: HardState): void {
    this.view.setHardState(hardState);
    this.pending.push({ type: "hard-state", hardState });
  }

  sync(): void {
    for (const op of this.pending) applyOp(this.durable, op);
    this.pending = [];
  }

  /**
   * Compaction writes its snapshot file and deletes covered segments with their own fsync:
   * it is durable at once. Only applied (hence synced) offsets are ever compacted.
   */
  compact(offset: Offset, data: Uint8Array): void {
    this.view.compact(offset, data);
    this.durable.compact(offset, data);
  }

  /** Power loss: keeps a random prefix of pending writes (possibly tearing the last append). */
  crash(random: Random, tornProbability: number): CrashOutcome {
    const pendingOps = this.pending.length;
    const keep = random.nextInt(pendingOps + 1);
    let tornKeptEntries = -1;
    for (let i = 0; i < keep; i++) applyOp(this.durable, this.pending[i] as DiskOp);
    const next = this.pending[keep];
    if (next !== undefined && next.type === "append" && random.nextFloat() < tornProbability) {
      tornKeptEntries = random.nextInt(next.entries.length);
      if (tornKeptEntries > 0) applyOp(this.durable, { type: "append", entries: next.entries.slice(0, tornKeptEntries) });
    }
    this.pending = [];
    this.view = this.durable.clone();
    return { keptOps: keep, pendingOps, tornKeptEntries };
  }
}
