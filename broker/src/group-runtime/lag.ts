/**
 * Consumer lag per (group, topic, partition): one function (`groupLag`) computes what
 * DescribeGroups returns with `include_offsets` and what the lag gauges export, so the two can
 * never disagree.
 *
 * For each partition the group has committed (plus each partition a member is assigned but has
 * not committed yet):
 *   log end offset  the partition's high watermark (the next offset a consumer can read)
 *   lag             hwm - max(committed, log start offset), never below 0; uncommitted:
 *                   hwm - log start offset (what a consumer starting from the earliest would read)
 *   time lag        now - timestamp of the first unconsumed record (at max(committed, log
 *                   start)), in seconds, never below 0; 0 when lag is 0
 * A partition that no longer exists (topic deleted) reports log end offset -1 and lag -1.
 *
 * The time lag reads one batch per (topic, partition, offset); TimeLagCache keeps the answer
 * until that offset stops being asked for (`sweep`), so a scrape reads at most one batch per
 * partition whose committed offset moved.
 */
import { decodeRecordBatch, SluiceError } from "@sluice/protocol";
import type { GroupDescription, OffsetFetchEntry } from "../group/index.js";
import type { PartitionRegistry } from "../partition/partition-registry.js";
import { TIME_LAG_CACHE_ENTRIES_MAX } from "./limits.js";

export interface PartitionLagRow {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly committedOffset: number;
  /** The high watermark; -1 when the partition does not exist. */
  readonly logEndOffset: number;
  /** -1 when the partition does not exist. */
  readonly lag: number;
  readonly timeLagSeconds: number;
  /** Member assigned the partition (or still revoking it); "" if none. */
  readonly ownerMemberId: string;
  readonly metadata: string;
}

/** Timestamps of the record at (topic, partition, offset); see the module comment. */
export class TimeLagCache {
  private entries = new Map<string, number>();
  private used = new Set<string>();
  /** Batch reads done (tests check the cache really saves reads). */
  reads = 0;

  /** Timestamp (ms) of the first record at or after `offset` below the high watermark; undefined if none can be read. */
  async timestampAt(partitions: PartitionRegistry, topic: string, partition: number, offset: number): Promise<number | undefined> {
    const key = `${topic}\u0000${partition}\u0000${offset}`;
    this.used.add(key);
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    const found = partitions.get(topic, partition);
    if (found instanceof SluiceError) return undefined;
    let timestamp: number | undefined;
    try {
      this.reads++;
      const { records } = await found.read(offset, 1);
      if (records.length === 0) return undefined;
      const batch = decodeRecordBatch(records, 0);
      timestamp = batch.records.find((r) => r.offset >= offset)?.timestamp ?? batch.header.maxTimestamp;
    } catch (error) {
      if (error instanceof SluiceError) return undefined; // moved out of range, deleted, unreadable: no estimate this time
      throw error;
    }
    if (this.entries.size >= TIME_LAG_CACHE_ENTRIES_MAX) this.entries.clear();
    this.entries.set(key, timestamp);
    return timestamp;
  }

  /** Forgets entries not asked for since the last sweep (committed offsets that moved on). */
  sweep(): void {
    for (const key of this.entries.keys()) if (!this.used.has(key)) this.entries.delete(key);
    this.used = new Set();
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface GroupLagInput {
  readonly description: GroupDescription;
  readonly offsets: readonly OffsetFetchEntry[];
  readonly partitions: PartitionRegistry;
  readonly cache: TimeLagCache;
  readonly nowMs: number;
}

/** Lag rows of one group, sorted by topic then partition. */
export async function groupLag(input: GroupLagInput): Promise<PartitionLagRow[]> {
  const owners = new Map<string, string>();
  const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
  for (const member of input.description.members) {
    for (const tp of [member.assignment, member.pendingRevocation]) {
      for (const [topic, list] of tp) for (const p of list) owners.set(keyOf(topic, p), member.memberId);
    }
  }
  const committed = new Map<string, OffsetFetchEntry>();
  for (const entry of input.offsets) committed.set(keyOf(entry.topic, entry.partition), entry);
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const e of input.offsets) keys.set(keyOf(e.topic, e.partition), { topic: e.topic, partition: e.partition });
  for (const member of input.description.members) {
    for (const tp of [member.assignment, member.pendingRevocation]) {
      for (const [topic, list] of tp) for (const p of list) keys.set(keyOf(topic, p), { topic, partition: p });
    }
  }
  const sorted = [...keys.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const rows: PartitionLagRow[] = [];
  for (const { topic, partition } of sorted) {
    const key = keyOf(topic, partition);
    const entry = committed.get(key);
    const committedOffset = entry?.offset ?? -1;
    const base = { topic, partition, committedOffset, ownerMemberId: owners.get(key) ?? "", metadata: entry?.metadata ?? "" };
    const found = input.partitions.get(topic, partition);
    if (found instanceof SluiceError) {
      rows.push({ ...base, logEndOffset: -1, lag: -1, timeLagSeconds: 0 });
      continue;
    }
    const hwm = found.highWatermark;
    const from = Math.max(committedOffset, found.logStartOffset);
    const lag = Math.max(0, hwm - from);
    let timeLagSeconds = 0;
    if (lag > 0) {
      const timestamp = await input.cache.timestampAt(input.partitions, topic, partition, from);
      if (timestamp !== undefined) timeLagSeconds = Math.max(0, input.nowMs - timestamp) / 1000;
    }
    rows.push({ ...base, logEndOffset: hwm, lag, timeLagSeconds });
  }
  return rows;
}
