/**
 * The leader-epoch cache (Kafka's `leader-epoch-checkpoint`): which leader epoch (Raft term)
 * wrote which range of offsets, as (epoch, startOffset) entries. It answers "which epoch wrote
 * offset X" and "where does epoch E end" without reading batches — what a follower needs to
 * find where its log diverges from a new leader's, and so to truncate correctly.
 *
 * Invariants: epochs strictly increase and start offsets strictly increase along the entries.
 * In a log, the entries describe the visible batches [logStart, logEnd) — the first entry is
 * clamped to the log start, and none starts at or past the log end — so an empty log has none
 * (Raft keeps the last term of deleted entries in its snapshot metadata, not here).
 * This module is pure (no I/O); `PartitionLog` persists it with checkpoint.ts after each change
 * and rebuilds the part past the recovery point from batch headers after an unclean shutdown.
 */
import { asLeaderEpoch, asOffset, type LeaderEpoch, type Offset } from "@sluice/protocol";

export interface EpochEntry {
  readonly epoch: LeaderEpoch;
  readonly startOffset: Offset;
}

export interface EpochEndOffset {
  /** The largest epoch <= the one asked for that this log knows. */
  readonly epoch: LeaderEpoch;
  /** One past the last offset written in `epoch` (the log end offset for the latest epoch). */
  readonly endOffset: Offset;
}

export class LeaderEpochCache {
  private list: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.list = [];
    for (const entry of entries) this.assign(entry.epoch, entry.startOffset);
  }

  entries(): readonly EpochEntry[] {
    return this.list;
  }

  latestEpoch(): LeaderEpoch | undefined {
    return this.list[this.list.length - 1]?.epoch;
  }

  /**
   * Records that `epoch` starts at `startOffset`. A new latest epoch is appended; an entry that
   * conflicts (an epoch >= it, or a start >= it) is dropped first, as Kafka does. Returns
   * whether the cache changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    const last = this.list[this.list.length - 1];
    if (last !== undefined && last.epoch === epoch && last.startOffset <= startOffset) return false;
    const kept = this.list.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    kept.push({ epoch: asLeaderEpoch(epoch), startOffset: asOffset(startOffset) });
    this.list = kept;
    return true;
  }

  /** The epoch that wrote `offset` (the last entry starting at or before it). */
  epochAt(offset: number): LeaderEpoch | undefined {
    let found: LeaderEpoch | undefined;
    for (const entry of this.list) {
      if (entry.startOffset <= offset) found = entry.epoch;
      else break;
    }
    return found;
  }

  /**
   * Kafka's OffsetsForLeaderEpoch answer for `epoch`:
   * - the latest epoch: (epoch, logEndOffset);
   * - otherwise (the largest known epoch <= `epoch`, start offset of the first epoch > `epoch`);
   *   when no known epoch is <= `epoch`, the asked epoch itself is returned with that start;
   * - undefined when the cache is empty or `epoch` is newer than every entry.
   */
  endOffsetFor(epoch: number, logEndOffset: number): EpochEndOffset | undefined {
    const latest = this.list[this.list.length - 1];
    if (latest === undefined) return undefined;
    if (epoch === latest.epoch) return { epoch: latest.epoch, endOffset: asOffset(logEndOffset) };
    let floor: EpochEntry | undefined;
    for (const entry of this.list) {
      if (entry.epoch > epoch) {
        return { epoch: floor?.epoch ?? asLeaderEpoch(epoch), endOffset: entry.startOffset };
      }
      floor = entry;
    }
    return undefined;
  }

  /** Drops entries at or after `endOffset` (the log was truncated to it). Returns whether it changed. */
  truncateFromEnd(endOffset: number): boolean {
    const kept = this.list.filter((e) => e.startOffset < endOffset);
    if (kept.length === this.list.length) return false;
    this.list = kept;
    return true;
  }

  /**
   * Drops entries wholly before `startOffset` (the log start moved); the entry covering it now
   * starts there. Returns whether it changed.
   */
  truncateFromStart(startOffset: number): boolean {
    let cut = 0;
    while (cut + 1 < this.list.length && (this.list[cut + 1] as EpochEntry).startOffset <= startOffset) cut++;
    const first = this.list[cut];
    if (first === undefined) return false;
    if (cut === 0 && first.startOffset >= startOffset) return false;
    const rest = this.list.slice(cut + 1);
    this.list = [{ epoch: first.epoch, startOffset: asOffset(Math.max(first.startOffset, startOffset)) }, ...rest];
    return true;
  }

  clear(): boolean {
    if (this.list.length === 0) return false;
    this.list = [];
    return true;
  }
}
