/**
 * Reusable output buffers for the producer's record batches: a batch more than half full is
 * encoded into a `batchBytes`-sized buffer from here (smaller batches get one of their own size,
 * see Producer.encode). A buffer comes back only when nothing can still read it:
 * its batch is finished (acknowledged or failed for good) and every Produce request that carried
 * it has been serialized, which copies the bytes into the gRPC message (produce-request.ts
 * `onEncoded`). A buffer whose batch was split is never given back: the halves' records are
 * views of it.
 *
 * Why: each fresh buffer is external memory that V8 counts towards a collection; reuse turns one
 * large allocation per batch into none (see BATCH_BUFFERS_POOLED_MAX).
 *
 * Invariants: a buffer is held by at most one batch between `take` and `give`; at most
 * `pooledMax` idle buffers are kept.
 */
import { assert } from "@sluice/protocol";

export class BatchBufferPool {
  private readonly idle: Buffer[] = [];
  private readonly given = new WeakSet<Buffer>();

  constructor(
    /** Size of every pooled buffer (the producer's batchBytes: a batch's estimate bounds its encoding). */
    readonly bufferBytes: number,
    private readonly pooledMax: number,
  ) {
    assert(Number.isSafeInteger(bufferBytes) && bufferBytes > 0, "bufferBytes must be a positive integer");
    assert(Number.isSafeInteger(pooledMax) && pooledMax >= 0, "pooledMax must be a non-negative integer");
  }

  /** Idle buffers kept for reuse. */
  get pooled(): number {
    return this.idle.length;
  }

  take(): Buffer {
    const buffer = this.idle.pop();
    if (buffer === undefined) return Buffer.allocUnsafe(this.bufferBytes);
    this.given.delete(buffer);
    return buffer;
  }

  give(buffer: Buffer): void {
    assert(buffer.length === this.bufferBytes, "a buffer of another size was given to the batch buffer pool");
    assert(!this.given.has(buffer), "a batch buffer was given back twice");
    if (this.idle.length >= this.pooledMax) return;
    this.given.add(buffer);
    this.idle.push(buffer);
  }
}
