/**
 * Named bounds and defaults of the group coordinator (STYLE habit 4), each with its reason.
 * Defaults follow Kafka's KIP-848 settings so operators' expectations carry over.
 */

/** Group ids travel in every record key; Kafka sets no limit, but 255 keeps keys small and logs readable. */
export const GROUP_ID_LENGTH_MAX = 255;
/** Member ids are client-generated UUIDs (22-36 characters); 255 leaves room for any client's scheme. */
export const MEMBER_ID_LENGTH_MAX = 255;
/** group.instance.id, rack and client ids: operator-chosen names, same bound as member ids. */
export const INSTANCE_ID_LENGTH_MAX = 255;
export const RACK_ID_LENGTH_MAX = 255;
export const CLIENT_ID_LENGTH_MAX = 255;
/** Kafka's topic name limit. */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Topic names one member may list. Bounds heartbeat and assignment work per member. */
export const SUBSCRIBED_TOPICS_MAX = 10_000;
/** Partitions one heartbeat may report as owned. Far above any sane per-consumer share; bounds request work. */
export const OWNED_PARTITIONS_MAX = 65_536;
/** Partitions one offset commit (or reset / delete) may name; bounds the records one request creates. */
export const OFFSETS_PER_REQUEST_MAX = 65_536;
/**
 * Members one group may have. Kafka's default is unbounded; assignment cost and the records a
 * rebalance writes grow with members, and 2,000 consumers in one group is beyond any deployment
 * we target, so a runaway client loop hits a clear GROUP_MAX_SIZE_REACHED instead.
 */
export const GROUP_MEMBERS_MAX = 2_000;
/** Kafka's offset.metadata.max.bytes default (bytes of UTF-8 here). */
export const OFFSET_METADATA_BYTES_MAX_DEFAULT = 4_096;

/** Kafka's group.consumer.session.timeout.ms default: a member silent this long is removed. */
export const SESSION_TIMEOUT_MS_DEFAULT = 45_000;
/** Kafka's group.consumer.heartbeat.interval.ms default: what the coordinator asks members to use. */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 5_000;
/** Kafka's max.poll.interval.ms default, which its consumers send as the rebalance timeout. */
export const REBALANCE_TIMEOUT_MS_DEFAULT = 300_000;
/** Longest rebalance timeout a member may ask for (Kafka's consumers cap max.poll.interval.ms near int32 max; an hour is plenty). */
export const REBALANCE_TIMEOUT_MS_MAX = 3_600_000;
/** Kafka's offsets.retention.ms default (7 days), counted from when the group became empty. */
export const OFFSETS_RETENTION_MS_DEFAULT = 7 * 24 * 3_600_000;
/**
 * Distinct subscription regexes whose compiled automaton and matches are cached. Members of real
 * groups share a handful of patterns; the cap stops a client sending endless distinct patterns
 * from growing the cache without bound (it is cleared when full; entries are cheap to rebuild).
 */
export const REGEX_CACHE_ENTRIES_MAX = 1_024;
/** Kafka's internal-topic prefix: regex subscriptions never match these names. */
export const INTERNAL_TOPIC_PREFIX = "__";
