// Proves a long-polling fetch never misses data: an append (or a deletion) that lands while the
// first pass is still reading — before any watermark listener exists — answers the fetch at once
// instead of leaving it asleep until max_wait_ms. The append is injected from inside the log's
// read, the exact window the race needs; a fetch that starts waiting fails the test (and aborts
// its own wait so the failure is immediate).
import { describe, expect, it } from "vitest";
import { encodeRecordBatch } from "@sluice/protocol";
import { resolveTopicConfig } from "../metadata/topic-config.js";
import { fetchPartitions, type FetchOptions } from "./fetch.js";
import { FETCH_WAIT_MS_MAX } from "./limits.js";
import type { LogAppendResult, LogReadResult, PartitionLog } from "./log-port.js";
import { Partition } from "./partition.js";

/** An in-memory log of one-record batches; `duringRead` runs inside a read, after its high watermark was taken. */
class MemoryLog implements PartitionLog {
  readonly logStartOffset = 0;
  readonly batches: Buffer[] = [];
  duringRead: (() => Promise<void>) | undefined;
  get logEndOffset(): number {
    return this.batches.length;
  }
  get sizeBytes(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }
  append(records: Buffer): Promise<LogAppendResult> {
    const offset = this.batches.length;
    this.batches.push(records);
    return Promise.resolve({ baseOffset: offset, lastOffset: offset, logAppendTimeMs: undefined });
  }
  async read(offset: number, _maxBytes: number, maxOffset: number): Promise<LogReadResult> {
    const hook = this.duringRead;
    this.duringRead = undefined;
    if (hook !== undefined) await hook();
    return { records: Buffer.concat(this.batches.slice(offset, maxOffset)) };
  }
  offsetForTimestamp(): Promise<null> {
    return Promise.resolve(null);
  }
  updateConfig(): boolean {
    return true;
  }
}

const batch = (valueBytes: number): Buffer => encodeRecordBatch({ records: [{ value: Buffer.alloc(valueBytes, 1) }], now: 0 });

async function openPartition(index: number, initialValueBytes: number): Promise<{ log: MemoryLog; partition: Partition }> {
  const log = new MemoryLog();
  const partition = new Partition("t", index, 0, log, resolveTopicConfig({}));
  await partition.append(batch(initialValueBytes), -1);
  return { log, partition };
}

const spec = (partition: number) => ({ topic: "t", partition, fetchOffset: 0, partitionMaxBytes: 1 << 20 });

/** Long-poll options whose wait, if it ever starts, is recorded and ended at once. */
function longPoll(minBytes: number): { options: FetchOptions; waited: () => boolean } {
  const stop = new AbortController();
  let waited = false;
  const options: FetchOptions = {
    minBytes,
    maxWaitMs: FETCH_WAIT_MS_MAX,
    maxBytes: 1 << 20,
    signal: stop.signal,
    onWait: (waiting) => {
      if (!waiting) return;
      waited = true;
      // After the wait has registered its abort listener (it calls onWait first).
      queueMicrotask(() => stop.abort());
    },
  };
  return { options, waited: () => waited };
}

describe("fetchPartitions long-poll", () => {
  it("answers at once when an append lands during the first read, before listeners are registered", async () => {
    const { log, partition } = await openPartition(0, 10);
    const first = log.batches[0]!.length;
    const late = batch(500);
    log.duringRead = async () => {
      await partition.append(late, -1);
    };
    const { options, waited } = longPoll(first + late.length);
    const [outcome] = await fetchPartitions(() => partition, [spec(0)], options);
    expect(waited()).toBe(false);
    expect(outcome?.error).toBeNull();
    expect(outcome?.highWatermark).toBe(2);
    expect(outcome?.records.length).toBe(first + late.length);
  });

  it("answers at once when an append to one partition lands while another partition is read", async () => {
    const p0 = await openPartition(0, 10);
    const p1 = await openPartition(1, 10);
    const late = batch(500);
    // Partition 0 is read first; the append lands on it while partition 1's read is in flight.
    p1.log.duringRead = async () => {
      await p0.partition.append(late, -1);
    };
    const seenByFirstPass = p0.log.batches[0]!.length + p1.log.batches[0]!.length;
    const { options, waited } = longPoll(seenByFirstPass + late.length);
    const outcomes = await fetchPartitions((_, index) => (index === 0 ? p0.partition : p1.partition), [spec(0), spec(1)], options);
    expect(waited()).toBe(false);
    expect(outcomes.map((o) => o.highWatermark)).toEqual([2, 1]);
    expect(outcomes.reduce((n, o) => n + o.records.length, 0)).toBe(seenByFirstPass + late.length);
  });

  it("keeps waiting when the bytes that landed during the first read are still fewer than min_bytes", async () => {
    const { log, partition } = await openPartition(0, 10);
    const late = batch(20);
    log.duringRead = async () => {
      await partition.append(late, -1);
    };
    const { options, waited } = longPoll(1 << 16);
    const [outcome] = await fetchPartitions(() => partition, [spec(0)], options);
    expect(waited()).toBe(true);
    expect(outcome?.highWatermark).toBe(2);
  });

  it("answers at once when the partition is deleted during the first read", async () => {
    const { log, partition } = await openPartition(0, 10);
    log.duringRead = () => {
      partition.markDeleted();
      return Promise.resolve();
    };
    const { options, waited } = longPoll(1 << 16);
    const [outcome] = await fetchPartitions(() => partition, [spec(0)], options);
    expect(waited()).toBe(false);
    expect(outcome?.error?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("is woken by an append that lands once it waits", async () => {
    const { log, partition } = await openPartition(0, 10);
    const late = batch(500);
    const outcomes = await fetchPartitions(() => partition, [spec(0)], {
      minBytes: log.batches[0]!.length + late.length,
      maxWaitMs: FETCH_WAIT_MS_MAX,
      maxBytes: 1 << 20,
      onWait: (waiting) => {
        if (waiting) void partition.append(late, -1);
      },
    });
    expect(outcomes[0]?.highWatermark).toBe(2);
    expect(outcomes[0]?.records.length).toBe(log.batches[0]!.length + late.length);
  });
});
