/**
 * The Raft log as the core sees it: entries the driver has written (RaftStorage) followed by
 * "unstable" entries the core has accepted but not yet handed out in a Ready and had
 * acknowledged by advance(). Unstable entries may overwrite a suffix of storage (a follower
 * truncating a conflicting tail); storage is never read at or beyond the unstable start.
 *
 * Offsets, not indexes: an entry covers [baseOffset, lastOffset]. A "boundary" is an offset
 * some entry ends at (or the snapshot offset, which ends the compacted prefix). Log matching
 * compares terms at boundaries; commit, match and applied offsets are always boundaries.
 *
 * A stored commit point beyond the stored log is a StorageError (the disk lost synced data),
 * not an assertion: it is the world's fault, and the replica must not start on it.
 *
 * Invariants: committed <= lastOffset(); committed never decreases; no entry at or below
 * `committed` is ever truncated (asserted: it would lose committed data); applied <= committed.
 */
import { StorageError, assert, asOffset } from "@sluice/protocol";
import { indexOfEntryContaining, sliceWithinBudget, type RaftStorage } from "./storage.js";
import { asTerm, type Entry, type Snapshot, type Term } from "./types.js";

/** Term lookups answer -1 for "not available" (compacted, beyond the end, or not a boundary). */
export const UNKNOWN_TERM = -1;

export class RaftLog {
  readonly storage: RaftStorage;
  private unstableSnapshot: Snapshot | null = null;
  private unstable: Entry[] = [];
  /** Offset of the first unstable entry (meaningful when `unstable` is non-empty). */
  private unstableOffset: number;
  /** Highest committed offset. */
  committed: number;
  /** Highest offset the application has applied (acknowledged through advance()). */
  applied: number;
  /** Highest offset handed to the application in a Ready not yet advanced. */
  applying: number;

  constructor(storage: RaftStorage, committed: number, applied: number) {
    this.storage = storage;
    this.unstableOffset = storage.lastOffset() + 1;
    const last = storage.lastOffset();
    if (committed > last) throw new StorageError(`stored commit ${committed} is beyond the stored log end ${last}: the log lost synced data`);
    this.committed = Math.max(committed, storage.snapshotMeta().offset);
    this.applied = Math.max(applied, storage.snapshotMeta().offset);
    assert(this.applied <= this.committed, `applied ${applied} is beyond commit ${this.committed}`);
    this.applying = this.applied;
  }

  /** Offset of the snapshot that ends the compacted prefix (-1 for a log that was never compacted). */
  snapshotOffset(): number {
    return this.unstableSnapshot !== null ? this.unstableSnapshot.meta.offset : this.storage.snapshotMeta().offset;
  }

  firstOffset(): number {
    return this.snapshotOffset() + 1;
  }

  lastOffset(): number {
    const last = this.unstable[this.unstable.length - 1];
    if (last !== undefined) return last.lastOffset;
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.meta.offset;
    return this.storage.lastOffset();
  }

  lastTerm(): number {
    return this.termAtBoundary(this.lastOffset());
  }

  /** Last offset whose entry (and everything before it) the driver has written: the leader's own "match". */
  stableLastOffset(): number {
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.meta.offset - 1;
    if (this.unstable.length > 0) return this.unstableOffset - 1;
    return this.storage.lastOffset();
  }

  /** The entry containing `offset`, or undefined outside [firstOffset, lastOffset]. */
  entryContaining(offset: number): Entry | undefined {
    if (offset > this.lastOffset() || offset < this.firstOffset()) return undefined;
    if (this.unstable.length > 0 && offset >= this.unstableOffset) {
      return this.unstable[indexOfEntryContaining(this.unstable, offset)];
    }
    if (this.unstableSnapshot !== null) return undefined;
    return this.storage.entryAt(asOffset(offset));
  }

  /** Term of the entry containing `offset` (the snapshot term at the snapshot offset), or UNKNOWN_TERM. */
  termAt(offset: number): number {
    if (offset === this.snapshotOffset()) return this.snapshotTerm();
    const entry = this.entryContaining(offset);
    return entry === undefined ? UNKNOWN_TERM : entry.term;
  }

  /** Term of the entry ending exactly at `offset` (or the snapshot term at the snapshot offset), else UNKNOWN_TERM. */
  termAtBoundary(offset: number): number {
    if (offset === this.snapshotOffset()) return this.snapshotTerm();
    const entry = this.entryContaining(offset);
    return entry === undefined || entry.lastOffset !== offset ? UNKNOWN_TERM : entry.term;
  }

  matchTerm(offset: number, term: number): boolean {
    return this.termAtBoundary(offset) === term;
  }

  /** The largest boundary <= offset (offset itself when it lies at or below the snapshot offset). */
  boundaryAtOrBefore(offset: number): number {
    const last = this.lastOffset();
    if (offset >= last) return last;
    if (offset <= this.snapshotOffset()) return offset;
    const entry = this.entryContaining(offset);
    assert(entry !== undefined, `no entry contains ${offset} inside the log`);
    return entry.lastOffset === offset ? offset : entry.baseOffset - 1;
  }

  /**
   * Fast backtracking: the largest boundary <= offset whose term is <= term, with that term.
   * Below the snapshot the answer is (offset below the snapshot, 0): "send a snapshot".
   */
  findConflictByTerm(offset: number, term: number): { offset: number; term: number } {
    let at = this.boundaryAtOrBefore(offset);
    for (;;) {
      const atTerm = this.termAtBoundary(at);
      if (atTerm === UNKNOWN_TERM) return { offset: Math.min(at, this.snapshotOffset() - 1), term: 0 };
      if (atTerm <= term) return { offset: at, term: atTerm };
      if (at === this.snapshotOffset()) return { offset: at - 1, term: 0 };
      const entry = this.entryContaining(at);
      assert(entry !== undefined, "boundary without an entry");
      at = entry.baseOffset - 1;
    }
  }

  /** Raft's "at least as up-to-date" comparison (section 5.4.1). */
  isUpToDate(lastOffset: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastOffset >= this.lastOffset());
  }

  /** Index of the first entry that is not already in the log with the same term, or -1 when all are. */
  findConflict(entries: readonly Entry[]): number {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      if (!this.matchTerm(entry.lastOffset, entry.term)) return i;
    }
    return -1;
  }

  /**
   * A follower's append: if (prevOffset, prevTerm) matches, skips the entries already present,
   * truncates at the first conflict, appends the rest and advances commit to
   * min(leaderCommit, last new offset). Returns the last offset now known to match the
   * leader, the index in `entries` from which entries were appended (-1: none) and the offset
   * the log was truncated at (-1: none); null when (prevOffset, prevTerm) does not match.
   */
  maybeAppend(
    prevOffset: number,
    prevTerm: number,
    leaderCommit: number,
    entries: readonly Entry[],
  ): { lastNewOffset: number; appendedFrom: number; truncatedAt: number } | null {
    if (!this.matchTerm(prevOffset, prevTerm)) return null;
    const lastEntry = entries[entries.length - 1];
    const lastNewOffset = lastEntry === undefined ? prevOffset : lastEntry.lastOffset;
    const conflict = this.findConflict(entries);
    let truncatedAt = -1;
    if (conflict >= 0) {
      const first = entries[conflict] as Entry;
      assert(first.baseOffset > this.committed, `entry at ${first.baseOffset} conflicts with committed ${this.committed}`);
      truncatedAt = this.append(conflict === 0 ? entries : entries.slice(conflict));
    }
    this.commitTo(Math.min(leaderCommit, lastNewOffset));
    return { lastNewOffset, appendedFrom: conflict, truncatedAt };
  }

  /**
   * Appends entries (the first must start at a boundary after the commit point), overwriting
   * any suffix from its base offset. Returns the offset truncation started at, or -1.
   */
  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return -1;
    const after = first.baseOffset;
    const last = this.lastOffset();
    assert(after > this.committed, `append at ${after} would overwrite committed ${this.committed}`);
    assert(after <= last + 1, `append at ${after} leaves a gap after ${last}`);
    const truncatedAt = after <= last ? after : -1;
    if (this.unstable.length > 0 && after === last + 1) {
      for (const entry of entries) this.unstable.push(entry);
    } else if (this.unstable.length === 0 || after <= this.unstableOffset) {
      this.unstableOffset = after;
      this.unstable = entries.slice();
    } else {
      const i = indexOfEntryContaining(this.unstable, after);
      assert(i >= 0 && (this.unstable[i] as Entry).baseOffset === after, "truncation must start at an entry boundary");
      this.unstable = this.unstable.slice(0, i);
      for (const entry of entries) this.unstable.push(entry);
    }
    return truncatedAt;
  }

  /**
   * Entries starting at `fromOffset` (a boundary + 1, not compacted) within the budgets.
   * Empty when fromOffset is beyond the end.
   */
  entriesFrom(fromOffset: number, maxBytes: number, maxEntries: number, toOffset = this.lastOffset()): Entry[] {
    const out: Entry[] = [];
    if (fromOffset > toOffset) return out;
    assert(fromOffset >= this.firstOffset(), `entries from ${fromOffset} were compacted (first ${this.firstOffset()})`);
    const unstableStart = this.unstable.length > 0 ? this.unstableOffset : Number.POSITIVE_INFINITY;
    if (fromOffset < unstableStart && this.unstableSnapshot === null) {
      const storageTo = Math.min(toOffset, unstableStart - 1, this.storage.lastOffset());
      for (const entry of this.storage.entries(asOffset(fromOffset), asOffset(storageTo), maxBytes, maxEntries)) {
        out.push(entry);
      }
      const tail = out[out.length - 1];
      if (tail === undefined || tail.lastOffset < storageTo || tail.lastOffset >= toOffset) return out;
      let bytes = 0;
      for (const entry of out) bytes += entry.sizeBytes;
      const i = indexOfEntryContaining(this.unstable, tail.lastOffset + 1);
      if (i >= 0) sliceWithinBudget(this.unstable, i, toOffset, maxBytes, maxEntries, out, bytes);
      return out;
    }
    const i = indexOfEntryContaining(this.unstable, fromOffset);
    assert(i >= 0 && (this.unstable[i] as Entry).baseOffset === fromOffset, `entries(${fromOffset}) is not an entry start`);
    sliceWithinBudget(this.unstable, i, toOffset, maxBytes, maxEntries, out);
    return out;
  }

  commitTo(offset: number): void {
    if (offset <= this.committed) return;
    assert(offset <= this.lastOffset(), `commit ${offset} is beyond the log end ${this.lastOffset()}: log lost or corrupted?`);
    this.committed = offset;
  }

  /** The offset committed entries are handed out from next. */
  private nextApplyOffset(): number {
    return Math.max(this.applying, this.snapshotOffset()) + 1;
  }

  hasNextCommittedEntries(): boolean {
    return this.committed >= this.nextApplyOffset();
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    const from = this.nextApplyOffset();
    if (from > this.committed) return [];
    return this.entriesFrom(from, maxBytes, Number.MAX_SAFE_INTEGER, this.committed);
  }

  /** Marks entries up to `offset` as handed to the application. */
  applyingTo(offset: number): void {
    assert(offset <= this.committed, `applying ${offset} beyond commit ${this.committed}`);
    if (offset > this.applying) this.applying = offset;
  }

  appliedTo(offset: number): void {
    if (offset > this.applied) this.applied = offset;
    if (offset > this.applying) this.applying = offset;
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable;
  }

  pendingSnapshot(): Snapshot | null {
    return this.unstableSnapshot;
  }

  /** The driver wrote entries up to `offset` (with `term`): they leave the unstable set if still there. */
  stableTo(offset: number, term: number): void {
    if (this.unstable.length === 0 || offset < this.unstableOffset) return;
    const i = indexOfEntryContaining(this.unstable, offset);
    if (i < 0) return;
    const entry = this.unstable[i] as Entry;
    if (entry.lastOffset !== offset || entry.term !== term) return;
    this.unstable = this.unstable.slice(i + 1);
    this.unstableOffset = offset + 1;
  }

  stableSnapTo(offset: number): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.meta.offset === offset) this.unstableSnapshot = null;
  }

  /** Replaces the log with a snapshot from the leader (commit jumps to its offset). */
  restore(snapshot: Snapshot): void {
    this.unstableSnapshot = snapshot;
    this.unstable = [];
    this.unstableOffset = snapshot.meta.offset + 1;
    this.committed = snapshot.meta.offset;
  }

  private snapshotTerm(): Term {
    return this.unstableSnapshot !== null ? this.unstableSnapshot.meta.term : asTerm(this.storage.snapshotMeta().term);
  }
}
