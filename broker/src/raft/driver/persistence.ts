/**
 * Where a broker's Raft groups keep their logs and hard states. The driver writes each
 * group's Ready through `write` (visible to the core at once, through the RaftStorage that
 * `openGroup` returned) and makes a whole pass durable with one `sync` (group commit across
 * every group of the broker) before sending messages that depend on it.
 *
 * Implementations: MemoryPersistence (tests, and groups whose durability comes from
 * elsewhere) and WalPersistence (wal.ts: one append-only write-ahead log per broker, fdatasync
 * per sync). A PartitionLog-backed adapter is future work (see README.md: the core's
 * RaftStorage reads are synchronous, the partition log's are not).
 *
 * Invariants of every implementation: after `write` the storage reflects it (entries appended
 * with any conflicting suffix discarded, snapshot installed, hard state set); after `sync`
 * resolves, everything written before the call survives a crash.
 */
import type { Offset } from "@sluice/protocol";
import type { GroupId } from "../core/multi-group.js";
import { MemoryStorage, type RaftStorage } from "../core/storage.js";
import type { Configuration, Entry, HardState, Snapshot } from "../core/types.js";
import { InvalidDriverRequestError } from "./errors.js";

export interface RaftPersistence {
  /** Groups with stored state (recovered from disk), in ascending order. */
  storedGroups(): GroupId[];
  /** The stored state of `group`; a new group starts empty with `bootstrap` as its configuration. */
  openGroup(group: GroupId, bootstrap: Configuration): RaftStorage;
  /** Applies one Ready's writes for `group` (snapshot, then entries, then hard state). */
  write(group: GroupId, snapshot: Snapshot | null, entries: readonly Entry[], hardState: HardState | null): void;
  /** Makes every write issued before this call durable. */
  sync(): Promise<void>;
  /**
   * Discards `group`'s entries up to `offset` (an entry boundary the application has applied),
   * recording a snapshot there with `data` (empty for partition groups).
   */
  compact(group: GroupId, offset: Offset, data: Uint8Array): void;
  /** Forgets `group` (it left this broker). */
  removeGroup(group: GroupId): void;
  close(): Promise<void>;
}

/** Checks a compaction request against `storage`; throws InvalidDriverRequestError when it cannot apply. */
export function checkCompaction(storage: MemoryStorage, group: GroupId, offset: Offset): boolean {
  if (offset <= storage.snapshotMeta().offset) return false;
  const entry = storage.entryAt(offset);
  if (entry === undefined || entry.lastOffset !== offset) {
    throw new InvalidDriverRequestError(`group ${group}: compaction offset ${offset} is not an entry boundary in the log`);
  }
  return true;
}

export class MemoryPersistence implements RaftPersistence {
  private readonly groups = new Map<GroupId, MemoryStorage>();
  /** sync() calls that had writes to make durable (group commit rounds). */
  syncs = 0;
  private dirty = false;

  storedGroups(): GroupId[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  openGroup(group: GroupId, bootstrap: Configuration): RaftStorage {
    let storage = this.groups.get(group);
    if (storage === undefined) {
      storage = new MemoryStorage(bootstrap);
      this.groups.set(group, storage);
    }
    return storage;
  }

  /** The storage of a hosted group (tests inspect it). */
  storage(group: GroupId): MemoryStorage | undefined {
    return this.groups.get(group);
  }

  write(group: GroupId, snapshot: Snapshot | null, entries: readonly Entry[], hardState: HardState | null): void {
    const storage = this.groups.get(group);
    if (storage === undefined) throw new InvalidDriverRequestError(`group ${group} was not opened`);
    if (snapshot !== null) storage.applySnapshot(snapshot);
    if (entries.length > 0) storage.append(entries);
    if (hardState !== null) storage.setHardState(hardState);
    this.dirty = true;
  }

  async sync(): Promise<void> {
    if (this.dirty) this.syncs++;
    this.dirty = false;
  }

  compact(group: GroupId, offset: Offset, data: Uint8Array): void {
    const storage = this.groups.get(group);
    if (storage === undefined) throw new InvalidDriverRequestError(`group ${group} was not opened`);
    if (checkCompaction(storage, group, offset)) storage.compact(offset, data);
  }

  removeGroup(group: GroupId): void {
    this.groups.delete(group);
  }

  async close(): Promise<void> {}
}
