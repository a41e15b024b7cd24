/**
 * The leader's view of one follower (or learner): how far its log is known to match
 * (`match`), where to send from next (`next`), and how replication is flowing:
 *
 * - probe: we do not know where the logs agree; send one append per heartbeat and wait for
 *   its answer (rejections walk `next` back, using the follower's hint to skip whole terms);
 * - replicate: the logs agree up to `match`; pipeline appends optimistically (`next` runs
 *   ahead of `match`), bounded by `Inflights` (messages and bytes in flight);
 * - snapshot: the follower needs entries we compacted; a snapshot is on its way.
 *
 * Invariants: match < next; match only grows within a leader's term; in replicate state the
 * in-flight window holds the lastOffset of every unacknowledged append, ascending.
 */
import { assert } from "@sluice/protocol";

export type ProgressState = "probe" | "replicate" | "snapshot";

/**
 * A ring buffer of the appends in flight to one follower: each remembered by its last offset
 * and its entry bytes. Full when either the message bound or the byte bound is reached.
 */
export class Inflights {
  private readonly lastOffsets: number[];
  private readonly sizes: number[];
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    readonly messagesMax: number,
    readonly bytesMax: number,
  ) {
    assert(messagesMax >= 1 && bytesMax >= 1, "in-flight bounds must be positive");
    this.lastOffsets = new Array<number>(messagesMax).fill(0);
    this.sizes = new Array<number>(messagesMax).fill(0);
  }

  add(lastOffset: number, sizeBytes: number): void {
    assert(this.count < this.messagesMax, "in-flight window overflow");
    const slot = (this.start + this.count) % this.messagesMax;
    if (this.count > 0) {
      const prev = this.lastOffsets[(slot + this.messagesMax - 1) % this.messagesMax] as number;
      assert(lastOffset > prev, "in-flight appends must be ascending");
    }
    this.lastOffsets[slot] = lastOffset;
    this.sizes[slot] = sizeBytes;
    this.count++;
    this.bytes += sizeBytes;
  }

  /** Forgets every append whose last offset is <= offset (acknowledged). */
  freeLE(offset: number): void {
    while (this.count > 0 && (this.lastOffsets[this.start] as number) <= offset) this.freeFirst();
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.bytes -= this.sizes[this.start] as number;
    this.start = (this.start + 1) % this.messagesMax;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }

  full(): boolean {
    return this.count >= this.messagesMax || this.bytes >= this.bytesMax;
  }

  /** Bytes that may still be sent before the byte bound is reached (0 when full). */
  bytesAvailable(): number {
    return Math.max(0, this.bytesMax - this.bytes);
  }

  messages(): number {
    return this.count;
  }

  inflightBytes(): number {
    return this.bytes;
  }
}

export class Progress {
  match: number;
  next: number;
  state: ProgressState = "probe";
  /** Probe state: an append is outstanding; wait for its answer or the next heartbeat. */
  probeSent = false;
  /** Snapshot state: the offset of the snapshot sent, and ticks spent waiting for it. */
  pendingSnapshot = -1;
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, inflightMessagesMax: number, inflightBytesMax: number) {
    this.match = -1;
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = "probe";
    this.probeSent = false;
    this.pendingSnapshot = -1;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = -1;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotOffset: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = snapshotOffset;
    this.snapshotTicks = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** An acknowledgement up to `offset`; false when it tells us nothing new (stale or duplicate). */
  maybeUpdate(offset: number): boolean {
    let updated = false;
    if (offset > this.match) {
      this.match = offset;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < offset + 1) this.next = offset + 1;
    return updated;
  }

  /** Replicate state: we just sent entries up to `lastOffset` (next runs ahead of match). */
  sentEntries(lastOffset: number, sizeBytes: number): void {
    if (this.state === "replicate") {
      this.next = lastOffset + 1;
      this.inflights.add(lastOffset, sizeBytes);
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append after `rejected` (a prevOffset we sent); `hint` is the
   * boundary below `rejected` where the leader now expects agreement. False when the
   * rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    assert(hint < rejected, "a rejection hint must move the probe backwards");
    this.next = Math.max(hint + 1, this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
