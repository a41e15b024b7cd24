/**
 * The group coordinator for one `__consumer_offsets` partition: KIP-848 server-side,
 * incremental consumer-group membership plus committed offsets. A pure state machine: time
 * arrives as `nowMs`, nothing here sets timers or touches disk or network.
 *
 * How a driver uses it (the etcd-raft "Ready" pattern):
 *   1. call an operation (`heartbeat`, `commitOffsets`, `tick`, ...); it returns the response
 *      or throws a GroupError (a typed, coded SluiceError);
 *   2. whether it returned or threw, `takeRecords()` yields the records the operation produced
 *      (an operation may, for example, expire a dead member before refusing the request);
 *   3. append those records to the partition and answer the client once they are committed.
 *   If the append fails, the driver must drop this coordinator and rebuild it with
 *   `GroupCoordinator.load` from what the partition really holds.
 *
 * Every state change is made by applying a record (see group-state.ts, offsets.ts), so `load`
 * replaying the partition rebuilds exactly the state the records describe. Deadlines are not
 * records: on load every member gets a fresh session (and, if it owes a revocation, a fresh
 * rebalance timeout), as Kafka does.
 *
 * Protocol rules enforced here (README.md has the full list):
 * - Any change to members, subscriptions or subscribed topics' sizes bumps the group epoch;
 *   the next heartbeat recomputes the target assignment with the group's assignor.
 * - Members move toward the target through reconcileMember: revoke first, assign only
 *   partitions nobody else holds. At most one member holds a partition (group-state.ts asserts it).
 * - Epochs fence zombies: a heartbeat with a newer epoch than the member's, or an older one
 *   other than "the previous epoch with a subset of the assignment" (a lost response), gets
 *   FENCED_MEMBER_EPOCH; unknown members get UNKNOWN_MEMBER_ID. A heartbeat that claims
 *   partitions the member was never given is fenced too (stricter than Kafka).
 * - Session timeout removes a member; rebalance timeout removes a member that still holds
 *   partitions it was told to revoke. Either way its partitions become free.
 * - Static members (instanceId): a new member id with the instance id of a member that left with
 *   epoch -2 takes over its assignment without a rebalance; while the old one is alive the new
 *   one gets UNRELEASED_INSTANCE_ID; epoch -2 keeps the assignment until session timeout.
 * - Offsets: members commit with their current epoch (older: STALE_MEMBER_EPOCH, newer:
 *   FENCED_MEMBER_EPOCH) and only partitions they hold (else STALE_MEMBER_EPOCH for that
 *   partition). Standalone commits (epoch -1) and admin resets need an empty group.
 */
import { SluiceError } from "@sluice/protocol";
import {
  EMPTY_TOPIC_PARTITIONS,
  hasPartition,
  isSubsetOf,
  normalizeTopicPartitions,
  topicPartitionsEqual,
  topicPartitionsToObject,
  unionOf,
  type TopicPartitions,
} from "./assignors/assignment.js";
import { assignorByName, DEFAULT_ASSIGNOR_NAME, isAssignorName } from "./assignors/registry.js";
import { GroupError } from "./errors.js";
import { ConsumerGroupState, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH } from "./group-state.js";
import {
  CLIENT_ID_LENGTH_MAX,
  GROUP_ID_LENGTH_MAX,
  GROUP_MEMBERS_MAX,
  HEARTBEAT_INTERVAL_MS_DEFAULT,
  INSTANCE_ID_LENGTH_MAX,
  INTERNAL_TOPIC_PREFIX,
  MEMBER_ID_LENGTH_MAX,
  OFFSET_METADATA_BYTES_MAX_DEFAULT,
  OFFSETS_PER_REQUEST_MAX,
  OFFSETS_RETENTION_MS_DEFAULT,
  OWNED_PARTITIONS_MAX,
  RACK_ID_LENGTH_MAX,
  REBALANCE_TIMEOUT_MS_DEFAULT,
  REBALANCE_TIMEOUT_MS_MAX,
  REGEX_CACHE_ENTRIES_MAX,
  SESSION_TIMEOUT_MS_DEFAULT,
  SUBSCRIBED_TOPICS_MAX,
  TOPIC_NAME_LENGTH_MAX,
} from "./limits.js";
import { checkOffsetEntry, offsetExpiresAtMs, OffsetStore, type OffsetToCommit } from "./offsets.js";
import { currentAssignmentEqual, reconcileMember } from "./reconcile.js";
import type { CurrentAssignmentValue, GroupRecord, MemberMetadataValue } from "./records.js";
import { compileTopicRegex, type TopicRegex } from "./subscription-regex.js";
import type {
  CoordinatorConfig,
  GroupDescription,
  GroupListing,
  GroupStateName,
  HeartbeatRequest,
  HeartbeatResponse,
  MemberDescription,
  OffsetCommitRequest,
  OffsetFetchEntry,
  PartitionResult,
  RemovalReason,
  RemovedMember,
  TickReport,
  TopicImage,
  TopicPartitionRef,
} from "./types.js";

/** Largest offset metadata limit a config may set: the record's string length prefix is an int16. */
const OFFSET_METADATA_BYTES_LIMIT = 16_384;

export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = {
  sessionTimeoutMs: SESSION_TIMEOUT_MS_DEFAULT,
  heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS_DEFAULT,
  defaultRebalanceTimeoutMs: REBALANCE_TIMEOUT_MS_DEFAULT,
  maxGroupSize: GROUP_MEMBERS_MAX,
  offsetsRetentionMs: OFFSETS_RETENTION_MS_DEFAULT,
  offsetMetadataMaxBytes: OFFSET_METADATA_BYTES_MAX_DEFAULT,
  defaultAssignor: DEFAULT_ASSIGNOR_NAME,
};

export interface CoordinatorOptions {
  readonly config?: Partial<CoordinatorConfig>;
  /** The cluster's topics now (updateTopics replaces it). */
  readonly topics?: TopicImage;
}

interface MemberTimers {
  sessionDeadlineMs: number;
  /** Set while the member owes a revocation. */
  revocationDeadlineMs: number | undefined;
}

type Resolution = { readonly kind: "new" } | { readonly kind: "existing" } | { readonly kind: "replace"; readonly previousMemberId: string };

export class GroupCoordinator {
  readonly config: CoordinatorConfig;
  private topics: TopicImage = new Map();
  private topicsVersion = 0;
  private readonly groups = new Map<string, ConsumerGroupState>();
  private readonly offsets = new OffsetStore();
  private readonly timers = new Map<string, Map<string, MemberTimers>>();
  private readonly regexes = new Map<string, { regex: TopicRegex; version: number; topics: string[] }>();
  private outbox: GroupRecord[] = [];
  private loading = false;

  constructor(options: CoordinatorOptions = {}) {
    this.config = validateConfig({ ...DEFAULT_COORDINATOR_CONFIG, ...options.config });
    if (options.topics !== undefined) this.setTopics(options.topics);
  }

  /**
   * Rebuilds a coordinator from a `__consumer_offsets` partition's records (full or compacted),
   * as a broker does when it becomes that partition's leader. Produces no records.
   */
  static load(records: Iterable<GroupRecord>, nowMs: number, options: CoordinatorOptions = {}): GroupCoordinator {
    const c = new GroupCoordinator(options);
    c.loading = true;
    for (const record of records) c.apply(record);
    c.loading = false;
    for (const group of c.groups.values()) {
      group.rebuildIndexes();
      for (const memberId of group.memberIds()) {
        const meta = group.memberMetadata.get(memberId) as MemberMetadataValue;
        c.timersOf(group.groupId).set(memberId, {
          sessionDeadlineMs: nowMs + c.config.sessionTimeoutMs,
          revocationDeadlineMs: group.current(memberId).state === "unrevoked_partitions" ? nowMs + meta.rebalanceTimeoutMs : undefined,
        });
      }
    }
    return c;
  }

  /** Records produced since the last call, oldest first; the driver must append them (see the module comment). */
  takeRecords(): GroupRecord[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** Replaces the topic image. Groups whose subscribed topics changed size (or appeared, or vanished) bump their epoch. */
  updateTopics(topics: TopicImage): void {
    this.setTopics(topics);
    for (const group of this.sortedGroups()) {
      if (group.memberCount === 0) continue;
      const subscribed = this.subscribedTopicsOf(group);
      if (!sameCounts(subscribed, group.metadata?.subscribedTopics)) {
        this.emit({
          type: "group-metadata",
          groupId: group.groupId,
          value: { groupEpoch: group.groupEpoch + 1, emptySinceMs: -1, subscribedTopics: subscribed },
        });
      }
    }
  }

  // ---- membership ----

  heartbeat(req: HeartbeatRequest, nowMs: number): HeartbeatResponse {
    this.validateHeartbeat(req);
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return this.leave(req, nowMs);
    }
    const groupId = req.groupId;
    const memberId = req.memberId;
    const existing = this.groups.get(groupId);
    if (existing === undefined && req.memberEpoch !== 0) {
      throw new GroupError("GROUP_ID_NOT_FOUND", groupId, "join with member epoch 0 first", memberId);
    }
    if (existing !== undefined) this.expireMembers(existing, nowMs, []);
    const owned = normalizeTopicPartitions(req.ownedPartitions);
    const resolution = this.resolveMember(this.groups.get(groupId), req, owned);

    // Validation is over: from here on every change is a record.
    const before = this.groups.get(groupId);
    const previousId = resolution.kind === "replace" ? resolution.previousMemberId : memberId;
    const previousMeta = resolution.kind === "new" ? undefined : before?.memberMetadata.get(previousId);
    const meta = this.nextMemberMetadata(previousMeta, req);
    let bump = resolution.kind === "new" || subscriptionChanged(previousMeta, meta);
    if (resolution.kind === "replace" && before !== undefined) {
      const inherited = before.current(previousId);
      const inheritedTarget = before.targetAssignment.get(previousId);
      this.removeMemberRecords(before, previousId);
      this.emit({ type: "member-metadata", groupId, memberId, value: meta });
      if (inheritedTarget !== undefined) this.emit({ type: "target-assignment-member", groupId, memberId, value: { partitions: inheritedTarget } });
      this.emit({ type: "current-assignment", groupId, memberId, value: inherited });
      const oldTimers = this.timersOf(groupId).get(previousId);
      this.timersOf(groupId).delete(previousId);
      if (oldTimers !== undefined) this.timersOf(groupId).set(memberId, oldTimers);
    } else if (previousMeta === undefined || !memberMetadataEqual(previousMeta, meta)) {
      this.emit({ type: "member-metadata", groupId, memberId, value: meta });
    }
    const group = this.groups.get(groupId) as ConsumerGroupState;
    const subscribed = this.subscribedTopicsOf(group);
    if (group.metadata === undefined || !sameCounts(subscribed, group.metadata.subscribedTopics)) bump = true;
    if (bump) {
      this.emit({ type: "group-metadata", groupId, value: { groupEpoch: group.groupEpoch + 1, emptySinceMs: -1, subscribedTopics: subscribed } });
    }
    if (group.groupEpoch > group.assignmentEpoch) this.computeTargetAssignment(group);

    const current = group.current(memberId);
    const next = reconcileMember({
      memberId,
      current,
      owned,
      targetEpoch: group.assignmentEpoch,
      target: group.target(memberId),
      ownerOf: (t, p) => group.ownerOf(t, p),
    });
    if (!group.currentAssignment.has(memberId) || !currentAssignmentEqual(current, next)) {
      this.emit({ type: "current-assignment", groupId, memberId, value: next });
    }
    // The rebalance timeout runs from when a revocation is asked for; a member that acknowledges
    // one and is asked for another (the target moved on) gets a fresh deadline for the new one.
    const timers = this.timersOf(groupId);
    const previousDeadline = timers.get(memberId)?.revocationDeadlineMs;
    const sameRevocation = current.state === "unrevoked_partitions" && topicPartitionsEqual(current.pendingRevocation, next.pendingRevocation);
    timers.set(memberId, {
      sessionDeadlineMs: nowMs + this.config.sessionTimeoutMs,
      revocationDeadlineMs:
        next.state !== "unrevoked_partitions"
          ? undefined
          : sameRevocation && previousDeadline !== undefined
            ? previousDeadline
            : nowMs + meta.rebalanceTimeoutMs,
    });
    return { memberId, memberEpoch: next.memberEpoch, heartbeatIntervalMs: this.config.heartbeatIntervalMs, assignment: next.assigned };
  }

  /** Same as a heartbeat with epoch -1 (or -2 with `temporary` for a static member). */
  leaveGroup(groupId: string, memberId: string, nowMs: number, opts: { instanceId?: string; temporary?: boolean } = {}): HeartbeatResponse {
    return this.heartbeat(
      {
        groupId,
        memberId,
        instanceId: opts.instanceId,
        memberEpoch: opts.temporary === true ? LEAVE_GROUP_STATIC_MEMBER_EPOCH : LEAVE_GROUP_MEMBER_EPOCH,
        ownedPartitions: new Map(),
      },
      nowMs,
    );
  }

  /** Expires sessions, rebalance timeouts and offsets; forgets empty groups without offsets. */
  tick(nowMs: number): TickReport {
    const removedMembers: RemovedMember[] = [];
    for (const group of this.sortedGroups()) this.expireMembers(group, nowMs, removedMembers);
    let expiredOffsets = 0;
    for (const groupId of this.offsets.groupIds()) {
      const group = this.groups.get(groupId);
      if (group !== undefined && group.memberCount > 0) continue;
      for (const entry of this.offsets.entries(groupId)) {
        if (nowMs >= offsetExpiresAtMs(entry, group?.metadata?.emptySinceMs, this.config.offsetsRetentionMs)) {
          this.emit({ type: "offset-commit", groupId, topic: entry.topic, partition: entry.partition, value: null });
          expiredOffsets++;
        }
      }
    }
    const deletedGroups: string[] = [];
    for (const group of this.sortedGroups()) {
      if (group.memberCount > 0 || this.offsets.hasGroup(group.groupId)) continue;
      this.deleteGroupRecords(group);
      deletedGroups.push(group.groupId);
    }
    return { removedMembers, expiredOffsets, deletedGroups };
  }

  // ---- offsets ----

  commitOffsets(req: OffsetCommitRequest, nowMs: number): PartitionResult[] {
    checkGroupId(req.groupId);
    checkOffsetList(req.groupId, req.offsets);
    if (!Number.isInteger(req.memberEpoch) || req.memberEpoch < -1) {
      throw new GroupError("INVALID_REQUEST", req.groupId, `member epoch ${req.memberEpoch}`, req.memberId);
    }
    const group = this.groups.get(req.groupId);
    if (group !== undefined) this.expireMembers(group, nowMs, []);
    let allowed: TopicPartitions | undefined;
    if (req.memberEpoch < 0) {
      if (group !== undefined && group.memberCount > 0) {
        throw new GroupError("UNKNOWN_MEMBER_ID", req.groupId, "the group has members: commit as a member with its epoch", req.memberId);
      }
    } else {
      if (group === undefined) throw new GroupError("GROUP_ID_NOT_FOUND", req.groupId, "no such consumer group", req.memberId);
      const memberId = req.memberId;
      if (memberId === undefined || !group.memberMetadata.has(memberId)) {
        throw new GroupError("UNKNOWN_MEMBER_ID", req.groupId, "not a member", memberId);
      }
      const current = group.current(memberId);
      if (req.memberEpoch > current.memberEpoch) {
        throw new GroupError("FENCED_MEMBER_EPOCH", req.groupId, `epoch ${req.memberEpoch} > member's ${current.memberEpoch}`, memberId);
      }
      if (req.memberEpoch < current.memberEpoch) {
        throw new GroupError("STALE_MEMBER_EPOCH", req.groupId, `epoch ${req.memberEpoch} < member's ${current.memberEpoch}`, memberId);
      }
      allowed = unionOf(current.assigned, current.pendingRevocation);
    }
    return this.writeOffsets(req.groupId, req.offsets, nowMs, allowed);
  }

  /** Admin reset (any direction): only while the group has no members. */
  resetOffsets(groupId: string, offsets: readonly OffsetToCommit[], nowMs: number): PartitionResult[] {
    checkGroupId(groupId);
    checkOffsetList(groupId, offsets);
    const group = this.groups.get(groupId);
    if (group !== undefined) this.expireMembers(group, nowMs, []);
    if (group !== undefined && group.memberCount > 0) {
      throw new GroupError("NON_EMPTY_GROUP", groupId, `${group.memberCount} members; offsets can be reset only when the group is empty`);
    }
    return this.writeOffsets(groupId, offsets, nowMs, undefined);
  }

  /** Committed offsets; every requested partition appears, with offset -1 when nothing is committed. */
  fetchOffsets(groupId: string, partitions?: readonly TopicPartitionRef[]): OffsetFetchEntry[] {
    checkGroupId(groupId);
    if (partitions === undefined) {
      return this.offsets.entries(groupId).map((e) => ({ ...e }));
    }
    return partitions.map(({ topic, partition }) => {
      const v = this.offsets.get(groupId, topic, partition);
      return v === undefined
        ? { topic, partition, offset: -1, leaderEpoch: -1, metadata: "", commitTimestampMs: -1 }
        : { topic, partition, ...v };
    });
  }

  /** Deletes committed offsets; refused per partition (GROUP_SUBSCRIBED_TO_TOPIC) for topics live members subscribe to. */
  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[], nowMs: number): PartitionResult[] {
    checkGroupId(groupId);
    checkOffsetList(groupId, partitions);
    const group = this.groups.get(groupId);
    if (group !== undefined) this.expireMembers(group, nowMs, []);
    if (group === undefined && !this.offsets.hasGroup(groupId)) throw new GroupError("GROUP_ID_NOT_FOUND", groupId, "no such group");
    const subscribed = group !== undefined && group.memberCount > 0 ? this.subscribedTopicsOf(group) : new Map<string, number>();
    return partitions.map(({ topic, partition }) => {
      if (subscribed.has(topic)) return { topic, partition, error: "GROUP_SUBSCRIBED_TO_TOPIC" };
      if (this.offsets.get(groupId, topic, partition) !== undefined) {
        this.emit({ type: "offset-commit", groupId, topic, partition, value: null });
      }
      return { topic, partition, error: undefined };
    });
  }

  /** Deletes an empty group and all its offsets. */
  deleteGroup(groupId: string, nowMs: number): void {
    checkGroupId(groupId);
    const group = this.groups.get(groupId);
    if (group !== undefined) this.expireMembers(group, nowMs, []);
    if (group === undefined && !this.offsets.hasGroup(groupId)) throw new GroupError("GROUP_ID_NOT_FOUND", groupId, "no such group");
    if (group !== undefined && group.memberCount > 0) throw new GroupError("NON_EMPTY_GROUP", groupId, `${group.memberCount} members`);
    for (const e of this.offsets.entries(groupId)) {
      this.emit({ type: "offset-commit", groupId, topic: e.topic, partition: e.partition, value: null });
    }
    if (group !== undefined) this.deleteGroupRecords(group);
  }

  // ---- reads ----

  describeGroup(groupId: string): GroupDescription {
    checkGroupId(groupId);
    const group = this.groups.get(groupId);
    if (group === undefined) {
      if (!this.offsets.hasGroup(groupId)) throw new GroupError("GROUP_ID_NOT_FOUND", groupId, "no such group");
      return { groupId, state: "empty", groupEpoch: 0, assignmentEpoch: 0, assignor: this.config.defaultAssignor, members: [] };
    }
    const members: MemberDescription[] = group.memberIds().map((memberId) => {
      const meta = group.memberMetadata.get(memberId) as MemberMetadataValue;
      const current = group.current(memberId);
      return {
        memberId,
        instanceId: meta.instanceId,
        rackId: meta.rackId,
        clientId: meta.clientId,
        memberEpoch: current.memberEpoch,
        state: current.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH ? "left" : current.state,
        subscribedTopicNames: meta.subscribedTopicNames,
        subscribedTopicRegex: meta.subscribedTopicRegex,
        rebalanceTimeoutMs: meta.rebalanceTimeoutMs,
        assignment: current.assigned,
        pendingRevocation: current.pendingRevocation,
        targetAssignment: group.target(memberId),
      };
    });
    return {
      groupId,
      state: groupStateOf(group),
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignor: this.preferredAssignor(group),
      members,
    };
  }

  listGroups(): GroupListing[] {
    const ids = new Set([...this.groups.keys(), ...this.offsets.groupIds()]);
    return [...ids].sort().map((groupId) => {
      const group = this.groups.get(groupId);
      return { groupId, state: group === undefined ? "empty" : groupStateOf(group), memberCount: group?.memberCount ?? 0 };
    });
  }

  /** When a member's session ends unless it heartbeats (undefined for unknown members). */
  sessionDeadlineMs(groupId: string, memberId: string): number | undefined {
    return this.timers.get(groupId)?.get(memberId)?.sessionDeadlineMs;
  }

  /**
   * Everything the records determine, as plain sorted data: two coordinators with equal
   * snapshots answer every request the same way (up to deadlines, which are not durable).
   */
  snapshot(): CoordinatorSnapshot {
    return {
      groups: this.sortedGroups().map((g) => {
        const ids = [...new Set([...g.memberMetadata.keys(), ...g.currentAssignment.keys(), ...g.targetAssignment.keys()])].sort();
        return {
          groupId: g.groupId,
          metadata:
            g.metadata === undefined
              ? null
              : { groupEpoch: g.metadata.groupEpoch, emptySinceMs: g.metadata.emptySinceMs, subscribedTopics: Object.fromEntries([...g.metadata.subscribedTopics].sort()) },
          assignmentEpoch: g.hasAssignmentMetadata ? g.assignmentEpoch : null,
          members: ids.map((memberId) => {
            const meta = g.memberMetadata.get(memberId);
            const current = g.currentAssignment.get(memberId);
            const target = g.targetAssignment.get(memberId);
            return {
              memberId,
              metadata: meta === undefined ? null : { ...meta, subscribedTopicNames: [...meta.subscribedTopicNames] },
              current: current === undefined ? null : currentToObject(current),
              target: target === undefined ? null : topicPartitionsToObject(target),
            };
          }),
        };
      }),
      offsets: this.offsets.groupIds().map((groupId) => ({ groupId, entries: this.offsets.entries(groupId).map((e) => ({ ...e })) })),
    };
  }

  // ---- internals ----

  private emit(record: GroupRecord): void {
    this.apply(record);
    this.outbox.push(record);
  }

  private apply(record: GroupRecord): void {
    if (record.type === "offset-commit") {
      this.offsets.apply(record);
      return;
    }
    let group = this.groups.get(record.groupId);
    if (group === undefined) {
      if (record.value === null) return; // tombstone for a group we never saw (compacted away)
      group = new ConsumerGroupState(record.groupId);
      if (this.loading) group.suspendIndexes();
      this.groups.set(record.groupId, group);
    }
    group.apply(record);
    if (group.isVacant()) {
      this.groups.delete(record.groupId);
      this.timers.delete(record.groupId);
    }
  }

  private setTopics(topics: TopicImage): void {
    for (const [name, count] of topics) {
      if (typeof name !== "string" || name.length === 0 || name.length > TOPIC_NAME_LENGTH_MAX || !Number.isSafeInteger(count) || count < 0) {
        throw new SluiceError("INVALID_REQUEST", `topic image entry ${String(name)} -> ${count}`);
      }
    }
    this.topics = new Map([...topics].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    this.topicsVersion++;
  }

  private timersOf(groupId: string): Map<string, MemberTimers> {
    let t = this.timers.get(groupId);
    if (t === undefined) this.timers.set(groupId, (t = new Map()));
    return t;
  }

  private sortedGroups(): ConsumerGroupState[] {
    return [...this.groups.keys()].sort().map((id) => this.groups.get(id) as ConsumerGroupState);
  }

  private validateHeartbeat(req: HeartbeatRequest): void {
    checkGroupId(req.groupId);
    const g = req.groupId;
    const m = req.memberId;
    const bad = (detail: string): GroupError => new GroupError("INVALID_REQUEST", g, detail, typeof m === "string" ? m : undefined);
    if (typeof m !== "string" || m.length === 0 || m.length > MEMBER_ID_LENGTH_MAX) throw bad(`member id must be 1-${MEMBER_ID_LENGTH_MAX} characters`);
    if (!Number.isInteger(req.memberEpoch) || req.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) throw bad(`member epoch ${req.memberEpoch}`);
    checkOptionalName(req.instanceId, INSTANCE_ID_LENGTH_MAX, "instance id", bad);
    checkOptionalName(req.rackId, RACK_ID_LENGTH_MAX, "rack id", bad);
    if (req.clientId !== undefined && (typeof req.clientId !== "string" || req.clientId.length > CLIENT_ID_LENGTH_MAX)) throw bad("client id too long");
    if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH && req.instanceId === undefined) throw bad("epoch -2 is only for static members");
    const r = req.rebalanceTimeoutMs;
    if (r !== undefined && (!Number.isInteger(r) || r <= 0 || r > REBALANCE_TIMEOUT_MS_MAX)) throw bad(`rebalance timeout ${r} ms not in 1..${REBALANCE_TIMEOUT_MS_MAX}`);
    const names = req.subscribedTopicNames;
    if (names !== undefined && req.subscribedTopicRegex !== undefined) throw bad("subscribe by topic names or by regex, not both");
    if (req.memberEpoch === 0 && names === undefined && req.subscribedTopicRegex === undefined) throw bad("a joining member must send its subscription");
    if (names !== undefined) {
      if (!Array.isArray(names) || names.length > SUBSCRIBED_TOPICS_MAX) throw bad(`at most ${SUBSCRIBED_TOPICS_MAX} subscribed topics`);
      for (const t of names) {
        if (typeof t !== "string" || t.length === 0 || t.length > TOPIC_NAME_LENGTH_MAX) throw bad(`bad topic name ${JSON.stringify(t)}`);
      }
    }
    if (req.subscribedTopicRegex !== undefined) {
      try {
        this.compiledRegex(req.subscribedTopicRegex);
      } catch (e) {
        if (e instanceof SluiceError) throw new GroupError(e.errorName, g, e.message, m);
        throw e;
      }
    }
    if (req.serverAssignor !== undefined && !isAssignorName(req.serverAssignor)) {
      throw new GroupError("UNSUPPORTED_ASSIGNOR", g, `"${req.serverAssignor}"`, m);
    }
    if (!(req.ownedPartitions instanceof Map)) throw bad("owned partitions missing");
    let count = 0;
    for (const [topic, partitions] of req.ownedPartitions) {
      if (typeof topic !== "string" || topic.length === 0 || topic.length > TOPIC_NAME_LENGTH_MAX || !Array.isArray(partitions)) throw bad("bad owned partitions");
      count += partitions.length;
      if (count > OWNED_PARTITIONS_MAX) throw bad(`more than ${OWNED_PARTITIONS_MAX} owned partitions`);
      for (const p of partitions) if (!Number.isInteger(p) || p < 0 || p > 0x7fff_ffff) throw bad(`bad partition ${p} of ${topic}`);
    }
  }

  private resolveMember(group: ConsumerGroupState | undefined, req: HeartbeatRequest, owned: TopicPartitions): Resolution {
    const g = req.groupId;
    const m = req.memberId;
    let resolution: Resolution;
    if (req.instanceId !== undefined) {
      const holder = group?.memberIdOfInstance(req.instanceId);
      if (req.memberEpoch === 0) {
        if (holder !== undefined && holder !== m) {
          if ((group as ConsumerGroupState).current(holder).memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
            throw new GroupError("UNRELEASED_INSTANCE_ID", g, `instance "${req.instanceId}" is held by live member "${holder}"`, m);
          }
          resolution = { kind: "replace", previousMemberId: holder };
        } else {
          resolution = group?.memberMetadata.has(m) === true ? { kind: "existing" } : { kind: "new" };
        }
      } else {
        if (holder === undefined) throw new GroupError("UNKNOWN_MEMBER_ID", g, `no member with instance "${req.instanceId}"`, m);
        if (holder !== m) throw new GroupError("FENCED_INSTANCE_ID", g, `instance "${req.instanceId}" now belongs to "${holder}"`, m);
        resolution = { kind: "existing" };
      }
    } else if (group?.memberMetadata.has(m) === true) {
      resolution = { kind: "existing" };
    } else if (req.memberEpoch === 0) {
      resolution = { kind: "new" };
    } else {
      throw new GroupError("UNKNOWN_MEMBER_ID", g, "not a member (expired, removed, or never joined)", m);
    }
    if (resolution.kind === "new" && (group?.memberCount ?? 0) >= this.config.maxGroupSize) {
      throw new GroupError("GROUP_MAX_SIZE_REACHED", g, `${this.config.maxGroupSize} members`, m);
    }
    if (resolution.kind === "existing") {
      const state = group as ConsumerGroupState;
      const meta = state.memberMetadata.get(m) as MemberMetadataValue;
      if (req.instanceId !== undefined && meta.instanceId !== req.instanceId) {
        throw new GroupError("INVALID_REQUEST", g, "a member's instance id cannot change", m);
      }
      const current = state.current(m);
      if (req.memberEpoch !== 0) {
        if (req.memberEpoch > current.memberEpoch) {
          throw new GroupError("FENCED_MEMBER_EPOCH", g, `epoch ${req.memberEpoch} > member's ${current.memberEpoch}`, m);
        }
        // An older epoch is fine only if it is the previous one and the member owns a subset of
        // what it has now: the response that carried the new epoch was lost.
        if (req.memberEpoch < current.memberEpoch && !(req.memberEpoch === current.previousMemberEpoch && isSubsetOf(owned, current.assigned))) {
          throw new GroupError("FENCED_MEMBER_EPOCH", g, `epoch ${req.memberEpoch} < member's ${current.memberEpoch}`, m);
        }
      }
      if (!isSubsetOf(owned, unionOf(current.assigned, current.pendingRevocation))) {
        throw new GroupError("FENCED_MEMBER_EPOCH", g, "reports owning partitions it was not given", m);
      }
    }
    return resolution;
  }

  private nextMemberMetadata(previous: MemberMetadataValue | undefined, req: HeartbeatRequest): MemberMetadataValue {
    const byNames = req.subscribedTopicNames !== undefined;
    const byRegex = req.subscribedTopicRegex !== undefined;
    return {
      instanceId: req.instanceId ?? previous?.instanceId,
      rackId: req.rackId ?? previous?.rackId,
      clientId: req.clientId ?? previous?.clientId ?? "",
      subscribedTopicNames: byNames
        ? [...new Set(req.subscribedTopicNames)].sort()
        : byRegex
          ? []
          : (previous?.subscribedTopicNames ?? []),
      subscribedTopicRegex: byRegex ? req.subscribedTopicRegex : byNames ? undefined : previous?.subscribedTopicRegex,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs ?? previous?.rebalanceTimeoutMs ?? this.config.defaultRebalanceTimeoutMs,
      serverAssignor: req.serverAssignor ?? previous?.serverAssignor,
    };
  }

  private leave(req: HeartbeatRequest, nowMs: number): HeartbeatResponse {
    const groupId = req.groupId;
    const memberId = req.memberId;
    const group = this.groups.get(groupId);
    if (group === undefined) throw new GroupError("GROUP_ID_NOT_FOUND", groupId, "no such consumer group", memberId);
    this.expireMembers(group, nowMs, []);
    if (req.instanceId !== undefined) {
      const holder = group.memberIdOfInstance(req.instanceId);
      if (holder === undefined) throw new GroupError("UNKNOWN_MEMBER_ID", groupId, `no member with instance "${req.instanceId}"`, memberId);
      if (holder !== memberId) throw new GroupError("FENCED_INSTANCE_ID", groupId, `instance "${req.instanceId}" belongs to "${holder}"`, memberId);
    } else if (!group.memberMetadata.has(memberId)) {
      throw new GroupError("UNKNOWN_MEMBER_ID", groupId, "not a member", memberId);
    }
    const response = { memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: this.config.heartbeatIntervalMs, assignment: EMPTY_TOPIC_PARTITIONS };
    if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // Keeps its partitions (nobody else gets them) until a new instance takes over or the session ends.
      const current = group.current(memberId);
      if (current.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        this.emit({
          type: "current-assignment",
          groupId,
          memberId,
          value: { ...current, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, previousMemberEpoch: current.memberEpoch },
        });
      }
      const timers = this.timersOf(groupId).get(memberId);
      this.timersOf(groupId).set(memberId, {
        sessionDeadlineMs: nowMs + this.config.sessionTimeoutMs,
        revocationDeadlineMs: timers?.revocationDeadlineMs,
      });
      return response;
    }
    this.removeMember(group, memberId, nowMs, "left", []);
    return response;
  }

  private expireMembers(group: ConsumerGroupState, nowMs: number, removed: RemovedMember[]): void {
    const timers = this.timersOf(group.groupId);
    for (const memberId of group.memberIds()) {
      const t = timers.get(memberId);
      if (t === undefined) continue;
      if (t.sessionDeadlineMs <= nowMs) this.removeMember(group, memberId, nowMs, "session-timeout", removed);
      else if (t.revocationDeadlineMs !== undefined && t.revocationDeadlineMs <= nowMs && group.current(memberId).state === "unrevoked_partitions") {
        this.removeMember(group, memberId, nowMs, "rebalance-timeout", removed);
      }
    }
  }

  private removeMember(group: ConsumerGroupState, memberId: string, nowMs: number, reason: RemovalReason, removed: RemovedMember[]): void {
    const groupId = group.groupId;
    this.removeMemberRecords(group, memberId);
    this.timersOf(groupId).delete(memberId);
    this.emit({
      type: "group-metadata",
      groupId,
      value: { groupEpoch: group.groupEpoch + 1, emptySinceMs: group.memberCount === 0 ? nowMs : -1, subscribedTopics: this.subscribedTopicsOf(group) },
    });
    removed.push({ groupId, memberId, reason });
  }

  /** Tombstones in Kafka's order: current assignment, target assignment, then member metadata. */
  private removeMemberRecords(group: ConsumerGroupState, memberId: string): void {
    const groupId = group.groupId;
    if (group.currentAssignment.has(memberId)) this.emit({ type: "current-assignment", groupId, memberId, value: null });
    if (group.targetAssignment.has(memberId)) this.emit({ type: "target-assignment-member", groupId, memberId, value: null });
    if (group.memberMetadata.has(memberId)) this.emit({ type: "member-metadata", groupId, memberId, value: null });
  }

  private deleteGroupRecords(group: ConsumerGroupState): void {
    const groupId = group.groupId;
    for (const memberId of [...group.targetAssignment.keys()].sort()) this.emit({ type: "target-assignment-member", groupId, memberId, value: null });
    if (group.hasAssignmentMetadata) this.emit({ type: "target-assignment-metadata", groupId, value: null });
    if (group.metadata !== undefined) this.emit({ type: "group-metadata", groupId, value: null });
  }

  private computeTargetAssignment(group: ConsumerGroupState): void {
    const groupId = group.groupId;
    const ids = group.memberIds();
    const members = ids.map((memberId) => {
      const meta = group.memberMetadata.get(memberId) as MemberMetadataValue;
      return {
        memberId,
        instanceId: meta.instanceId,
        rackId: meta.rackId,
        subscribedTopics: this.resolvedTopics(meta),
        owned: group.target(memberId),
      };
    });
    const result = assignorByName(this.preferredAssignor(group)).assign({ members, topics: group.metadata?.subscribedTopics ?? new Map() });
    for (const memberId of ids) {
      const next = result.get(memberId) ?? EMPTY_TOPIC_PARTITIONS;
      if (!group.targetAssignment.has(memberId) || !topicPartitionsEqual(next, group.target(memberId))) {
        this.emit({ type: "target-assignment-member", groupId, memberId, value: { partitions: next } });
      }
    }
    this.emit({ type: "target-assignment-metadata", groupId, value: { assignmentEpoch: group.groupEpoch } });
  }

  /** The assignor most members ask for (ties: by name), else the configured default. */
  private preferredAssignor(group: ConsumerGroupState): string {
    const votes = new Map<string, number>();
    for (const meta of group.memberMetadata.values()) {
      if (meta.serverAssignor !== undefined) votes.set(meta.serverAssignor, (votes.get(meta.serverAssignor) ?? 0) + 1);
    }
    let best: string | undefined;
    for (const [name, n] of [...votes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (best === undefined || n > (votes.get(best) ?? 0)) best = name;
    }
    return best ?? this.config.defaultAssignor;
  }

  /** A member's subscription resolved against the topic image: existing named topics plus regex matches. */
  private resolvedTopics(meta: MemberMetadataValue): string[] {
    const out = new Set<string>();
    for (const t of meta.subscribedTopicNames) if (this.topics.has(t)) out.add(t);
    if (meta.subscribedTopicRegex !== undefined) for (const t of this.regexMatches(meta.subscribedTopicRegex)) out.add(t);
    return [...out].sort();
  }

  private subscribedTopicsOf(group: ConsumerGroupState): Map<string, number> {
    const names = new Set<string>();
    for (const meta of group.memberMetadata.values()) for (const t of this.resolvedTopics(meta)) names.add(t);
    return new Map([...names].sort().map((t) => [t, this.topics.get(t) ?? 0]));
  }

  private compiledRegex(source: string): { regex: TopicRegex; version: number; topics: string[] } {
    let entry = this.regexes.get(source);
    if (entry === undefined) {
      const regex = compileTopicRegex(source);
      if (this.regexes.size >= REGEX_CACHE_ENTRIES_MAX) this.regexes.clear();
      entry = { regex, version: -1, topics: [] };
      this.regexes.set(source, entry);
    }
    return entry;
  }

  private regexMatches(source: string): string[] {
    const entry = this.compiledRegex(source);
    if (entry.version !== this.topicsVersion) {
      entry.topics = [...this.topics.keys()].filter((t) => !t.startsWith(INTERNAL_TOPIC_PREFIX) && entry.regex.matches(t));
      entry.version = this.topicsVersion;
    }
    return entry.topics;
  }

  private writeOffsets(groupId: string, offsets: readonly OffsetToCommit[], nowMs: number, allowed: TopicPartitions | undefined): PartitionResult[] {
    const results: PartitionResult[] = offsets.map((e) => {
      let error = checkOffsetEntry(e, this.topics, this.config.offsetMetadataMaxBytes);
      if (error === undefined && allowed !== undefined && !hasPartition(allowed, e.topic, e.partition)) error = "STALE_MEMBER_EPOCH";
      return { topic: e.topic, partition: e.partition, error };
    });
    offsets.forEach((e, i) => {
      if (results[i]?.error !== undefined) return;
      this.emit({
        type: "offset-commit",
        groupId,
        topic: e.topic,
        partition: e.partition,
        value: { offset: e.offset, leaderEpoch: e.leaderEpoch ?? -1, metadata: e.metadata ?? "", commitTimestampMs: nowMs },
      });
    });
    return results;
  }
}

export interface CoordinatorSnapshot {
  readonly groups: ReadonlyArray<{
    readonly groupId: string;
    readonly metadata: { groupEpoch: number; emptySinceMs: number; subscribedTopics: Record<string, number> } | null;
    readonly assignmentEpoch: number | null;
    readonly members: ReadonlyArray<{
      readonly memberId: string;
      readonly metadata: MemberMetadataValue | null;
      readonly current: ReturnType<typeof currentToObject> | null;
      readonly target: Record<string, number[]> | null;
    }>;
  }>;
  readonly offsets: ReadonlyArray<{ readonly groupId: string; readonly entries: ReadonlyArray<Record<string, unknown>> }>;
}

function currentToObject(c: CurrentAssignmentValue): {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: string;
  assigned: Record<string, number[]>;
  pendingRevocation: Record<string, number[]>;
} {
  return {
    memberEpoch: c.memberEpoch,
    previousMemberEpoch: c.previousMemberEpoch,
    state: c.state,
    assigned: topicPartitionsToObject(c.assigned),
    pendingRevocation: topicPartitionsToObject(c.pendingRevocation),
  };
}

/** empty: no members; assigning: target older than the group epoch; reconciling: some member not yet at the target; else stable. */
export function groupStateOf(group: ConsumerGroupState): GroupStateName {
  if (group.memberCount === 0) return "empty";
  if (group.groupEpoch > group.assignmentEpoch) return "assigning";
  for (const memberId of group.memberIds()) {
    const c = group.current(memberId);
    if (c.memberEpoch !== group.assignmentEpoch || c.state !== "stable") return "reconciling";
  }
  return "stable";
}

function subscriptionChanged(a: MemberMetadataValue | undefined, b: MemberMetadataValue): boolean {
  return (
    a === undefined ||
    a.subscribedTopicRegex !== b.subscribedTopicRegex ||
    a.serverAssignor !== b.serverAssignor ||
    a.subscribedTopicNames.length !== b.subscribedTopicNames.length ||
    a.subscribedTopicNames.some((t, i) => t !== b.subscribedTopicNames[i])
  );
}

function memberMetadataEqual(a: MemberMetadataValue, b: MemberMetadataValue): boolean {
  return (
    !subscriptionChanged(a, b) &&
    a.instanceId === b.instanceId &&
    a.rackId === b.rackId &&
    a.clientId === b.clientId &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs
  );
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number> | undefined): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function checkGroupId(groupId: string): void {
  if (typeof groupId !== "string" || groupId.length === 0 || groupId.length > GROUP_ID_LENGTH_MAX) {
    throw new GroupError("INVALID_GROUP_ID", String(groupId), `group id must be 1-${GROUP_ID_LENGTH_MAX} characters`);
  }
}

function checkOptionalName(value: string | undefined, max: number, what: string, bad: (d: string) => GroupError): void {
  if (value !== undefined && (typeof value !== "string" || value.length === 0 || value.length > max)) throw bad(`${what} must be 1-${max} characters`);
}

function checkOffsetList(groupId: string, list: readonly unknown[]): void {
  if (!Array.isArray(list) || list.length > OFFSETS_PER_REQUEST_MAX) {
    throw new GroupError("INVALID_REQUEST", groupId, `at most ${OFFSETS_PER_REQUEST_MAX} partitions per request`);
  }
}

function validateConfig(c: CoordinatorConfig): CoordinatorConfig {
  const positive = (name: keyof CoordinatorConfig, max = Number.MAX_SAFE_INTEGER): void => {
    const v = c[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0 || v > max) throw new SluiceError("INVALID_CONFIG", `group coordinator ${name} = ${String(v)}`);
  };
  positive("sessionTimeoutMs");
  positive("heartbeatIntervalMs");
  positive("defaultRebalanceTimeoutMs", REBALANCE_TIMEOUT_MS_MAX);
  positive("maxGroupSize", GROUP_MEMBERS_MAX);
  positive("offsetsRetentionMs");
  positive("offsetMetadataMaxBytes", OFFSET_METADATA_BYTES_LIMIT);
  if (c.heartbeatIntervalMs >= c.sessionTimeoutMs) {
    throw new SluiceError("INVALID_CONFIG", "group coordinator heartbeatIntervalMs must be below sessionTimeoutMs");
  }
  if (!isAssignorName(c.defaultAssignor)) throw new SluiceError("INVALID_CONFIG", `unknown assignor "${c.defaultAssignor}"`);
  return c;
}
