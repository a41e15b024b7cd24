// Proves Fetch's pooled read buffers are handed to one holder at a time: the pool reuses only
// given-back buffers and refuses double gives, and fetchPartitions returns every buffer it does
// not hand out (empty reads, failed reads, a first pass discarded for a long-poll wait).
import { describe, expect, it } from "vitest";
import { AssertionError, SluiceError } from "@sluice/protocol";
import { resolveTopicConfig } from "../metadata/topic-config.js";
import { fetchPartitions, giveBackReadBuffers } from "./fetch.js";
import type { LogReadResult, PartitionLog } from "./log-port.js";
import { Partition } from "./partition.js";
import { ReadBufferPool } from "./read-buffer-pool.js";

describe("ReadBufferPool", () => {
  it("hands out distinct buffers and reuses only given-back ones", () => {
    const pool = new ReadBufferPool(1024, 2);
    const a = pool.take();
    const b = pool.take();
    expect(a).not.toBe(b);
    expect(a.byteLength).toBe(1024);
    pool.give(a);
    expect(pool.pooled).toBe(1);
    expect(pool.take()).toBe(a);
    expect(pool.pooled).toBe(0);
  });

  it("keeps at most pooledMax buffers", () => {
    const pool = new ReadBufferPool(16, 1);
    const a = pool.take();
    const b = pool.take();
    pool.give(a);
    pool.give(b);
    expect(pool.pooled).toBe(1);
  });

  it("refuses a buffer given back twice or of the wrong size", () => {
    const pool = new ReadBufferPool(16, 4);
    const a = pool.take();
    pool.give(a);
    expect(() => pool.give(a)).toThrow(AssertionError);
    expect(() => pool.give(Buffer.alloc(8))).toThrow(AssertionError);
  });
});

/** A log of `end` one-offset "batches" whose reads copy `bytes` into the caller's buffer when given one. */
class FakeLog implements PartitionLog {
  readonly logStartOffset = 0;
  readonly sizeBytes = 0;
  buffersSeen: Array<Buffer | undefined> = [];
  failNext = false;
  constructor(
    public logEndOffset: number,
    private readonly bytes: Buffer,
  ) {}
  append(): Promise<never> {
    return Promise.reject(new Error("not used"));
  }
  async read(offset: number, _maxBytes: number, maxOffset: number, buffer?: Buffer): Promise<LogReadResult> {
    this.buffersSeen.push(buffer);
    if (this.failNext) {
      this.failNext = false;
      throw new SluiceError("CORRUPT_MESSAGE", "bad batch");
    }
    if (offset >= maxOffset) return { records: Buffer.alloc(0) };
    if (buffer === undefined) return { records: Buffer.from(this.bytes) };
    this.bytes.copy(buffer, 0);
    return { records: buffer.subarray(0, this.bytes.length) };
  }
  offsetForTimestamp(): Promise<null> {
    return Promise.resolve(null);
  }
  updateConfig(): boolean {
    return true;
  }
}

function setup(end: number): { log: FakeLog; partition: Partition; pool: ReadBufferPool } {
  const log = new FakeLog(end, Buffer.from("0123456789"));
  const partition = new Partition("t", 0, 0, log, resolveTopicConfig({}));
  return { log, partition, pool: new ReadBufferPool(4096, 8) };
}

const spec = { topic: "t", partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 };

describe("fetchPartitions with a read-buffer pool", () => {
  it("reads into a pooled buffer and hands it out with the records", async () => {
    const { log, partition, pool } = setup(1);
    const [outcome] = await fetchPartitions(() => partition, [spec], { minBytes: 1, maxWaitMs: 0, maxBytes: 1 << 20, readBuffers: pool });
    expect(outcome?.records.toString()).toBe("0123456789");
    expect(outcome?.readBuffer).toBeDefined();
    expect(log.buffersSeen[0]).toBe(outcome?.readBuffer);
    expect(pool.pooled).toBe(0);
    giveBackReadBuffers(outcome === undefined ? [] : [outcome], pool);
    expect(pool.pooled).toBe(1);
  });

  it("gives the buffer back at once when the read fails", async () => {
    const { log, partition, pool } = setup(1);
    log.failNext = true;
    const [outcome] = await fetchPartitions(() => partition, [spec], { minBytes: 1, maxWaitMs: 0, maxBytes: 1 << 20, readBuffers: pool });
    expect(outcome?.error?.errorName).toBe("CORRUPT_MESSAGE");
    expect(outcome?.readBuffer).toBeUndefined();
    expect(pool.pooled).toBe(1);
  });

  it("gives back the buffers of a first pass it discards to wait, and reads again into a pooled one", async () => {
    const { log, partition, pool } = setup(1);
    // 10 bytes are visible, 100 are wanted: the first pass is discarded, the wait times out, the second pass answers.
    const outcomes = await fetchPartitions(() => partition, [spec], { minBytes: 100, maxWaitMs: 5, maxBytes: 1 << 20, readBuffers: pool });
    expect(log.buffersSeen).toHaveLength(2);
    expect(log.buffersSeen[1]).toBe(log.buffersSeen[0]);
    expect(outcomes[0]?.readBuffer).toBe(log.buffersSeen[0]);
    expect(pool.pooled).toBe(0);
  });

  it("keeps no buffer for an empty read", async () => {
    const { partition, pool } = setup(0);
    const [outcome] = await fetchPartitions(() => partition, [spec], { minBytes: 0, maxWaitMs: 0, maxBytes: 1 << 20, readBuffers: pool });
    expect(outcome?.records.length).toBe(0);
    expect(outcome?.readBuffer).toBeUndefined();
  });
});
