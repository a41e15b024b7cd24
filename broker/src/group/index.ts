/**
 * Consumer groups, the pure core: assignors, the KIP-848 group coordinator state machine,
 * committed offsets, and the `__consumer_offsets` record formats. README.md maps the files and
 * the protocol rules. Drivers (RPC handlers, the offsets partition, timers) live elsewhere.
 */
export * from "./assignors/index.js";
export { GroupCoordinator, DEFAULT_COORDINATOR_CONFIG, groupStateOf, type CoordinatorOptions, type CoordinatorSnapshot } from "./coordinator.js";
export { ConsumerGroupState, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH } from "./group-state.js";
export { reconcileMember, type ReconcileInput } from "./reconcile.js";
export { OffsetStore, offsetExpiresAtMs, checkOffsetEntry, type CommittedOffset, type OffsetToCommit } from "./offsets.js";
export {
  decodeRecord,
  encodeRecord,
  recordKeyId,
  RECORD_TYPE_IDS,
  type CurrentAssignmentValue,
  type EncodedRecord,
  type GroupMetadataValue,
  type GroupRecord,
  type GroupRecordType,
  type MemberMetadataValue,
  type MemberState,
  type OffsetCommitValue,
  type TargetAssignmentMemberValue,
  type TargetAssignmentMetadataValue,
} from "./records.js";
export { groupPartition, javaStringHashCode } from "./group-partition.js";
export { compileTopicRegex, SUBSCRIPTION_REGEX_LENGTH_MAX, type TopicRegex } from "./subscription-regex.js";
export { GroupError } from "./errors.js";
export * from "./limits.js";
export type * from "./types.js";
