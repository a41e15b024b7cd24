/**
 * What the Raft core needs from its log storage, and an in-memory implementation used by
 * tests and the simulator. The core only reads storage; the driver writes it while handling
 * a Ready (append entries, install snapshots, save the hard state) and compacts it when the
 * application has a snapshot. A later adapter backs this with the partition log: an entry
 * is a record batch, offsets are the log's offsets, the snapshot offset is the log start - 1.
 *
 * Invariants of every implementation:
 * - entries are contiguous: each starts at the previous entry's lastOffset + 1, and the first
 *   starts at snapshotMeta().offset + 1;
 * - firstOffset() === snapshotMeta().offset + 1; lastOffset() is the last entry's lastOffset,
 *   or snapshotMeta().offset when there are no entries;
 * - what a read returns was written by the driver (page cache included); whether it is durable
 *   is the driver's business (it syncs before sending messages that depend on it).
 */
import { assert, asOffset, type Offset } from "@sluice/protocol";
import {
  BEFORE_FIRST_OFFSET,
  NO_NODE,
  asTerm,
  emptyConfiguration,
  type Configuration,
  type ConfigEntry,
  type Entry,
  type HardState,
  type Snapshot,
  type SnapshotMeta,
} from "./types.js";

export interface RaftInitialState {
  readonly hardState: HardState;
  /** Config entries present in the log after the snapshot, oldest first (an adapter indexes its control batches). */
  readonly configEntries: readonly ConfigEntry[];
}

export interface RaftStorage {
  initialState(): RaftInitialState;
  snapshotMeta(): SnapshotMeta;
  /** The latest snapshot, sent to followers whose next offset was compacted away. */
  snapshot(): Snapshot;
  firstOffset(): Offset;
  lastOffset(): Offset;
  /** The entry containing `offset`, or undefined when offset is outside [firstOffset, lastOffset]. */
  entryAt(offset: Offset): Entry | undefined;
  /**
   * Entries starting with the one whose baseOffset is `fromOffset`, up to the one containing
   * `toOffset`, stopping before `maxBytes` or `maxEntries` would be exceeded (but always at
   * least one entry when the range is non-empty).
   */
  entries(fromOffset: Offset, toOffset: Offset, maxBytes: number, maxEntries: number): readonly Entry[];
}

/** Index of the entry of `entries` (contiguous, ascending) that contains `offset`, or -1. */
export function indexOfEntryContaining(entries: readonly Entry[], offset: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid] as Entry;
    if (entry.lastOffset < offset) lo = mid + 1;
    else if (entry.baseOffset > offset) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/**
 * Appends entries[from..] (up to the one containing toOffset) to `out` while `out` stays within
 * the byte and count budgets; `out` always ends up with at least one entry. `bytesSoFar` is
 * the size of what `out` already holds.
 */
export function sliceWithinBudget(
  entries: readonly Entry[],
  from: number,
  toOffset: number,
  maxBytes: number,
  maxEntries: number,
  out: Entry[],
  bytesSoFar = 0,
): void {
  let bytes = bytesSoFar;
  for (let i = from; i < entries.length; i++) {
    const entry = entries[i] as Entry;
    if (entry.baseOffset > toOffset) return;
    if (out.length > 0 && (bytes + entry.sizeBytes > maxBytes || out.length >= maxEntries)) return;
    bytes += entry.sizeBytes;
    out.push(entry);
  }
}

/** Stored state after a bootstrap: no entries, the initial configuration as a snapshot at offset -1. */
export function bootstrapSnapshot(config: Configuration): Snapshot {
  return { meta: { offset: BEFORE_FIRST_OFFSET, term: asTerm(0), config }, data: new Uint8Array(0) };
}

const initialHardState: HardState = { term: asTerm(0), vote: NO_NODE, commit: BEFORE_FIRST_OFFSET };

/**
 * RaftStorage in memory. Also offers the driver-side writes (append with suffix truncation,
 * snapshot install, compaction) and `clone()` for the simulator's crash model.
 */
export class MemoryStorage implements RaftStorage {
  private hard: HardState;
  private snap: Snapshot;
  private ents: Entry[];

  /** A fresh replica: `config` is the bootstrap membership (empty for a replica that waits to be added). */
  constructor(config: Configuration = emptyConfiguration) {
    this.hard = initialHardState;
    this.snap = bootstrapSnapshot(config);
    this.ents = [];
  }

  initialState(): RaftInitialState {
    const configEntries: ConfigEntry[] = [];
    for (const entry of this.ents) if (entry.kind === "config") configEntries.push(entry);
    return { hardState: this.hard, configEntries };
  }

  hardState(): HardState {
    return this.hard;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snap.meta;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  firstOffset(): Offset {
    return asOffset(this.snap.meta.offset + 1);
  }

  lastOffset(): Offset {
    const last = this.ents[this.ents.length - 1];
    return last === undefined ? this.snap.meta.offset : last.lastOffset;
  }

  entryAt(offset: Offset): Entry | undefined {
    const i = indexOfEntryContaining(this.ents, offset);
    return i < 0 ? undefined : this.ents[i];
  }

  entries(fromOffset: Offset, toOffset: Offset, maxBytes: number, maxEntries: number): readonly Entry[] {
    const i = indexOfEntryContaining(this.ents, fromOffset);
    assert(i >= 0 && (this.ents[i] as Entry).baseOffset === fromOffset, `entries(${fromOffset}) is not an entry start`);
    const out: Entry[] = [];
    sliceWithinBudget(this.ents, i, toOffset, maxBytes, maxEntries, out);
    return out;
  }

  /** All entries after the snapshot (tests and the simulator's checks). */
  allEntries(): readonly Entry[] {
    return this.ents;
  }

  setHardState(hardState: HardState): void {
    this.hard = hardState;
  }

  /**
   * Appends `entries`, first discarding any stored suffix they overwrite. The first entry must
   * start at an existing entry boundary (or right after the last entry) above the snapshot.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.baseOffset > this.snap.meta.offset, `append at ${first.baseOffset} is inside the snapshot`);
    const last = this.lastOffset();
    assert(first.baseOffset <= last + 1, `append at ${first.baseOffset} leaves a gap after ${last}`);
    if (first.baseOffset <= last) {
      const i = indexOfEntryContaining(this.ents, first.baseOffset);
      assert(i >= 0 && (this.ents[i] as Entry).baseOffset === first.baseOffset, "append must start at an entry boundary");
      this.ents.length = i;
    }
    for (const entry of entries) this.ents.push(entry);
  }

  /** Replaces the whole log with `snapshot` (an install from the leader). Older snapshots are ignored. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.offset <= this.snap.meta.offset) return;
    this.snap = snapshot;
    this.ents = [];
  }

  /**
   * Records a snapshot of the application state at `offset` (an entry boundary the application
   * has applied) and discards the entries it covers. The configuration at that offset is
   * derived from the log.
   */
  compact(offset: Offset, data: Uint8Array): void {
    if (offset <= this.snap.meta.offset) return;
    const i = indexOfEntryContaining(this.ents, offset);
    assert(i >= 0, `compact(${offset}) is beyond the log`);
    const entry = this.ents[i] as Entry;
    assert(entry.lastOffset === offset, `compact(${offset}) is not an entry boundary`);
    let config = this.snap.meta.config;
    for (let j = i; j >= 0; j--) {
      const candidate = this.ents[j] as Entry;
      if (candidate.kind === "config") {
        config = candidate.config;
        break;
      }
    }
    this.snap = { meta: { offset, term: entry.term, config }, data };
    this.ents = this.ents.slice(i + 1);
  }

  /** An independent copy (entries are immutable and shared). */
  clone(): MemoryStorage {
    const copy = new MemoryStorage();
    copy.hard = this.hard;
    copy.snap = this.snap;
    copy.ents = this.ents.slice();
    return copy;
  }
}
