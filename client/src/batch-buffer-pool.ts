/**
 * Reusable buffers for the producer's record batches, which are encoded as records are appended
 * (accumulator.ts ProducerBatch): a batch moves into a `batchBytes`-sized buffer from here once
 * its records need more than half of one (before that it grows in buffers of its own, at most
 * twice its size). A batch of a partition whose previous batch passed a quarter of one starts
 * in one at once (`takeEarly`: it will likely grow as large, and growing would copy and allocate
 * on the way), as long as fewer than `pooledMax` batches hold one early, i.e. before they are
 * half full (`endEarly` when they get there or give it back). A buffer comes back only when nothing
 * can still read it:
 * its batch is finished (acknowledged or failed for good) and every Produce request that carried
 * it has been serialized, which copies the bytes into the gRPC message (produce-request.ts
 * `onEncoded`). A buffer whose batch was split is left to the garbage collector (a rare path:
 * the halves are built from a decoding of it).
 *
 * Why: each fresh buffer is external memory that V8 counts towards a collection; reuse turns one
 * large allocation per batch into none (see BATCH_BUFFERS_POOLED_MAX).
 *
 * Memory: the buffers handed out are held by batches more than half full (at most twice the
 * producer's buffered bytes) or early (at most `pooledMax`), plus at most `pooledMax` idle.
 *
 * Invariants: a buffer is held by at most one batch between `take` and `give`; at most
 * `pooledMax` idle buffers are kept, and at most `pooledMax` are held early.
 */
import { assert } from "@sluice/protocol";

export class BatchBufferPool {
  private readonly idle: Buffer[] = [];
  private readonly given = new WeakSet<Buffer>();
  private early = 0;

  constructor(
    /** Size of every pooled buffer (the producer's batchBytes, which bounds a batch of several records). */
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

  /** Buffers held early (by batches not yet half full). */
  get heldEarly(): number {
    return this.early;
  }

  /** A buffer for a batch that is not half full yet, unless `pooledMax` are held early already (then `endEarly` later). */
  takeEarly(): Buffer | undefined {
    if (this.early >= this.pooledMax) return undefined;
    this.early++;
    return this.take();
  }

  /** A buffer taken with `takeEarly` is now held by a batch more than half full, or was given back. */
  endEarly(): void {
    assert(this.early > 0, "endEarly without takeEarly");
    this.early--;
  }

  give(buffer: Buffer): void {
    assert(buffer.length === this.bufferBytes, "a buffer of another size was given to the batch buffer pool");
    assert(!this.given.has(buffer), "a batch buffer was given back twice");
    if (this.idle.length >= this.pooledMax) return;
    this.given.add(buffer);
    this.idle.push(buffer);
  }
}
