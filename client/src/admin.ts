/**
 * Admin: topics, partitions, configs and the cluster, over the `sluice.v1.Admin` service, and
 * consumer groups over `sluice.v1.Groups` (implemented in group-admin.ts).
 *
 * Results are plain typed objects, not the wire messages. A per-topic error in an answer
 * rejects the call with that error (a `SluiceError`; its message names the topic); calls on
 * several topics reject with the first failure after the broker has handled all of them.
 *
 * Retries: reads (list, describe, describeCluster, listOffsets) are retried on retriable
 * failures; changes (create, delete, alter, add partitions) are sent once, since repeating
 * one whose answer was lost could act twice (e.g. TOPIC_ALREADY_EXISTS on the repeat).
 */
import { fromErrorInfo, SluiceError, type api } from "@sluice/protocol";
import { ClusterClient, positiveIntOption, type ClientOptions } from "./cluster.js";
import type { BrokerConnection } from "./connection.js";
import { ClientClosedError } from "./errors.js";
import {
  GroupAdmin,
  type CoordinatorInfo,
  type GroupCommittedOffset,
  type GroupDescription,
  type GroupListing,
  type GroupOffset,
  type OffsetResetPlanEntry,
  type OffsetResetTarget,
  type TopicSelection,
} from "./group-admin.js";
import { ADMIN_TIMEOUT_MS_DEFAULT, METADATA_WAIT_MS_DEFAULT } from "./limits.js";
import { listOffsets, specTimestamp, type OffsetSpec, type PartitionOffset } from "./list-offsets.js";

export interface AdminOptions extends ClientOptions {
  /** Deadline of admin calls; default ADMIN_TIMEOUT_MS_DEFAULT (30 s). */
  readonly adminTimeoutMs?: number;
}

export interface NewTopic {
  readonly name: string;
  /** Default: the broker's default partition count. */
  readonly partitions?: number;
  /** Default: the broker's default replication factor. */
  readonly replicationFactor?: number;
  /** Topic-level config overrides (retention.ms, cleanup.policy, ...). */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface CreatedTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface TopicListing {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly internal: boolean;
}

export interface PartitionDescription {
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly inSyncReplicas: readonly number[];
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly sizeBytes: number;
}

export interface TopicDescription {
  readonly name: string;
  readonly topicId: string;
  readonly internal: boolean;
  readonly replicationFactor: number;
  readonly partitions: readonly PartitionDescription[];
  readonly configs: Readonly<Record<string, string>>;
}

export type ConfigSourceName = "default" | "topic" | "broker" | "unknown";

export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSourceName;
  readonly readOnly: boolean;
  readonly documentation: string;
}

export interface TopicConfigs {
  readonly topic: string;
  readonly entries: readonly ConfigEntry[];
}

export interface ConfigAlterations {
  readonly topic: string;
  /** Values to set. */
  readonly set?: Readonly<Record<string, string>>;
  /** Overrides to remove (back to the default). */
  readonly delete?: readonly string[];
}

export interface BrokerDescription {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
}

export interface ClusterDescription {
  readonly clusterId: string;
  readonly controllerId: number;
  readonly version: string;
  readonly brokers: readonly BrokerDescription[];
}

const sourceNames: Record<string, ConfigSourceName> = {
  DEFAULT: "default",
  TOPIC_OVERRIDE: "topic",
  BROKER_OVERRIDE: "broker",
};

/** Throws the first per-topic error of an answer, naming the topic. */
function throwFirst(results: readonly { name: string; error: api.ErrorInfo | null }[]): void {
  for (const result of results) {
    const error = fromErrorInfo(result.error);
    if (error !== null) {
      error.message = `topic "${result.name}": ${error.message}`;
      throw error;
    }
  }
}

function checkNames(names: readonly string[], what: string): void {
  if (names.length === 0) throw new SluiceError("INVALID_REQUEST", `${what}: at least one topic name is required`);
  for (const name of names) {
    if (typeof name !== "string" || name.length === 0) throw new SluiceError("INVALID_TOPIC_EXCEPTION", `${what}: topic names must be non-empty strings`);
  }
}

export class Admin {
  readonly cluster: ClusterClient;
  private readonly timeoutMs: number;
  private readonly groups: GroupAdmin;

  constructor(options: AdminOptions) {
    this.cluster = new ClusterClient(options);
    this.timeoutMs = positiveIntOption("adminTimeoutMs", options.adminTimeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    this.groups = new GroupAdmin(this.cluster, this.timeoutMs);
  }

  async createTopics(topics: readonly NewTopic[], options: { readonly validateOnly?: boolean } = {}): Promise<CreatedTopic[]> {
    checkNames(topics.map((t) => t.name), "createTopics");
    const response = await this.once((c) =>
      c.unary<api.CreateTopicsResponse>("CreateTopics", this.timeoutMs, (o, cb) =>
        c.admin.CreateTopics(
          {
            validateOnly: options.validateOnly ?? false,
            topics: topics.map((t) => ({ name: t.name, partitions: t.partitions ?? 0, replicationFactor: t.replicationFactor ?? 0, configs: { ...t.configs } })),
          },
          o,
          cb,
        ),
      ),
    );
    throwFirst(response.topics);
    for (const t of topics) this.cluster.metadata.forget(t.name);
    return response.topics.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions, replicationFactor: t.replicationFactor }));
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    checkNames(names, "deleteTopics");
    const response = await this.once((c) => c.unary<api.DeleteTopicsResponse>("DeleteTopics", this.timeoutMs, (o, cb) => c.admin.DeleteTopics({ names: [...names] }, o, cb)));
    for (const name of names) this.cluster.metadata.forget(name);
    throwFirst(response.topics);
  }

  async listTopics(options: { readonly includeInternal?: boolean } = {}): Promise<TopicListing[]> {
    const response = await this.read((c) =>
      c.unary<api.ListTopicsResponse>("ListTopics", this.timeoutMs, (o, cb) => c.admin.ListTopics({ includeInternal: options.includeInternal ?? false }, o, cb)),
    );
    return response.topics
      .map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions, replicationFactor: t.replicationFactor, internal: t.internal }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    checkNames(names, "describeTopics");
    const response = await this.read((c) => c.unary<api.DescribeTopicsResponse>("DescribeTopics", this.timeoutMs, (o, cb) => c.admin.DescribeTopics({ names: [...names] }, o, cb)));
    throwFirst(response.topics);
    return response.topics.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      replicationFactor: t.replicationFactor,
      partitions: [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({
          partition: p.partition,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          inSyncReplicas: p.inSyncReplicas,
          logStartOffset: p.logStartOffset,
          highWatermark: p.highWatermark,
          sizeBytes: p.sizeBytes,
        })),
      configs: { ...t.configs },
    }));
  }

  /** Raises each topic's partition count to `count` (it can only grow). */
  async createPartitions(updates: readonly { readonly topic: string; readonly count: number }[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    checkNames(updates.map((u) => u.topic), "createPartitions");
    const response = await this.once((c) =>
      c.unary<api.CreatePartitionsResponse>("CreatePartitions", this.timeoutMs, (o, cb) =>
        c.admin.CreatePartitions({ validateOnly: options.validateOnly ?? false, topics: updates.map((u) => ({ name: u.topic, count: u.count })) }, o, cb),
      ),
    );
    for (const u of updates) this.cluster.metadata.forget(u.topic);
    throwFirst(response.topics);
  }

  async describeConfigs(topics: readonly string[], options: { readonly includeDefaults?: boolean } = {}): Promise<TopicConfigs[]> {
    checkNames(topics, "describeConfigs");
    const response = await this.read((c) =>
      c.unary<api.DescribeConfigsResponse>("DescribeConfigs", this.timeoutMs, (o, cb) =>
        c.admin.DescribeConfigs({ topics: [...topics], includeDefaults: options.includeDefaults ?? true }, o, cb),
      ),
    );
    throwFirst(response.topics.map((t) => ({ name: t.topic, error: t.error })));
    return response.topics.map((t) => ({
      topic: t.topic,
      entries: t.entries
        .map((e) => ({ name: e.name, value: e.value, source: sourceNames[e.source] ?? "unknown", readOnly: e.readOnly, documentation: e.documentation }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    }));
  }

  async alterConfigs(alterations: readonly ConfigAlterations[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    checkNames(alterations.map((a) => a.topic), "alterConfigs");
    const topics: api.TopicConfigAlterationInput[] = alterations.map((a) => ({
      topic: a.topic,
      alterations: [
        ...Object.entries(a.set ?? {}).map(([name, value]) => ({ name, value, op: "SET" as const })),
        ...(a.delete ?? []).map((name) => ({ name, value: "", op: "DELETE" as const })),
      ],
    }));
    const response = await this.once((c) =>
      c.unary<api.AlterConfigsResponse>("AlterConfigs", this.timeoutMs, (o, cb) => c.admin.AlterConfigs({ topics, validateOnly: options.validateOnly ?? false }, o, cb)),
    );
    throwFirst(response.topics.map((t) => ({ name: t.topic, error: t.error })));
  }

  async describeCluster(): Promise<ClusterDescription> {
    const response = await this.read((c) => c.unary<api.DescribeClusterResponse>("DescribeCluster", this.timeoutMs, (o, cb) => c.admin.DescribeCluster({}, o, cb)));
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      version: response.version,
      brokers: response.brokers.map((b) => ({ brokerId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.brokerId - b.brokerId),
    };
  }

  /** Offsets of a topic's partitions (all when `partitions` is omitted) for a spec. */
  async listOffsets(topic: string, spec: OffsetSpec, partitions?: readonly number[]): Promise<PartitionOffset[]> {
    checkNames([topic], "listOffsets");
    const timestamp = specTimestamp(spec);
    const info = await this.cluster.topic(topic, METADATA_WAIT_MS_DEFAULT);
    const which = partitions ?? info.partitions.map((p) => p.partition);
    return listOffsets(this.cluster, which.map((partition) => ({ topic, partition, timestamp })), this.timeoutMs, METADATA_WAIT_MS_DEFAULT);
  }

  // ---- consumer groups (group-admin.ts) ----

  /** The broker coordinating a group. */
  findCoordinator(groupId: string): Promise<CoordinatorInfo> {
    return this.groups.findCoordinator(groupId);
  }

  /** Groups on every broker, optionally only in some states ("empty", "assigning", "reconciling", "stable"). */
  listGroups(options: { readonly states?: readonly string[] } = {}): Promise<GroupListing[]> {
    return this.groups.listGroups(options);
  }

  /** Members and assignments; with `includeOffsets`, committed offset, log end and lag per partition. */
  describeGroups(groupIds: readonly string[], options: { readonly includeOffsets?: boolean } = {}): Promise<GroupDescription[]> {
    return this.groups.describeGroups(groupIds, options);
  }

  /** Committed offsets of a group (all when `topics` is omitted). */
  fetchOffsets(groupId: string, topics?: readonly TopicSelection[]): Promise<GroupCommittedOffset[]> {
    return this.groups.fetchOffsets(groupId, topics);
  }

  /** Current and new offsets a reset to `target` would write (nothing is written). */
  planOffsetReset(groupId: string, topics: readonly TopicSelection[], target: OffsetResetTarget): Promise<OffsetResetPlanEntry[]> {
    return this.groups.planOffsetReset(groupId, topics, target);
  }

  /** Sets committed offsets of a group that has no active members (NON_EMPTY_GROUP otherwise). */
  resetOffsets(groupId: string, offsets: readonly GroupOffset[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    return this.groups.resetOffsets(groupId, offsets, options);
  }

  /** Forgets committed offsets of topics no live member subscribes to. */
  deleteOffsets(groupId: string, topics: readonly TopicSelection[]): Promise<void> {
    return this.groups.deleteOffsets(groupId, topics);
  }

  /** Deletes empty groups and their committed offsets. */
  deleteGroups(groupIds: readonly string[]): Promise<void> {
    return this.groups.deleteGroups(groupIds);
  }

  async close(): Promise<void> {
    this.cluster.close();
  }

  private read<T>(call: (connection: BrokerConnection) => Promise<T>): Promise<T> {
    return this.cluster.withRetries("admin read", this.timeoutMs, call);
  }

  private async once<T>(call: (connection: BrokerConnection) => Promise<T>): Promise<T> {
    if (this.cluster.isClosed) throw new ClientClosedError("admin");
    return (await this.cluster.anyBroker(call)).result;
  }
}
