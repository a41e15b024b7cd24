/**
 * Named bounds and defaults of the group coordinator runtime (STYLE habit 4), each with its reason.
 * The pure core's own bounds live in `../group/limits.ts`.
 */

/**
 * Partitions of `__consumer_offsets` when the broker creates it. Kafka's default is 50, sized for
 * spreading coordinators over big clusters; each partition here is a log directory, open segment
 * files and a coordinator with its own write queue, so 50 would make a laptop broker open 50 logs
 * for a handful of groups. 8 still spreads groups over several partitions (and, with replication,
 * over several brokers' leaders). The count is fixed once the topic exists: a group's partition is
 * `hash(group) % count`, so changing it would orphan every group.
 */
export const OFFSETS_TOPIC_PARTITIONS_DEFAULT = 8;
/** Upper bound of the config key: Kafka's own default times twenty is beyond any cluster we target. */
export const OFFSETS_TOPIC_PARTITIONS_MAX = 1_000;
/**
 * Segment size of `__consumer_offsets` (Kafka's offsets.topic.segment.bytes). Compaction never
 * touches the active segment, so the 1 GiB topic default would leave every record uncompacted
 * until a gigabyte of commits piled up; 100 MiB lets the cleaner keep replay short.
 */
export const OFFSETS_TOPIC_SEGMENT_BYTES = 100 * 1024 * 1024;
/**
 * Largest encoded batch one coordinator write appends at once. One operation's records normally
 * fit in a few KiB; an assignment of a 2,000-member group or a 65,536-partition commit can reach
 * megabytes, so larger record sets are split over several batches of this size, all appended in
 * one call (see coordinator-shard.ts). It stays below the topic's max.message.bytes.
 */
export const COORDINATOR_BATCH_BYTES_MAX = 1024 * 1024;
/** max.message.bytes of `__consumer_offsets`: room for one full coordinator batch plus headers. */
export const OFFSETS_TOPIC_MAX_MESSAGE_BYTES = 2 * COORDINATOR_BATCH_BYTES_MAX;
/** Bytes read per step while replaying a partition; big enough for few reads, small enough to not hold a whole log in memory. */
export const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/**
 * Longest gap between two `tick`s. Ticks expire sessions and rebalance timeouts; heartbeats and
 * commits already expire their own group's dead members, so the tick only bounds how stale
 * `describe` and the lag metrics may look. One second costs one pass over the groups per second.
 */
export const TICK_INTERVAL_MS_MAX = 1_000;
/**
 * Series (group, topic, partition) the lag gauges export per scrape. Each committed partition of
 * each group is one series in five gauges; past 10,000 a Prometheus scrape grows to megabytes and
 * the TSDB's cardinality suffers more than a dashboard gains. Groups are taken in id order until
 * the bound; `sluice_consumer_group_lag_series_dropped` says how many were left out.
 */
export const LAG_SERIES_MAX = 10_000;
/** Groups the per-group gauges (members, state, epoch) export per scrape; same reasoning as LAG_SERIES_MAX. */
export const GROUP_SERIES_MAX = 2_000;
/**
 * Time-lag cache entries: (topic, partition, committed offset) -> timestamp of the record there.
 * One entry per group-partition in use is enough; the bound stops churn from growing it forever
 * (it is cleared when full; entries are one batch read to rebuild).
 */
export const TIME_LAG_CACHE_ENTRIES_MAX = 20_000;
/** One scrape collects several gauges; they share one lag snapshot taken at most this long ago. */
export const LAG_SNAPSHOT_REUSE_MS = 1_000;
/** Group ids per FindCoordinator / DescribeGroups / DeleteGroups request: bounds one call's work. */
export const GROUP_IDS_PER_REQUEST_MAX = 1_000;
