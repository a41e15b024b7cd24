/**
 * Request, response, configuration and description shapes of the group coordinator. They
 * mirror KIP-848's ConsumerGroupHeartbeat / OffsetCommit / OffsetFetch fields; the gRPC layer
 * converts to and from them.
 */
import type { ErrorName } from "@sluice/protocol";
import type { TopicPartitions } from "./assignors/assignment.js";
import type { MemberState } from "./records.js";
import type { OffsetToCommit } from "./offsets.js";

export interface CoordinatorConfig {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Used when a joining member does not send one. */
  readonly defaultRebalanceTimeoutMs: number;
  readonly maxGroupSize: number;
  readonly offsetsRetentionMs: number;
  readonly offsetMetadataMaxBytes: number;
  /** Assignor for groups whose members do not ask for one: "uniform", "range" or "round-robin". */
  readonly defaultAssignor: string;
}

/** topic name -> partition count, for every topic in the cluster. */
export type TopicImage = ReadonlyMap<string, number>;

export interface HeartbeatRequest {
  readonly groupId: string;
  /** Client-generated, stable for the consumer's lifetime (KIP-1082). */
  readonly memberId: string;
  /** 0 to join, the last epoch received otherwise; -1 to leave, -2 for a static member's temporary leave. */
  readonly memberEpoch: number;
  readonly instanceId?: string;
  readonly rackId?: string;
  readonly clientId?: string;
  readonly rebalanceTimeoutMs?: number;
  /** Exact topic names; replaces a regex subscription. Required (this or the regex) when joining. */
  readonly subscribedTopicNames?: readonly string[];
  /** Whole-name regex (see subscription-regex.ts); replaces a names subscription. */
  readonly subscribedTopicRegex?: string;
  readonly serverAssignor?: string;
  /** What the member owns right now; required on every heartbeat so revocations can be acknowledged. */
  readonly ownedPartitions: ReadonlyMap<string, readonly number[]>;
}

export interface HeartbeatResponse {
  readonly memberId: string;
  /** -1 after a leave, -2 after a static member's temporary leave. */
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  /**
   * Exactly what the member may own now: it must stop owning everything else (committing first),
   * and it may start owning what is new here.
   */
  readonly assignment: TopicPartitions;
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** Absent or with memberEpoch -1 for standalone consumers; those may commit only while the group has no members. */
  readonly memberId?: string;
  readonly memberEpoch: number;
  readonly offsets: readonly OffsetToCommit[];
}

export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  /** undefined when this partition succeeded. */
  readonly error: ErrorName | undefined;
}

export interface OffsetFetchEntry {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
}

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export type GroupStateName = "empty" | "assigning" | "reconciling" | "stable";

export interface MemberDescription {
  readonly memberId: string;
  readonly instanceId: string | undefined;
  readonly rackId: string | undefined;
  readonly clientId: string;
  readonly memberEpoch: number;
  /** "left" for a static member that left with epoch -2 and still holds its assignment. */
  readonly state: MemberState | "left";
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | undefined;
  readonly rebalanceTimeoutMs: number;
  readonly assignment: TopicPartitions;
  readonly pendingRevocation: TopicPartitions;
  readonly targetAssignment: TopicPartitions;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupStateName;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignor: string;
  readonly members: readonly MemberDescription[];
}

export interface GroupListing {
  readonly groupId: string;
  readonly state: GroupStateName;
  readonly memberCount: number;
}

export type RemovalReason = "left" | "session-timeout" | "rebalance-timeout";

export interface RemovedMember {
  readonly groupId: string;
  readonly memberId: string;
  readonly reason: RemovalReason;
}

export interface TickReport {
  readonly removedMembers: readonly RemovedMember[];
  readonly expiredOffsets: number;
  readonly deletedGroups: readonly string[];
}
