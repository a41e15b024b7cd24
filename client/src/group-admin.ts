/**
 * The consumer-group half of Admin: find coordinators, list and describe groups (with committed
 * offsets, log end offsets and lag), read, reset and delete committed offsets, delete groups.
 * `Admin` exposes these methods; this file keeps admin.ts about topics and the cluster.
 *
 * Routing: every call but ListGroups goes to the group's coordinator (group-rpc.ts). ListGroups
 * asks every broker in the metadata, since each coordinator knows only its own groups, and
 * merges the answers.
 *
 * Retries: reads are retried on retriable failures until the admin timeout. Changes (reset,
 * delete offsets, delete groups) are repeated only when the coordinator refused them without
 * acting (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS); a lost
 * answer is not repeated.
 *
 * Errors: a response-level error rejects the call; per-partition and per-group errors reject it
 * with the first failure, its message naming the group and partition, after the broker handled
 * all of them.
 */
import { fromErrorInfo, SluiceError, type api, type ErrorName } from "@sluice/protocol";
import type { ClusterClient } from "./cluster.js";
import type { TopicPartition } from "./consumer.js";
import { GroupRpc, type CoordinatorInfo, type GroupsCallStart } from "./group-rpc.js";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, listOffsets } from "./list-offsets.js";
import { METADATA_WAIT_MS_DEFAULT } from "./limits.js";

export type { CoordinatorInfo } from "./group-rpc.js";

export type GroupState = "empty" | "assigning" | "reconciling" | "stable" | "dead";

export interface GroupListing {
  readonly groupId: string;
  readonly state: string;
  readonly memberCount: number;
  readonly coordinatorId: number;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  /** Empty for dynamic members. */
  readonly instanceId: string;
  readonly rackId: string;
  readonly clientId: string;
  readonly memberEpoch: number;
  /** "stable", "unrevoked_partitions", "unreleased_partitions" or "left". */
  readonly state: string;
  readonly subscribedTopicNames: readonly string[];
  /** Empty when subscribed by names. */
  readonly subscribedTopicRegex: string;
  readonly assignment: readonly TopicPartition[];
  readonly pendingRevocation: readonly TopicPartition[];
  readonly targetAssignment: readonly TopicPartition[];
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly committedOffset: number;
  readonly logEndOffset: number;
  readonly lag: number;
  readonly timeLagSeconds: number;
  /** Member id of the current owner; empty when nobody owns it. */
  readonly ownerMemberId: string;
  readonly metadata: string;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: string;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignor: string;
  readonly coordinatorId: number;
  readonly members: readonly GroupMemberDescription[];
  /** Only with `includeOffsets`; sorted by topic and partition. */
  readonly offsets: readonly PartitionLag[];
}

export interface GroupCommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
}

export interface GroupOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata?: string;
}

/** The partitions of a topic (all when `partitions` is omitted). */
export interface TopicSelection {
  readonly topic: string;
  readonly partitions?: readonly number[];
}

/** Where a reset moves committed offsets (Kafka's kafka-consumer-groups --to-* options). */
export type OffsetResetTarget = "earliest" | "latest" | { readonly timestamp: number } | { readonly offset: number };

export interface OffsetResetPlanEntry {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly currentOffset: number;
  readonly newOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

const refusedWithoutActing: ReadonlySet<ErrorName> = new Set<ErrorName>(["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"]);

/** Prefixes the group (and partition) unless the broker's message already names the group. */
function about(error: SluiceError, groupId: string, where = ""): SluiceError {
  const prefix = error.message.includes(`"${groupId}"`) ? where : `group "${groupId}"${where === "" ? "" : `, ${where}`}`;
  if (prefix !== "") error.message = `${prefix}: ${error.message}`;
  return error;
}

function checkGroupIds(groupIds: readonly string[], what: string): void {
  if (groupIds.length === 0) throw new SluiceError("INVALID_REQUEST", `${what}: at least one group id is required`);
  for (const id of groupIds) {
    if (typeof id !== "string" || id.length === 0) throw new SluiceError("INVALID_GROUP_ID", `${what}: group ids must be non-empty strings`);
  }
}

function partitionsOf(list: readonly api.TopicPartitions[]): TopicPartition[] {
  return list
    .flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Throws the first per-partition error, naming the group and the partition. */
function throwFirstPartitionError(groupId: string, topics: readonly api.TopicPartitionErrors[]): void {
  for (const topic of topics) {
    for (const p of topic.partitions) {
      const error = fromErrorInfo(p.error);
      if (error !== null) throw about(error, groupId, `${topic.topic}-${p.partition}`);
    }
  }
}

function byTopic<T extends { readonly topic: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.topic) ?? [];
    list.push(item);
    out.set(item.topic, list);
  }
  return out;
}

export class GroupAdmin {
  private readonly rpc: GroupRpc;

  constructor(
    private readonly cluster: ClusterClient,
    private readonly timeoutMs: number,
  ) {
    this.rpc = new GroupRpc(cluster, timeoutMs);
  }

  /** The coordinator of a group (the leader of its `__consumer_offsets` partition). */
  async findCoordinator(groupId: string): Promise<CoordinatorInfo> {
    checkGroupIds([groupId], "findCoordinator");
    const found = (await this.rpc.findCoordinators([groupId])).get(groupId);
    if (found === undefined || found instanceof SluiceError) throw found ?? new SluiceError("COORDINATOR_NOT_AVAILABLE", `group "${groupId}"`);
    return found;
  }

  async listGroups(options: { readonly states?: readonly string[] } = {}): Promise<GroupListing[]> {
    const request: api.ListGroupsRequestInput = { states: [...(options.states ?? [])] };
    await this.cluster.refreshMetadata().catch(() => undefined);
    const brokers = this.cluster.metadata.allBrokers();
    const answers =
      brokers.length === 0
        ? [await this.cluster.withRetries("ListGroups", this.timeoutMs, (c) => c.unary<api.ListGroupsResponse>("ListGroups", this.timeoutMs, (o, cb) => c.groups.ListGroups(request, o, cb)))]
        : await Promise.all(
            brokers.map((b) => {
              const c = this.cluster.connection(b.address);
              return c.unary<api.ListGroupsResponse>("ListGroups", this.timeoutMs, (o, cb) => c.groups.ListGroups(request, o, cb));
            }),
          );
    const groups = new Map<string, GroupListing>();
    for (const answer of answers) {
      for (const g of answer.groups) groups.set(g.groupId, { groupId: g.groupId, state: g.state, memberCount: g.memberCount, coordinatorId: g.coordinatorId });
    }
    return [...groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  async describeGroups(groupIds: readonly string[], options: { readonly includeOffsets?: boolean } = {}): Promise<GroupDescription[]> {
    checkGroupIds(groupIds, "describeGroups");
    const results = await Promise.all(
      groupIds.map(async (groupId) => {
        const request: api.DescribeGroupsRequestInput = { groupIds: [groupId], includeOffsets: options.includeOffsets ?? false };
        const response = await this.rpc.withRetries<api.DescribeGroupsResponse>(groupId, "DescribeGroups", (g, o, cb) => g.DescribeGroups(request, o, cb));
        const described = response.groups.find((d) => d.groupId === groupId);
        if (described === undefined) throw new SluiceError("UNKNOWN_SERVER_ERROR", `group "${groupId}": DescribeGroups did not answer for it`);
        return described;
      }),
    );
    for (const d of results) {
      const error = fromErrorInfo(d.error);
      if (error !== null) throw about(error, d.groupId);
    }
    return results.map((d) => ({
      groupId: d.groupId,
      state: d.state,
      groupEpoch: d.groupEpoch,
      assignmentEpoch: d.assignmentEpoch,
      assignor: d.assignor,
      coordinatorId: d.coordinatorId,
      members: d.members
        .map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          clientId: m.clientId,
          memberEpoch: m.memberEpoch,
          state: m.state,
          subscribedTopicNames: [...m.subscribedTopicNames],
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: partitionsOf(m.assignment),
          pendingRevocation: partitionsOf(m.pendingRevocation),
          targetAssignment: partitionsOf(m.targetAssignment),
        }))
        .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)),
      offsets: d.offsets
        .map((p) => ({
          topic: p.topic,
          partition: p.partition,
          committedOffset: p.committedOffset,
          logEndOffset: p.logEndOffset,
          lag: p.lag,
          timeLagSeconds: p.timeLagSeconds,
          ownerMemberId: p.ownerMemberId,
          metadata: p.metadata,
        }))
        .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)),
    }));
  }

  /** Committed offsets of a group (all of them when `topics` is omitted). */
  async fetchOffsets(groupId: string, topics?: readonly TopicSelection[]): Promise<GroupCommittedOffset[]> {
    checkGroupIds([groupId], "fetchOffsets");
    const wanted = topics === undefined ? [] : await this.resolve(topics);
    const request: api.OffsetFetchRequestInput = { groupId, topics: [...byTopic(wanted)].map(([topic, list]) => ({ topic, partitions: list.map((p) => p.partition) })) };
    const response = await this.rpc.withRetries<api.OffsetFetchResponse>(groupId, "OffsetFetch", (g, o, cb) => g.OffsetFetch(request, o, cb));
    return response.offsets
      .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestampMs: o.commitTimestampMs }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /**
   * What a reset of `topics` to `target` would write: the current committed offset and the new
   * one per partition. `{ offset }` is clamped into [log start, log end] (as Kafka's tool does);
   * a time with no record at or after it resolves to the log end.
   */
  async planOffsetReset(groupId: string, topics: readonly TopicSelection[], target: OffsetResetTarget): Promise<OffsetResetPlanEntry[]> {
    checkGroupIds([groupId], "planOffsetReset");
    const partitions = await this.resolve(topics);
    if (partitions.length === 0) throw new SluiceError("INVALID_REQUEST", "planOffsetReset: no partitions selected");
    if (typeof target === "object" && "offset" in target && (!Number.isSafeInteger(target.offset) || target.offset < 0)) {
      throw new SluiceError("INVALID_COMMIT_OFFSET_SIZE", `reset offset must be an integer >= 0, got ${String(target.offset)}`);
    }
    if (typeof target === "object" && "timestamp" in target && (!Number.isSafeInteger(target.timestamp) || target.timestamp < 0)) {
      throw new SluiceError("INVALID_REQUEST", `reset timestamp must be an integer >= 0 (ms), got ${String(target.timestamp)}`);
    }
    const query = (timestamp: number) => listOffsets(this.cluster, partitions.map((p) => ({ ...p, timestamp })), this.timeoutMs, METADATA_WAIT_MS_DEFAULT);
    const [starts, ends, byTime, current] = await Promise.all([
      query(EARLIEST_TIMESTAMP),
      query(LATEST_TIMESTAMP),
      typeof target === "object" && "timestamp" in target ? query(target.timestamp) : Promise.resolve(undefined),
      this.fetchOffsets(groupId, topics),
    ]);
    const committed = new Map(current.map((o) => [`${o.topic}\u0000${o.partition}`, o.offset]));
    return partitions.map((p, i) => {
      const logStartOffset = starts[i]!.offset;
      const logEndOffset = ends[i]!.offset;
      let newOffset: number;
      if (target === "earliest") newOffset = logStartOffset;
      else if (target === "latest") newOffset = logEndOffset;
      else if ("offset" in target) newOffset = Math.min(Math.max(target.offset, logStartOffset), logEndOffset);
      else newOffset = (byTime?.[i]?.offset ?? -1) >= 0 ? byTime![i]!.offset : logEndOffset;
      return { topic: p.topic, partition: p.partition, currentOffset: committed.get(`${p.topic}\u0000${p.partition}`) ?? -1, newOffset, logStartOffset, logEndOffset };
    });
  }

  /** Writes committed offsets of a group with no active members (NON_EMPTY_GROUP otherwise). */
  async resetOffsets(groupId: string, offsets: readonly GroupOffset[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    checkGroupIds([groupId], "resetOffsets");
    if (offsets.length === 0) throw new SluiceError("INVALID_REQUEST", "resetOffsets: no offsets given");
    const request: api.ResetOffsetsRequestInput = {
      groupId,
      validateOnly: options.validateOnly ?? false,
      topics: [...byTopic(offsets)].map(([topic, list]) => ({ topic, partitions: list.map((o) => ({ partition: o.partition, offset: o.offset, leaderEpoch: -1, metadata: o.metadata ?? "" })) })),
    };
    const response = await this.change<api.ResetOffsetsResponse>(groupId, "ResetOffsets", (g, o, cb) => g.ResetOffsets(request, o, cb));
    throwFirstPartitionError(groupId, response.topics);
  }

  /** Forgets committed offsets of topics (or partitions) no live member subscribes to. */
  async deleteOffsets(groupId: string, topics: readonly TopicSelection[]): Promise<void> {
    checkGroupIds([groupId], "deleteOffsets");
    const partitions = await this.resolve(topics);
    if (partitions.length === 0) throw new SluiceError("INVALID_REQUEST", "deleteOffsets: no partitions selected");
    const request: api.DeleteOffsetsRequestInput = { groupId, topics: [...byTopic(partitions)].map(([topic, list]) => ({ topic, partitions: list.map((p) => p.partition) })) };
    const response = await this.change<api.DeleteOffsetsResponse>(groupId, "DeleteOffsets", (g, o, cb) => g.DeleteOffsets(request, o, cb));
    throwFirstPartitionError(groupId, response.topics);
  }

  /** Deletes empty groups and their offsets (NON_EMPTY_GROUP for a group with members). */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    checkGroupIds(groupIds, "deleteGroups");
    const results = await Promise.all(
      groupIds.map(async (groupId) => {
        try {
          const response = await this.change<api.DeleteGroupsResponse>(groupId, "DeleteGroups", (g, o, cb) => g.DeleteGroups({ groupIds: [groupId] }, o, cb));
          const error = fromErrorInfo(response.groups.find((r) => r.groupId === groupId)?.error ?? null);
          return error === null ? null : about(error, groupId);
        } catch (error) {
          return error instanceof SluiceError ? error : new SluiceError("UNKNOWN_SERVER_ERROR", String(error), { cause: error });
        }
      }),
    );
    const failure = results.find((e) => e !== null);
    if (failure !== undefined && failure !== null) throw failure;
  }

  /** Topic selections as partitions (all of a topic's when none are named), checked against metadata. */
  private async resolve(topics: readonly TopicSelection[]): Promise<TopicPartition[]> {
    const out: TopicPartition[] = [];
    for (const selection of topics) {
      if (typeof selection.topic !== "string" || selection.topic.length === 0) throw new SluiceError("INVALID_TOPIC_EXCEPTION", "topic names must be non-empty strings");
      const info = await this.cluster.topic(selection.topic, METADATA_WAIT_MS_DEFAULT);
      const count = info.partitions.length;
      const which = selection.partitions ?? info.partitions.map((p) => p.partition);
      for (const partition of which) {
        if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
          throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${partition} of topic "${selection.topic}" does not exist (${count} partitions)`);
        }
        out.push({ topic: selection.topic, partition });
      }
    }
    return out;
  }

  /** A state change, repeated only when the coordinator refused it without acting. */
  private async change<T extends object>(groupId: string, rpc: string, start: GroupsCallStart<T>): Promise<T> {
    const deadlineMs = this.cluster.clock.now() + this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.rpc.call(groupId, rpc, start);
      } catch (error) {
        const safe = error instanceof SluiceError && refusedWithoutActing.has(error.errorName);
        const decision = safe ? this.cluster.retry.decide(error, attempt, this.cluster.clock.now(), deadlineMs, this.cluster.random) : { retry: false as const };
        if (!decision.retry) throw error;
        await this.cluster.sleep(decision.delayMs);
      }
    }
  }
}
