/**
 * One consumer group's durable state, exactly as its `__consumer_offsets` records state it:
 * group metadata (epoch, subscribed topic sizes), member metadata, each member's current
 * assignment, the target assignment and its epoch. `apply(record)` is the only mutator, and
 * it sets the value of one key (records are never deltas), so replaying the records, or their
 * compacted form, rebuilds the same state.
 *
 * Derived indexes (kept in step by `apply`, rebuilt by `rebuildIndexes` after a bulk load):
 * - `ownerOf(topic, partition)`: the member whose current assignment holds the partition,
 *   assigned or pending revocation. Invariant: at most one member per partition; a record that
 *   would break it is our bug and fails an assertion (the "no two owners" rule lives here).
 * - `memberIdOfInstance(instanceId)`: static membership lookup.
 *
 * Pure: no clock, randomness or I/O.
 */
import { assert } from "@sluice/protocol";
import { EMPTY_TOPIC_PARTITIONS, pairsOf, type TopicPartitions } from "./assignors/assignment.js";
import type {
  CurrentAssignmentValue,
  GroupMetadataValue,
  GroupRecord,
  MemberMetadataValue,
} from "./records.js";

/** Member epoch of a static member that left with epoch -2 and may come back (KIP-848). */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;
/** Member epoch in a heartbeat that leaves the group for good. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;

export const NO_CURRENT_ASSIGNMENT: CurrentAssignmentValue = {
  memberEpoch: 0,
  previousMemberEpoch: 0,
  state: "stable",
  assigned: EMPTY_TOPIC_PARTITIONS,
  pendingRevocation: EMPTY_TOPIC_PARTITIONS,
};

type GroupLevelRecord = Exclude<GroupRecord, { type: "offset-commit" }>;

export class ConsumerGroupState {
  readonly groupId: string;
  metadata: GroupMetadataValue | undefined;
  assignmentEpoch = 0;
  /** Whether a target-assignment-metadata record exists (distinguishes epoch 0 from "none" for snapshots). */
  hasAssignmentMetadata = false;
  readonly memberMetadata = new Map<string, MemberMetadataValue>();
  readonly currentAssignment = new Map<string, CurrentAssignmentValue>();
  readonly targetAssignment = new Map<string, TopicPartitions>();
  private readonly owners = new Map<string, Map<number, string>>();
  private readonly instances = new Map<string, string>();
  private indexing = true;

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  get groupEpoch(): number {
    return this.metadata?.groupEpoch ?? 0;
  }

  /** Members are the ids with a member-metadata record, sorted. */
  memberIds(): string[] {
    return [...this.memberMetadata.keys()].sort();
  }

  get memberCount(): number {
    return this.memberMetadata.size;
  }

  current(memberId: string): CurrentAssignmentValue {
    return this.currentAssignment.get(memberId) ?? NO_CURRENT_ASSIGNMENT;
  }

  target(memberId: string): TopicPartitions {
    return this.targetAssignment.get(memberId) ?? EMPTY_TOPIC_PARTITIONS;
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(topic)?.get(partition);
  }

  memberIdOfInstance(instanceId: string): string | undefined {
    return this.instances.get(instanceId);
  }

  /** True when no record of this group is left (it can be forgotten). */
  isVacant(): boolean {
    return (
      this.metadata === undefined &&
      !this.hasAssignmentMetadata &&
      this.memberMetadata.size === 0 &&
      this.currentAssignment.size === 0 &&
      this.targetAssignment.size === 0
    );
  }

  apply(record: GroupLevelRecord): void {
    assert(record.groupId === this.groupId, "record applied to the wrong group");
    switch (record.type) {
      case "group-metadata":
        this.metadata = record.value ?? undefined;
        return;
      case "target-assignment-metadata":
        this.assignmentEpoch = record.value?.assignmentEpoch ?? 0;
        this.hasAssignmentMetadata = record.value !== null;
        return;
      case "target-assignment-member":
        if (record.value === null) this.targetAssignment.delete(record.memberId);
        else this.targetAssignment.set(record.memberId, record.value.partitions);
        return;
      case "member-metadata": {
        const old = this.memberMetadata.get(record.memberId);
        if (this.indexing && old?.instanceId !== undefined && this.instances.get(old.instanceId) === record.memberId) {
          this.instances.delete(old.instanceId);
        }
        if (record.value === null) this.memberMetadata.delete(record.memberId);
        else {
          this.memberMetadata.set(record.memberId, record.value);
          const inst = record.value.instanceId;
          if (this.indexing && inst !== undefined) {
            const holder = this.instances.get(inst);
            assert(holder === undefined || holder === record.memberId, `instance ${inst} held by ${holder} and ${record.memberId}`);
            this.instances.set(inst, record.memberId);
          }
        }
        return;
      }
      case "current-assignment": {
        if (this.indexing) this.unindexOwner(record.memberId, this.current(record.memberId));
        if (record.value === null) this.currentAssignment.delete(record.memberId);
        else {
          this.currentAssignment.set(record.memberId, record.value);
          if (this.indexing) this.indexOwner(record.memberId, record.value);
        }
        return;
      }
    }
  }

  /** Bulk loading: stop maintaining indexes (a partially compacted log may look inconsistent midway). */
  suspendIndexes(): void {
    this.indexing = false;
  }

  /** Rebuilds the indexes from the records' final values and checks their invariants. */
  rebuildIndexes(): void {
    this.owners.clear();
    this.instances.clear();
    this.indexing = true;
    for (const [memberId, value] of this.currentAssignment) this.indexOwner(memberId, value);
    for (const [memberId, meta] of this.memberMetadata) {
      if (meta.instanceId === undefined) continue;
      assert(!this.instances.has(meta.instanceId), `instance ${meta.instanceId} held twice after load`);
      this.instances.set(meta.instanceId, memberId);
    }
  }

  private indexOwner(memberId: string, value: CurrentAssignmentValue): void {
    for (const tp of [value.assigned, value.pendingRevocation]) {
      for (const [topic, partition] of pairsOf(tp)) {
        let byPartition = this.owners.get(topic);
        if (byPartition === undefined) this.owners.set(topic, (byPartition = new Map()));
        const holder = byPartition.get(partition);
        // The coordinator's central safety rule: never two owners of one partition.
        assert(holder === undefined || holder === memberId, `${topic}/${partition} owned by ${holder} and ${memberId}`);
        byPartition.set(partition, memberId);
      }
    }
  }

  private unindexOwner(memberId: string, value: CurrentAssignmentValue): void {
    for (const tp of [value.assigned, value.pendingRevocation]) {
      for (const [topic, partition] of pairsOf(tp)) {
        const byPartition = this.owners.get(topic);
        if (byPartition?.get(partition) === memberId) byPartition.delete(partition);
        if (byPartition?.size === 0) this.owners.delete(topic);
      }
    }
  }
}
