/**
 * The sparse time index of one segment (`<base>.timeindex`): the segment's running maximum
 * timestamp -> the relative offset of the batch that raised it.
 *
 * File format (Kafka's layout): a flat array of 12-byte entries, big-endian, no header:
 *
 *   0  int64  timestampMs      largest batch maxTimestamp seen in the segment up to this batch
 *   8  int32  relativeOffset   that batch's baseOffset - segment baseOffset
 *
 * An entry is added when a batch raises the running maximum past the last entry and at least
 * `indexIntervalBytes` of log passed since the previous time entry; when the segment becomes
 * inactive (roll, clean close) a final entry records the segment's true maximum, so the last
 * entry of an inactive segment is its largest timestamp (what time retention reads).
 *
 * Invariants: timestamps strictly increase, relative offsets strictly increase. Hence for a
 * target t, every batch up to the batch of the last entry with timestamp < t has maxTimestamp < t.
 */
import { assert } from "@sluice/protocol";

export const TIME_INDEX_ENTRY_BYTES = 12;

export interface TimeIndexEntry {
  readonly timestampMs: number;
  readonly relativeOffset: number;
}

export class TimeIndex {
  private timestamps: Float64Array;
  private relOffsets: Int32Array;
  private count = 0;

  constructor(capacity = 16) {
    this.timestamps = new Float64Array(Math.max(capacity, 1));
    this.relOffsets = new Int32Array(Math.max(capacity, 1));
  }

  get entries(): number {
    return this.count;
  }

  entryAt(i: number): TimeIndexEntry {
    assert(i >= 0 && i < this.count, `time index entry ${i} out of range`);
    return { timestampMs: this.timestamps[i] as number, relativeOffset: this.relOffsets[i] as number };
  }

  lastEntry(): TimeIndexEntry | undefined {
    return this.count === 0 ? undefined : this.entryAt(this.count - 1);
  }

  /** Appends when `timestampMs` is above the last entry and the offset moves forward; returns whether it did. */
  maybeAppend(timestampMs: number, relativeOffset: number): boolean {
    assert(Number.isSafeInteger(timestampMs), `timestamp ${timestampMs} is not a safe integer`);
    assert(relativeOffset >= 0 && relativeOffset <= 0x7fff_ffff, `relative offset ${relativeOffset} out of int32 range`);
    if (this.count > 0) {
      if (timestampMs <= (this.timestamps[this.count - 1] as number)) return false;
      if (relativeOffset <= (this.relOffsets[this.count - 1] as number)) return false;
    }
    if (this.count === this.timestamps.length) {
      const timestamps = new Float64Array(this.count * 2);
      timestamps.set(this.timestamps);
      this.timestamps = timestamps;
      const relOffsets = new Int32Array(this.count * 2);
      relOffsets.set(this.relOffsets);
      this.relOffsets = relOffsets;
    }
    this.timestamps[this.count] = timestampMs;
    this.relOffsets[this.count] = relativeOffset;
    this.count++;
    return true;
  }

  /** The last entry whose timestamp is strictly below `timestampMs`, or undefined. */
  lastBefore(timestampMs: number): TimeIndexEntry | undefined {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.timestamps[mid] as number) < timestampMs) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : this.entryAt(found);
  }

  /** Drops every entry with relative offset >= `relativeOffset`. */
  truncateToRelativeOffset(relativeOffset: number): void {
    while (this.count > 0 && (this.relOffsets[this.count - 1] as number) >= relativeOffset) this.count--;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      buf.writeBigInt64BE(BigInt(this.timestamps[i] as number), i * 12);
      buf.writeInt32BE(this.relOffsets[i] as number, i * 12 + 8);
    }
    return buf;
  }

  /** Parses a time index file; `undefined` if it breaks the invariants. */
  static fromBuffer(buf: Buffer): TimeIndex | undefined {
    if (buf.byteLength % TIME_INDEX_ENTRY_BYTES !== 0) return undefined;
    const n = buf.byteLength / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(n);
    let prevTs = -Infinity;
    let prevRel = -1;
    for (let i = 0; i < n; i++) {
      const ts = Number(buf.readBigInt64BE(i * 12));
      const rel = buf.readInt32BE(i * 12 + 8);
      if (!Number.isSafeInteger(ts) || ts <= prevTs || rel <= prevRel || rel < 0) return undefined;
      index.timestamps[i] = ts;
      index.relOffsets[i] = rel;
      prevTs = ts;
      prevRel = rel;
    }
    index.count = n;
    return index;
  }
}
