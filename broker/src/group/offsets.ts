/**
 * Committed offsets of every group a coordinator serves, as the offset-commit records state
 * them (group, topic, partition) -> (offset, leader epoch, metadata, commit time). `apply` is
 * the only mutator; a tombstone removes the entry. Also the pure checks a commit's partitions go
 * through, and the retention rule.
 *
 * Retention (Kafka's offsets.retention.ms, KIP-211 semantics): offsets of a group that has
 * members never expire. Once the group is empty, an offset expires `retentionMs` after the later
 * of its commit time and the time the group became empty. Offsets of a group that never had
 * members (committed by a standalone consumer or the admin API) count from their commit time.
 *
 * Pure: no clock, randomness or I/O.
 */
import type { ErrorName } from "@sluice/protocol";
import type { GroupRecord, OffsetCommitValue } from "./records.js";

export interface CommittedOffset extends OffsetCommitValue {
  readonly topic: string;
  readonly partition: number;
}

export class OffsetStore {
  private readonly byGroup = new Map<string, Map<string, Map<number, OffsetCommitValue>>>();

  apply(record: Extract<GroupRecord, { type: "offset-commit" }>): void {
    let byTopic = this.byGroup.get(record.groupId);
    if (record.value === null) {
      const byPartition = byTopic?.get(record.topic);
      byPartition?.delete(record.partition);
      if (byPartition?.size === 0) byTopic?.delete(record.topic);
      if (byTopic?.size === 0) this.byGroup.delete(record.groupId);
      return;
    }
    if (byTopic === undefined) this.byGroup.set(record.groupId, (byTopic = new Map()));
    let byPartition = byTopic.get(record.topic);
    if (byPartition === undefined) byTopic.set(record.topic, (byPartition = new Map()));
    byPartition.set(record.partition, record.value);
  }

  get(groupId: string, topic: string, partition: number): OffsetCommitValue | undefined {
    return this.byGroup.get(groupId)?.get(topic)?.get(partition);
  }

  hasGroup(groupId: string): boolean {
    return this.byGroup.has(groupId);
  }

  groupIds(): string[] {
    return [...this.byGroup.keys()].sort();
  }

  /** Every committed offset of a group, sorted by topic then partition. */
  entries(groupId: string): CommittedOffset[] {
    const out: CommittedOffset[] = [];
    const byTopic = this.byGroup.get(groupId);
    if (byTopic === undefined) return out;
    for (const topic of [...byTopic.keys()].sort()) {
      const byPartition = byTopic.get(topic) as Map<number, OffsetCommitValue>;
      for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
        out.push({ topic, partition, ...(byPartition.get(partition) as OffsetCommitValue) });
      }
    }
    return out;
  }
}

/** When an offset of an empty group expires (see the module comment). */
export function offsetExpiresAtMs(offset: OffsetCommitValue, groupEmptySinceMs: number | undefined, retentionMs: number): number {
  const from = groupEmptySinceMs === undefined || groupEmptySinceMs < 0 ? offset.commitTimestampMs : Math.max(offset.commitTimestampMs, groupEmptySinceMs);
  return from + retentionMs;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Leader epoch of the record at `offset - 1` as the consumer saw it; -1 (default) when unknown. */
  readonly leaderEpoch?: number;
  readonly metadata?: string;
}

const utf8 = new TextEncoder();
const INT32_MAX = 0x7fff_ffff;

/** The per-partition check every commit and reset runs; undefined when the entry is acceptable. */
export function checkOffsetEntry(
  entry: OffsetToCommit,
  topics: ReadonlyMap<string, number>,
  metadataBytesMax: number,
): ErrorName | undefined {
  if (typeof entry.topic !== "string" || !Number.isInteger(entry.partition) || entry.partition < 0) return "INVALID_REQUEST";
  const count = topics.get(entry.topic);
  if (count === undefined || entry.partition >= count) return "UNKNOWN_TOPIC_OR_PARTITION";
  if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) return "INVALID_COMMIT_OFFSET_SIZE";
  const epoch = entry.leaderEpoch ?? -1;
  if (!Number.isInteger(epoch) || epoch < -1 || epoch > INT32_MAX) return "INVALID_COMMIT_OFFSET_SIZE";
  if (entry.metadata !== undefined && (typeof entry.metadata !== "string" || utf8.encode(entry.metadata).length > metadataBytesMax)) {
    return "OFFSET_METADATA_TOO_LARGE";
  }
  return undefined;
}
