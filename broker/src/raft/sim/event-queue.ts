/**
 * The simulator's agenda: a binary min-heap of events ordered by (time, sequence). The
 * sequence number makes ties deterministic (first scheduled, first run), so a seed replays
 * the same interleaving on every machine.
 *
 * Invariants: pop() returns events in non-decreasing time; equal times pop in schedule order.
 */

export interface Scheduled {
  time: number;
  seq: number;
}

export class EventQueue<E extends Scheduled> {
  private readonly heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `event` (its seq is assigned here). */
  push(event: E): void {
    event.seq = this.nextSeq++;
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as E;
      if (p.time < event.time || (p.time === event.time && p.seq < event.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as E;
    if (heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      const lv = heap[l] as E;
      if (r < n) {
        const rv = heap[r] as E;
        if (rv.time < lv.time || (rv.time === lv.time && rv.seq < lv.seq)) c = r;
      }
      const cv = heap[c] as E;
      if (last.time < cv.time || (last.time === cv.time && last.seq < cv.seq)) break;
      heap[i] = cv;
      i = c;
    }
    heap[i] = last;
    return top;
  }
}
