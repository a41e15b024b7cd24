/**
 * The sparse offset index of one segment (`<base>.index`): relative offset -> file position of
 * the batch with that base offset, one entry per `indexIntervalBytes` of log.
 *
 * File format (Kafka's): a flat array of 8-byte entries, big-endian, no header:
 *
 *   0  int32  relativeOffset   batch baseOffset - segment baseOffset
 *   4  int32  position         byte position of that batch in the .log file
 *
 * The file holds exactly `entries * 8` bytes (no preallocation). The active segment's index
 * lives in memory and is written whole when the segment rolls or the log closes cleanly; after
 * an unclean shutdown, indexes past the recovery point are rebuilt from the log.
 *
 * Invariants: relative offsets and positions both strictly increase; each entry points at the
 * start of a batch whose base offset is exactly base + relativeOffset.
 */
import { assert } from "@sluice/protocol";

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export interface OffsetIndexEntry {
  readonly relativeOffset: number;
  readonly position: number;
}

export class OffsetIndex {
  private relOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;

  constructor(capacity = 16) {
    this.relOffsets = new Int32Array(Math.max(capacity, 1));
    this.positions = new Int32Array(Math.max(capacity, 1));
  }

  get entries(): number {
    return this.count;
  }

  get sizeBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_BYTES;
  }

  lastEntry(): OffsetIndexEntry | undefined {
    if (this.count === 0) return undefined;
    return this.entryAt(this.count - 1);
  }

  entryAt(i: number): OffsetIndexEntry {
    assert(i >= 0 && i < this.count, `index entry ${i} out of range`);
    return { relativeOffset: this.relOffsets[i] as number, position: this.positions[i] as number };
  }

  append(relativeOffset: number, position: number): void {
    assert(relativeOffset >= 0 && relativeOffset <= 0x7fff_ffff, `relative offset ${relativeOffset} out of int32 range`);
    assert(position >= 0 && position <= 0x7fff_ffff, `position ${position} out of int32 range`);
    if (this.count > 0) {
      assert(relativeOffset > (this.relOffsets[this.count - 1] as number), "index offsets must increase");
      assert(position > (this.positions[this.count - 1] as number), "index positions must increase");
    }
    if (this.count === this.relOffsets.length) {
      const relOffsets = new Int32Array(this.count * 2);
      relOffsets.set(this.relOffsets);
      this.relOffsets = relOffsets;
      const positions = new Int32Array(this.count * 2);
      positions.set(this.positions);
      this.positions = positions;
    }
    this.relOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** The entry with the largest relative offset <= `relativeOffset`, or undefined if none. */
  lookup(relativeOffset: number): OffsetIndexEntry | undefined {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.relOffsets[mid] as number) <= relativeOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : this.entryAt(found);
  }

  /** Drops every entry whose position is >= `position` (the log was cut there). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && (this.positions[this.count - 1] as number) >= position) this.count--;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      buf.writeInt32BE(this.relOffsets[i] as number, i * 8);
      buf.writeInt32BE(this.positions[i] as number, i * 8 + 4);
    }
    return buf;
  }

  /**
   * Parses an index file. Returns `undefined` if it breaks the invariants for a log of
   * `logSizeBytes` (a damaged or stale index is rebuilt from the log, never trusted).
   */
  static fromBuffer(buf: Buffer, logSizeBytes: number): OffsetIndex | undefined {
    if (buf.byteLength % OFFSET_INDEX_ENTRY_BYTES !== 0) return undefined;
    const n = buf.byteLength / OFFSET_INDEX_ENTRY_BYTES;
    const index = new OffsetIndex(n);
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readInt32BE(i * 8);
      const pos = buf.readInt32BE(i * 8 + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= logSizeBytes || rel < 0 || pos < 0) return undefined;
      index.relOffsets[i] = rel;
      index.positions[i] = pos;
      prevRel = rel;
      prevPos = pos;
    }
    index.count = n;
    return index;
  }
}
