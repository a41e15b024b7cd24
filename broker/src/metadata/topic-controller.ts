/**
 * Topic administration on a single broker: create, delete, add partitions, alter configs, and
 * the views Metadata/Describe* need. It validates (names, counts, replication factor, configs),
 * persists through the MetadataStore, then opens/deletes partition logs through the
 * PartitionRegistry. The Raft metadata controller will take over the "persist" step; the
 * validation and the request/response shapes stay.
 *
 * Ordering (crash safety):
 *   create: persist the topic → open its logs. A crash in between leaves a topic whose missing
 *           logs are created empty at the next start.
 *   delete: persist the removal → delete its logs. A crash in between leaves orphan log
 *           directories, removed at the next start (`PartitionRegistry.removeOrphans`).
 *   add partitions / alter configs: persist → apply.
 *
 * Invariants: mutations run one at a time (a queue), so checks ("does it exist?") and the write
 * that depends on them cannot interleave; a failed validation changes nothing. Broker-owned
 * topics (internal-topics.ts) cannot be deleted, altered or grown. Listeners registered with
 * `onTopicsChanged` run after every create, delete and partition increase (the group
 * coordinators' topic image).
 */
import { randomUUID } from "node:crypto";
import { SluiceError } from "@sluice/protocol";
import type { Logger } from "../logger.js";
import type { PartitionRegistry } from "../partition/partition-registry.js";
import { TOPIC_PARTITIONS_MAX } from "../partition/limits.js";
import type { MetadataStore, TopicRecord } from "./metadata-store.js";
import {
  normalizeTopicConfigValue,
  resolveTopicConfig,
  topicConfigDefinition,
  validateTopicConfigs,
  type TopicConfig,
} from "./topic-config.js";
import { refuseBrokerOwnedTopicChange } from "./internal-topics.js";
import { collisionKey, validateTopicName } from "./topic-name.js";

/** The number of brokers a replica set can span today. */
export const CLUSTER_BROKERS = 1;

export interface TopicControllerDeps {
  readonly store: MetadataStore;
  readonly partitions: PartitionRegistry;
  readonly logger: Logger;
  readonly nowMs: () => number;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
  /** Broker-wide topic config defaults (canonical). */
  readonly topicDefaults: Readonly<Record<string, string>>;
  readonly newTopicId?: () => string;
}

export interface CreateTopicSpec {
  readonly name: string;
  /** 0 = the broker default. */
  readonly partitions: number;
  /** 0 = the broker default. */
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface ConfigChange {
  readonly name: string;
  readonly value: string;
  readonly op: "SET" | "DELETE";
}

export class TopicController {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly deps: TopicControllerDeps) {}

  /** Opens the logs of every stored topic and removes leftovers of deleted ones (broker start). */
  async load(): Promise<void> {
    const known = new Map<string, number>();
    for (const topic of this.deps.store.topics()) {
      await this.deps.partitions.openPartitions(topic.name, topic.leaderEpochs, this.configOf(topic));
      known.set(topic.name, topic.partitionCount);
    }
    await this.deps.partitions.removeOrphans(known);
  }

  /** Calls `listener` after each topic creation, deletion or partition increase; returns the unsubscribe function. */
  onTopicsChanged(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  topics(): readonly TopicRecord[] {
    return this.deps.store.topics();
  }

  topic(name: string): TopicRecord | undefined {
    return this.deps.store.topic(name);
  }

  configOf(topic: TopicRecord): TopicConfig {
    return resolveTopicConfig(topic.configs, this.deps.topicDefaults);
  }

  get topicDefaults(): Readonly<Record<string, string>> {
    return this.deps.topicDefaults;
  }

  /** Checks a creation; returns the normalized record it would store (not stored). */
  private planCreate(spec: CreateTopicSpec): TopicRecord {
    validateTopicName(spec.name);
    const partitionCount = spec.partitions === 0 ? this.deps.defaultPartitions : spec.partitions;
    if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > TOPIC_PARTITIONS_MAX) {
      throw new SluiceError("INVALID_PARTITIONS", `partitions must be in [1, ${TOPIC_PARTITIONS_MAX}] (0 = default ${this.deps.defaultPartitions}), got ${spec.partitions}`);
    }
    const replicationFactor = spec.replicationFactor === 0 ? this.deps.defaultReplicationFactor : spec.replicationFactor;
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      throw new SluiceError("INVALID_REPLICATION_FACTOR", `replication factor must be at least 1 (0 = default), got ${spec.replicationFactor}`);
    }
    if (replicationFactor > CLUSTER_BROKERS) {
      throw new SluiceError("INVALID_REPLICATION_FACTOR", `replication factor ${replicationFactor} is larger than the number of brokers (${CLUSTER_BROKERS})`);
    }
    const configs = validateTopicConfigs(spec.configs);
    if (this.deps.store.topic(spec.name) !== undefined) {
      throw new SluiceError("TOPIC_ALREADY_EXISTS", `topic "${spec.name}" already exists`);
    }
    const clash = this.deps.store.topics().find((t) => collisionKey(t.name) === collisionKey(spec.name));
    if (clash !== undefined) {
      throw new SluiceError("INVALID_TOPIC_EXCEPTION", `topic "${spec.name}" collides with existing topic "${clash.name}" ('.' and '_' are treated alike)`);
    }
    return {
      name: spec.name,
      topicId: (this.deps.newTopicId ?? randomUUID)(),
      partitionCount,
      replicationFactor,
      configs,
      leaderEpochs: new Array<number>(partitionCount).fill(0),
      createdAtMs: this.deps.nowMs(),
    };
  }

  createTopic(spec: CreateTopicSpec, validateOnly: boolean): Promise<TopicRecord> {
    return this.serialize(async () => {
      const record = this.planCreate(spec);
      if (validateOnly) return record;
      await this.deps.store.putTopic(record);
      await this.deps.partitions.openPartitions(record.name, record.leaderEpochs, this.configOf(record));
      this.deps.logger.info({ topic: record.name, topicId: record.topicId, partitions: record.partitionCount, configs: record.configs }, "topic created");
      this.notifyChanged();
      return record;
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.serialize(async () => {
      if (this.deps.store.topic(name) === undefined) {
        throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
      }
      refuseBrokerOwnedTopicChange(name, "delete");
      await this.deps.store.deleteTopic(name);
      await this.deps.partitions.deleteTopic(name);
      this.deps.logger.info({ topic: name }, "topic deleted");
      this.notifyChanged();
    });
  }

  createPartitions(name: string, count: number, validateOnly: boolean): Promise<void> {
    return this.serialize(async () => {
      const topic = this.requireTopic(name);
      refuseBrokerOwnedTopicChange(name, "add partitions to");
      if (!Number.isInteger(count) || count <= topic.partitionCount) {
        throw new SluiceError("INVALID_PARTITIONS", `topic "${name}" has ${topic.partitionCount} partitions; the new count must be larger, got ${count}`);
      }
      if (count > TOPIC_PARTITIONS_MAX) {
        throw new SluiceError("INVALID_PARTITIONS", `partitions must be at most ${TOPIC_PARTITIONS_MAX}, got ${count}`);
      }
      if (validateOnly) return;
      const leaderEpochs = [...topic.leaderEpochs, ...new Array<number>(count - topic.partitionCount).fill(0)];
      const updated: TopicRecord = { ...topic, partitionCount: count, leaderEpochs };
      await this.deps.store.replaceTopic(updated);
      await this.deps.partitions.openPartitions(name, leaderEpochs, this.configOf(updated));
      this.deps.logger.info({ topic: name, from: topic.partitionCount, to: count }, "partitions added");
      this.notifyChanged();
    });
  }

  /** Incremental alteration: SET replaces one key, DELETE reverts it to the default. All or nothing. */
  alterConfigs(name: string, changes: readonly ConfigChange[], validateOnly: boolean): Promise<void> {
    return this.serialize(async () => {
      const topic = this.requireTopic(name);
      refuseBrokerOwnedTopicChange(name, "alter the configs of");
      const configs: Record<string, string> = { ...topic.configs };
      for (const change of changes) {
        if (change.op === "DELETE") {
          // Validates the key name; the value is irrelevant.
          normalizeTopicConfigValue(change.name, defaultValueFor(change.name));
          delete configs[change.name];
        } else {
          configs[change.name] = normalizeTopicConfigValue(change.name, change.value);
        }
      }
      if (validateOnly) return;
      const updated: TopicRecord = { ...topic, configs };
      await this.deps.store.replaceTopic(updated);
      const live = this.deps.partitions.updateConfig(name, this.configOf(updated));
      this.deps.logger.info({ topic: name, configs }, "topic configs altered");
      if (!live) {
        // The storage engine fixes segment/retention/timestamp settings when a log opens.
        this.deps.logger.warn({ topic: name }, "segment, retention and timestamp-type changes apply to the logs at the next broker start");
      }
    });
  }

  private notifyChanged(): void {
    for (const listener of [...this.changeListeners]) {
      try {
        listener();
      } catch (error) {
        this.deps.logger.error({ err: error }, "topic change listener failed");
      }
    }
  }

  private requireTopic(name: string): TopicRecord {
    const topic = this.deps.store.topic(name);
    if (topic === undefined) throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
    return topic;
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function defaultValueFor(name: string): string {
  const def = topicConfigDefinition(name);
  if (def === undefined) throw new SluiceError("INVALID_CONFIG", `unknown topic config "${name}"`);
  return def.defaultValue;
}
