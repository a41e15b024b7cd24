/**
 * A byte-bounded LRU of segments whose indexes are loaded in memory, shared by every segment of
 * every log (like the file pool). A 1 GiB segment's indexes take a few MiB; without a bound, a
 * broker would slowly hold the indexes of its whole history. Evicted indexes reload lazily from
 * their files on the segment's next lookup.
 *
 * Invariants: loaded index bytes stay within `maxBytes` except for segments that refuse to drop
 * (their in-memory indexes are newer than the files: the active segment); the segment being
 * touched is never evicted by its own touch.
 */

export interface IndexHolder {
  /** Frees the loaded indexes; false when they cannot go (dirty or loading). */
  dropIndexes(): boolean;
}

export class IndexCache {
  private readonly entries = new Map<IndexHolder, number>();
  private bytes = 0;
  /** Segments whose indexes were dropped to stay within the budget. */
  evictions = 0;

  constructor(readonly maxBytes: number) {}

  get loadedSegments(): number {
    return this.entries.size;
  }

  get loadedBytes(): number {
    return this.bytes;
  }

  /** Records a use of `holder`'s loaded indexes (`bytes` big), evicting the least recent others if over budget. */
  touch(holder: IndexHolder, bytes: number): void {
    this.bytes += bytes - (this.entries.get(holder) ?? 0);
    this.entries.delete(holder);
    this.entries.set(holder, bytes);
    let budget = this.entries.size;
    for (const [other, otherBytes] of this.entries) {
      if (this.bytes <= this.maxBytes || budget-- <= 0) break;
      if (other === holder) continue;
      this.entries.delete(other);
      if (other.dropIndexes()) {
        this.bytes -= otherBytes;
        this.evictions++;
      } else {
        // Cannot go now (dirty): keep it, as the most recent, and look further.
        this.entries.set(other, otherBytes);
      }
    }
  }

  remove(holder: IndexHolder): void {
    const bytes = this.entries.get(holder);
    if (bytes === undefined) return;
    this.entries.delete(holder);
    this.bytes -= bytes;
  }
}
