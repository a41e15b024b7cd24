/**
 * The partitions this broker leads, by topic: opens their logs from the LogStore, finds them for
 * requests, and closes or deletes them. (Kafka calls this the replica manager; with replication
 * it will also hold follower replicas.)
 *
 * Invariants: a topic's partitions are either all reachable or the topic is absent — requests
 * never see a half-created topic (the entry is published only after every log opened); a deleted
 * topic's Partition objects are marked deleted before their files go, so in-flight requests get
 * UNKNOWN_TOPIC_OR_PARTITION rather than I/O errors.
 */
import { SluiceError } from "@sluice/protocol";
import type { Logger } from "../logger.js";
import type { TopicConfig } from "../metadata/topic-config.js";
import type { LogStore } from "./log-port.js";
import { Partition } from "./partition.js";

export interface PartitionRegistryDeps {
  readonly logs: LogStore;
  readonly logger: Logger;
}

export class PartitionRegistry {
  private readonly topics = new Map<string, Partition[]>();

  constructor(private readonly deps: PartitionRegistryDeps) {}

  /** The partition, or the typed error a response should carry. */
  get(topic: string, partition: number): Partition | SluiceError {
    const partitions = this.topics.get(topic);
    if (partitions === undefined) return new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" does not exist`);
    const found = partitions[partition];
    if (found === undefined) {
      return new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has ${partitions.length} partitions, no partition ${partition}`);
    }
    return found;
  }

  partitionsOf(topic: string): readonly Partition[] | undefined {
    return this.topics.get(topic);
  }

  all(): Partition[] {
    return [...this.topics.values()].flat();
  }

  /**
   * Opens partitions [current count, leaderEpochs.length) of a topic (all of them for a new or
   * just-loaded topic) and publishes them together.
   */
  async openPartitions(topic: string, leaderEpochs: readonly number[], config: TopicConfig): Promise<void> {
    const existing = this.topics.get(topic) ?? [];
    const added: Partition[] = [];
    for (let p = existing.length; p < leaderEpochs.length; p++) {
      const log = await this.deps.logs.openLog({ topic, partition: p }, config);
      added.push(new Partition(topic, p, leaderEpochs[p] ?? 0, log, config));
    }
    this.topics.set(topic, [...existing, ...added]);
    if (added.length > 0) this.deps.logger.debug({ topic, partitions: leaderEpochs.length }, "partitions opened");
  }

  /** Applies new configs to every partition; false when some storage-level keys wait for a restart. */
  updateConfig(topic: string, config: TopicConfig): boolean {
    let live = true;
    for (const partition of this.topics.get(topic) ?? []) live = partition.updateConfig(config) && live;
    return live;
  }

  /** Unpublishes the topic, wakes its waiters, then removes its logs from disk. */
  async deleteTopic(topic: string): Promise<void> {
    const partitions = this.topics.get(topic) ?? [];
    this.topics.delete(topic);
    for (const partition of partitions) partition.markDeleted();
    for (const partition of partitions) await this.deps.logs.deleteLog({ topic, partition: partition.partition });
  }

  /** Removes log directories that belong to no known topic partition (a crash mid-deletion). */
  async removeOrphans(known: ReadonlyMap<string, number>): Promise<number> {
    let removed = 0;
    for (const key of await this.deps.logs.listLogs()) {
      const count = known.get(key.topic);
      if (count !== undefined && key.partition < count) continue;
      this.deps.logger.warn({ topic: key.topic, partition: key.partition }, "removing log of a deleted topic");
      await this.deps.logs.deleteLog(key);
      removed++;
    }
    return removed;
  }

  /** Lets every long poll answer now (shutdown). */
  wakeAll(): void {
    for (const partition of this.all()) partition.wake(0);
  }
}
