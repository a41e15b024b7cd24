/**
 * Which lists of segments reads are using, so that a segment leaving the log (retention,
 * DeleteRecords, truncation, a compaction swap) stays readable until no read can reach it any
 * more. This is Kafka's deferred segment delete (`file.delete.delay.ms`) made exact: instead of
 * waiting a fixed time, the log learns when the last read that started before the change ends.
 *
 * A read pins the current view (the segment list as it is at that instant, never mutated) and
 * unpins it when done; a mutation publishes a new view. A segment is reachable while the current
 * view holds it or a pinned view does; `whenUnreachable` runs a callback once neither is true.
 * Pure bookkeeping (no I/O): pinning is O(1), and only views with readers are remembered.
 *
 * Invariants:
 * - A view's segment list never changes after it is published.
 * - Every callback registered by `whenUnreachable` runs exactly once, after the last pin of the
 *   last view holding the segment is released (or at once when none does).
 */
import { assert } from "@sluice/protocol";

/** What a read holds: the segment list it started with. Give it back with `unpin`. */
export interface SegmentViewPin<T> {
  readonly segments: readonly T[];
}

class View<T> implements SegmentViewPin<T> {
  readers = 0;
  current = true;
  readonly onUnreachable: Array<() => void> = [];
  constructor(readonly segments: readonly T[]) {}

  get reachable(): boolean {
    return this.current || this.readers > 0;
  }
}

export class SegmentViews<T> {
  private view: View<T>;
  /** Views no longer current that reads still hold. */
  private readonly held = new Set<View<T>>();

  constructor(segments: readonly T[]) {
    this.view = new View(segments);
  }

  /** The log's segments now. */
  get current(): readonly T[] {
    return this.view.segments;
  }

  /** Views that reads still hold besides the current one (for tests and metrics). */
  get heldViews(): number {
    return this.held.size;
  }

  /** Makes `segments` the log's list; reads already running keep the one they pinned. */
  publish(segments: readonly T[]): void {
    const old = this.view;
    old.current = false;
    this.view = new View(segments);
    if (old.readers > 0) this.held.add(old);
    else this.settle(old);
  }

  /** A read starts: it may use every segment of the returned view until it unpins it. */
  pin(): SegmentViewPin<T> {
    this.view.readers++;
    return this.view;
  }

  unpin(pin: SegmentViewPin<T>): void {
    const view = pin as View<T>;
    view.readers--;
    assert(view.readers >= 0, "segment view unpinned more often than pinned");
    if (!view.reachable) {
      this.held.delete(view);
      this.settle(view);
    }
  }

  /** Whether a read is using, or may still start using, `segment`. */
  isReachable(segment: T): boolean {
    return this.holdersOf(segment).length > 0;
  }

  /**
   * Runs `callback` once no read can reach `segment` (at once when none can). The segment must
   * already be out of any view published later, or be about to be.
   */
  whenUnreachable(segment: T, callback: () => void): void {
    const holders = this.holdersOf(segment);
    if (holders.length === 0) {
      callback();
      return;
    }
    let left = holders.length;
    for (const view of holders) {
      view.onUnreachable.push(() => {
        left--;
        if (left === 0) callback();
      });
    }
  }

  private holdersOf(segment: T): Array<View<T>> {
    const holders: Array<View<T>> = [];
    for (const view of [...this.held, this.view]) if (view.reachable && view.segments.includes(segment)) holders.push(view);
    return holders;
  }

  private settle(view: View<T>): void {
    for (const callback of view.onUnreachable.splice(0)) callback();
  }
}
