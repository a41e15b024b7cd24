/**
 * Reusable storage read buffers for Fetch.
 *
 * Why: a partition read fills about a megabyte (its budget plus one index interval of
 * lookahead). Allocated fresh per read, every one of those megabytes is new external memory:
 * page faults to map it and V8 mark-compact collections to free it — the largest CPU cost a
 * profile of the broker showed on the Fetch path. Fetch instead reads into a buffer taken from
 * this pool and gives it back once the response serializer has copied the records out.
 *
 * Ownership: `take` hands out a buffer no one else holds; `give` returns it and must be called
 * at most once per `take`, and only when nothing will read the buffer's current contents again
 * (a buffer that is never given back is simply garbage collected). Giving back a buffer the pool
 * already holds is a bug and fails an assertion (two reads sharing one buffer would serve one
 * partition's bytes as another's).
 */
import { assert } from "@sluice/protocol";
import { PARTITION_FETCH_BYTES_DEFAULT } from "./limits.js";

/**
 * Size of a pooled buffer: Kafka's default per-partition budget (1 MiB) plus 64 KiB of lookahead,
 * which covers storage's read lookahead (max(8 KiB, index.interval.bytes)) for index intervals up
 * to 64 KiB. A read that needs more gets its own buffer from storage, as without the pool.
 */
export const READ_BUFFER_BYTES = PARTITION_FETCH_BYTES_DEFAULT + 64 * 1024;

/**
 * Buffers kept between fetches (~34 MiB at most): enough for 4 concurrent fetches of 8 partitions
 * each; above that, given-back buffers are dropped rather than held as idle memory.
 */
export const READ_BUFFERS_POOLED_MAX = 32;

export class ReadBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferBytes: number = READ_BUFFER_BYTES,
    readonly pooledMax: number = READ_BUFFERS_POOLED_MAX,
  ) {
    assert(Number.isSafeInteger(bufferBytes) && bufferBytes > 0, `bufferBytes ${bufferBytes} must be a positive integer`);
    assert(Number.isSafeInteger(pooledMax) && pooledMax >= 0, `pooledMax ${pooledMax} must be a non-negative integer`);
  }

  /** Buffers currently held for reuse. */
  get pooled(): number {
    return this.free.length;
  }

  /** A buffer of `bufferBytes` that no one else holds (contents are stale bytes). */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** Returns a buffer from `take`; nothing may read it afterwards. */
  give(buffer: Buffer): void {
    assert(buffer.byteLength === this.bufferBytes, `buffer of ${buffer.byteLength} bytes given to a pool of ${this.bufferBytes}-byte buffers`);
    assert(!this.free.includes(buffer), "read buffer given back twice");
    if (this.free.length < this.pooledMax) this.free.push(buffer);
  }
}
