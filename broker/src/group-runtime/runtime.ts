/**
 * The broker's consumer-group coordinator runtime: the internal compacted topic
 * `__consumer_offsets`, one CoordinatorShard per partition of it that this broker leads (on one
 * broker: all of them), the timer that ticks every coordinator, and the topic image the
 * coordinators see.
 *
 * - Start: create `__consumer_offsets` if missing (cleanup.policy=compact, the configured
 *   partition count; an existing topic keeps its count, with a warning if it differs), then
 *   `becomeLeader` every partition (replay), then start the tick timer.
 * - Routing: a group lives on partition `groupPartition(groupId, partitionCount)`; `shardFor`
 *   gives its shard, which answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when it cannot.
 * - Topic changes (create, delete, grow) reach every active coordinator as `updateTopics(image)`,
 *   through the shard's queue like any other write.
 * - Close: stop the timer and topic hook, then wait for every shard's in-flight writes. The caller
 *   closes the logs afterwards.
 */
import { SluiceError } from "@sluice/protocol";
import { GROUP_ID_LENGTH_MAX, groupPartition, type CoordinatorConfig, type TopicImage } from "../group/index.js";
import type { Logger } from "../logger.js";
import { CONSUMER_OFFSETS_TOPIC } from "../metadata/internal-topics.js";
import type { TopicController } from "../metadata/topic-controller.js";
import type { PartitionRegistry } from "../partition/partition-registry.js";
import { CoordinatorShard } from "./coordinator-shard.js";
import { TimeLagCache } from "./lag.js";
import { OFFSETS_TOPIC_MAX_MESSAGE_BYTES, OFFSETS_TOPIC_SEGMENT_BYTES, TICK_INTERVAL_MS_MAX } from "./limits.js";

export interface GroupRuntimeDeps {
  readonly topics: TopicController;
  readonly partitions: PartitionRegistry;
  readonly logger: Logger;
  readonly nowMs: () => number;
  readonly config: CoordinatorConfig;
  /** Partition count used when `__consumer_offsets` is created. */
  readonly offsetsTopicPartitions: number;
  /** segment.bytes used when `__consumer_offsets` is created (default OFFSETS_TOPIC_SEGMENT_BYTES). */
  readonly offsetsTopicSegmentBytes?: number;
  /** Tick period; default min(heartbeat interval, TICK_INTERVAL_MS_MAX). 0 disables the timer (tests tick by hand). */
  readonly tickIntervalMs?: number;
  readonly onWrite?: (records: number, bytes: number) => void;
}

export class GroupCoordinatorRuntime {
  private readonly shards = new Map<number, CoordinatorShard>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** Time-lag lookups of DescribeGroups (the lag metrics keep their own, swept per scrape). */
  readonly timeLag = new TimeLagCache();

  private constructor(
    private readonly deps: GroupRuntimeDeps,
    /** Partitions of `__consumer_offsets` (fixed while the broker runs). */
    readonly partitionCount: number,
  ) {}

  static async start(deps: GroupRuntimeDeps): Promise<GroupCoordinatorRuntime> {
    const partitionCount = await ensureOffsetsTopic(deps);
    const runtime = new GroupCoordinatorRuntime(deps, partitionCount);
    for (let p = 0; p < partitionCount; p++) runtime.shards.set(p, runtime.newShard(p));
    // One broker leads every partition; with replication, leadership changes call these per partition.
    await Promise.all([...runtime.shards.values()].map((shard) => shard.becomeLeader()));
    runtime.unsubscribe = deps.topics.onTopicsChanged(() => runtime.publishTopicImage());
    const interval = deps.tickIntervalMs ?? Math.min(deps.config.heartbeatIntervalMs, TICK_INTERVAL_MS_MAX);
    if (interval > 0) {
      runtime.timer = setInterval(() => void runtime.tick(), interval);
      runtime.timer.unref();
    }
    return runtime;
  }

  get config(): CoordinatorConfig {
    return this.deps.config;
  }

  /** The `__consumer_offsets` partition of a group; INVALID_GROUP_ID for an empty or too long id. */
  partitionOf(groupId: string): number {
    if (groupId.length === 0 || groupId.length > GROUP_ID_LENGTH_MAX) {
      throw new SluiceError("INVALID_GROUP_ID", `group id must be 1-${GROUP_ID_LENGTH_MAX} characters, got ${groupId.length}`);
    }
    return groupPartition(groupId, this.partitionCount);
  }

  /** The shard coordinating `groupId`, or NOT_COORDINATOR when this broker does not lead its partition. */
  shardFor(groupId: string): CoordinatorShard {
    const partition = this.partitionOf(groupId);
    const shard = this.shards.get(partition);
    if (shard === undefined || this.closed) throw new SluiceError("NOT_COORDINATOR", `this broker does not coordinate __consumer_offsets-${partition}`);
    return shard;
  }

  /** Every shard this broker has, in partition order. */
  allShards(): CoordinatorShard[] {
    return [...this.shards.values()].sort((a, b) => a.partitionIndex - b.partitionIndex);
  }

  /** The topic image coordinators see: every topic and its partition count. */
  topicImage(): TopicImage {
    return new Map(this.deps.topics.topics().map((t) => [t.name, t.partitionCount]));
  }

  /** Ticks every active coordinator once (the timer calls this; tests may too). Overlapping calls share one pass. */
  tick(): Promise<void> {
    this.ticking ??= this.tickOnce().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Stops the timer and the topic hook, then waits for every shard's in-flight writes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.ticking;
    await Promise.all(this.allShards().map((shard) => shard.close()));
  }

  private newShard(partitionIndex: number): CoordinatorShard {
    return new CoordinatorShard({
      partitionIndex,
      log: () => this.deps.partitions.get(CONSUMER_OFFSETS_TOPIC, partitionIndex),
      config: this.deps.config,
      topicImage: () => this.topicImage(),
      nowMs: this.deps.nowMs,
      logger: this.deps.logger,
      onWrite: this.deps.onWrite,
    });
  }

  private async tickOnce(): Promise<void> {
    for (const shard of this.allShards()) {
      if (shard.state !== "active") continue;
      try {
        const report = await shard.run((c, nowMs) => c.tick(nowMs));
        for (const removed of report.removedMembers) {
          this.deps.logger.info({ group: removed.groupId, memberId: removed.memberId, reason: removed.reason }, "group member removed");
        }
        if (report.expiredOffsets > 0) this.deps.logger.info({ partition: shard.partitionIndex, expiredOffsets: report.expiredOffsets }, "committed offsets expired");
        for (const group of report.deletedGroups) this.deps.logger.info({ group }, "empty group forgotten");
      } catch (error) {
        if (!(error instanceof SluiceError)) throw error;
        this.deps.logger.debug({ partition: shard.partitionIndex, err: error.message }, "tick skipped");
      }
    }
  }

  private publishTopicImage(): void {
    if (this.closed) return;
    const image = this.topicImage();
    for (const shard of this.allShards()) {
      if (shard.state !== "active") continue;
      shard.run((c) => c.updateTopics(image)).catch((error: unknown) => {
        this.deps.logger.warn({ partition: shard.partitionIndex, err: error }, "could not hand the topic image to a group coordinator");
      });
    }
  }
}

/** Creates `__consumer_offsets` if missing; returns its partition count. */
async function ensureOffsetsTopic(deps: GroupRuntimeDeps): Promise<number> {
  const existing = deps.topics.topic(CONSUMER_OFFSETS_TOPIC);
  if (existing !== undefined) {
    if (existing.partitionCount !== deps.offsetsTopicPartitions) {
      deps.logger.warn(
        { topic: CONSUMER_OFFSETS_TOPIC, partitions: existing.partitionCount, configured: deps.offsetsTopicPartitions },
        "__consumer_offsets exists with another partition count; keeping it (changing it would move every group)",
      );
    }
    return existing.partitionCount;
  }
  const created = await deps.topics.createTopic(
    {
      name: CONSUMER_OFFSETS_TOPIC,
      partitions: deps.offsetsTopicPartitions,
      replicationFactor: 0,
      configs: {
        "cleanup.policy": "compact",
        "segment.bytes": String(deps.offsetsTopicSegmentBytes ?? OFFSETS_TOPIC_SEGMENT_BYTES),
        "max.message.bytes": String(OFFSETS_TOPIC_MAX_MESSAGE_BYTES),
      },
    },
    false,
  );
  return created.partitionCount;
}
