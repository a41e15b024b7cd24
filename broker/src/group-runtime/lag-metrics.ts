/**
 * Consumer-group gauges, computed at scrape time from the coordinators (prom-client `collect`):
 *
 *   sluice_consumer_group_committed_offset{group,topic,partition}  -1 for an assigned, uncommitted partition
 *   sluice_consumer_group_log_end_offset{group,topic,partition}    the partition's high watermark
 *   sluice_consumer_group_lag{group,topic,partition}               records behind (lag.ts)
 *   sluice_consumer_group_lag_seconds{group,topic,partition}       time-lag estimate (lag.ts)
 *   sluice_consumer_group_members{group}
 *   sluice_consumer_group_state{group,state}                       1 for the current state, 0 for the others
 *   sluice_consumer_group_epoch{group}
 *   sluice_consumer_group_lag_series_dropped                       series left out by the bounds below
 *
 * Every group the coordinators know is exported — also groups with no members that only have
 * committed offsets (a stopped consumer's lag is exactly what an operator needs to see).
 * Cardinality: at most LAG_SERIES_MAX (group, topic, partition) rows and GROUP_SERIES_MAX groups
 * per scrape, groups taken in id order (limits.ts says why). Partitions of deleted topics are
 * left out of the gauges (DescribeGroups still reports them with -1).
 *
 * The gauges of one scrape share one snapshot (taken at most LAG_SNAPSHOT_REUSE_MS ago). The
 * snapshot reads the coordinators' state directly (`peek`), so it may include a write that is
 * still being made durable.
 */
import { Gauge, type Registry } from "prom-client";
import type { GroupStateName } from "../group/index.js";
import type { PartitionRegistry } from "../partition/partition-registry.js";
import { groupLag, TimeLagCache, type PartitionLagRow } from "./lag.js";
import { GROUP_SERIES_MAX, LAG_SERIES_MAX, LAG_SNAPSHOT_REUSE_MS } from "./limits.js";
import type { GroupCoordinatorRuntime } from "./runtime.js";

const STATES: readonly GroupStateName[] = ["empty", "assigning", "reconciling", "stable"];

export interface GroupSample {
  readonly groupId: string;
  readonly state: GroupStateName;
  readonly members: number;
  readonly groupEpoch: number;
}

export interface LagSnapshot {
  readonly groups: readonly GroupSample[];
  readonly rows: ReadonlyArray<PartitionLagRow & { readonly groupId: string }>;
  readonly dropped: number;
}

export interface LagSource {
  readonly runtime: () => GroupCoordinatorRuntime | undefined;
  readonly partitions: PartitionRegistry;
  readonly nowMs: () => number;
}

/** Everything the group gauges export, bounded (see the module comment). */
export async function takeLagSnapshot(source: LagSource, cache: TimeLagCache): Promise<LagSnapshot> {
  const runtime = source.runtime();
  if (runtime === undefined) return { groups: [], rows: [], dropped: 0 };
  const nowMs = source.nowMs();
  const found = runtime
    .allShards()
    .flatMap((shard) => shard.peek((c) => c.listGroups().map((g) => ({ listing: g, description: c.describeGroup(g.groupId), offsets: c.fetchOffsets(g.groupId) }))) ?? [])
    .sort((a, b) => (a.listing.groupId < b.listing.groupId ? -1 : a.listing.groupId > b.listing.groupId ? 1 : 0));
  const groups: GroupSample[] = [];
  const rows: Array<PartitionLagRow & { groupId: string }> = [];
  let dropped = 0;
  for (const { listing, description, offsets } of found) {
    if (groups.length >= GROUP_SERIES_MAX) {
      dropped++;
      continue;
    }
    groups.push({ groupId: listing.groupId, state: listing.state, members: listing.memberCount, groupEpoch: description.groupEpoch });
    const lag = await groupLag({ description, offsets, partitions: source.partitions, cache, nowMs });
    for (const row of lag) {
      if (row.logEndOffset < 0) continue;
      if (rows.length >= LAG_SERIES_MAX) {
        dropped++;
        continue;
      }
      rows.push({ ...row, groupId: listing.groupId });
    }
  }
  cache.sweep();
  return { groups, rows, dropped };
}

/** Registers the consumer-group gauges on `registry`. */
export function registerGroupMetrics(registry: Registry, source: LagSource): void {
  const cache = new TimeLagCache();
  let last: { atMs: number; snapshot: Promise<LagSnapshot> } | undefined;
  const snapshot = (): Promise<LagSnapshot> => {
    const now = performance.now();
    if (last === undefined || now - last.atMs > LAG_SNAPSHOT_REUSE_MS) last = { atMs: now, snapshot: takeLagSnapshot(source, cache) };
    return last.snapshot;
  };
  const registers = [registry];
  const partitionGauge = (name: string, help: string, pick: (r: PartitionLagRow) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ["group", "topic", "partition"],
      registers,
      async collect() {
        const { rows } = await snapshot();
        this.reset();
        for (const r of rows) this.set({ group: r.groupId, topic: r.topic, partition: String(r.partition) }, pick(r));
      },
    });
  };
  partitionGauge("sluice_consumer_group_committed_offset", "Committed offset per group and partition (-1: assigned, nothing committed).", (r) => r.committedOffset);
  partitionGauge("sluice_consumer_group_log_end_offset", "High watermark of each partition a group has committed or is assigned.", (r) => r.logEndOffset);
  partitionGauge("sluice_consumer_group_lag", "Records between a group's committed offset (or the log start) and the high watermark.", (r) => r.lag);
  partitionGauge("sluice_consumer_group_lag_seconds", "Estimated seconds a group is behind: now minus the timestamp of its first unconsumed record.", (r) => r.timeLagSeconds);
  const groupGauge = (name: string, help: string, pick: (g: GroupSample) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ["group"],
      registers,
      async collect() {
        const { groups } = await snapshot();
        this.reset();
        for (const g of groups) this.set({ group: g.groupId }, pick(g));
      },
    });
  };
  groupGauge("sluice_consumer_group_members", "Members of each consumer group.", (g) => g.members);
  groupGauge("sluice_consumer_group_epoch", "Group epoch of each consumer group (bumps on every membership or subscription change).", (g) => g.groupEpoch);
  new Gauge({
    name: "sluice_consumer_group_state",
    help: "1 for the consumer group's current state (empty, assigning, reconciling, stable), 0 for the others.",
    labelNames: ["group", "state"],
    registers,
    async collect() {
      const { groups } = await snapshot();
      this.reset();
      for (const g of groups) for (const state of STATES) this.set({ group: g.groupId, state }, g.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: "sluice_consumer_group_lag_series_dropped",
    help: "Group or (group, topic, partition) series left out of this scrape by the cardinality bounds.",
    registers,
    async collect() {
      this.set((await snapshot()).dropped);
    },
  });
}
