/**
 * Every bound and default of the client SDK, with the reason for its number (STYLE.md habit 4).
 * Options that users may change default to the `*_DEFAULT` values here; hard bounds that protect
 * the process or the broker are `*_MAX` and are not configurable past them.
 *
 * Sizes are bytes, times are milliseconds; the unit is the last word of each name.
 */
import { GRPC_MESSAGE_BYTES_MAX, RECORD_BATCH_BYTES_MAX } from "@sluice/protocol";

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- producer -------------------------------------------------------------------------------

/**
 * 512 KiB per partition batch (uncompressed estimate, header included). Half of a topic's
 * default `max.message.bytes` (1 MiB), so a full batch is accepted even when compression makes
 * an incompressible batch a few bytes larger; large enough that gRPC's per-message cost
 * (~4,500 messages/s on our machines) is not the ceiling: 4,500 × 512 KiB ≫ grpc-js's ~250 MB/s.
 * A topic with a smaller limit still works: a batch rejected as MESSAGE_TOO_LARGE is split.
 */
export const BATCH_BYTES_DEFAULT = 512 * KiB;
/** A batch estimate can never exceed the largest batch any topic may accept. */
export const BATCH_BYTES_MAX = RECORD_BATCH_BYTES_MAX;
/**
 * 5 ms (Kafka 4's default): long enough to fill batches under load, short enough that the
 * added latency stays well under the 25 ms end-to-end p99 floor.
 */
export const LINGER_MS_DEFAULT = 5;
/** 10 s: a linger longer than this is a misconfiguration that would look like a hang. */
export const LINGER_MS_MAX = 10_000;
/** 32 MiB (Kafka's default): 64 full default batches of headroom before `send()` waits. */
export const BUFFER_MEMORY_BYTES_DEFAULT = 32 * MiB;
/** 60 s (Kafka's `max.block.ms`): how long `send()` waits for buffer space before failing. */
export const MAX_BLOCK_MS_DEFAULT = 60_000;
/** 30 s (Kafka's `request.timeout.ms`): a request without an answer by then is failed and retried. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/**
 * 120 s (Kafka's `delivery.timeout.ms`): the total time a record may spend between `send()`
 * and its acknowledgement, retries included; after that its promise rejects.
 */
export const DELIVERY_TIMEOUT_MS_DEFAULT = 120_000;
/**
 * 5 requests in flight per broker (Kafka's default). Ordering does not depend on it (one send
 * per partition is in flight); memory is bounded by bufferMemoryBytes. Measured with the
 * produce benchmark (8 partitions, 1 MiB requests): 16 in flight was 2x slower than 5, the
 * broker's appends and fsyncs contending; with 5, waiting partitions' sends grow instead.
 */
export const IN_FLIGHT_REQUESTS_PER_BROKER_DEFAULT = 5;
/** A cap on the option: every in-flight request holds up to PRODUCE_REQUEST_BYTES_MAX of memory. */
export const IN_FLIGHT_REQUESTS_PER_BROKER_MAX = 64;
/**
 * Sends per partition in flight by default (a send is that partition's head batches, appended
 * by the broker all-or-nothing). 1: the partition's next send waits for the previous answer.
 * More pipelines on an ordered ProduceStream (see producer.ts for why order still holds).
 */
export const IN_FLIGHT_SENDS_PER_PARTITION_DEFAULT = 1;
/** A cap on `maxInFlightPerPartition`: each send may hold PRODUCE_PARTITION_SEND_BYTES_MAX. */
export const IN_FLIGHT_SENDS_PER_PARTITION_MAX = 16;
/**
 * Largest Produce request (record batch bytes): half of GRPC_MESSAGE_BYTES_MAX (64 MiB), so
 * protobuf framing can never push a request over the gRPC limit.
 */
export const PRODUCE_REQUEST_BYTES_MAX = GRPC_MESSAGE_BYTES_MAX / 2;
/**
 * 1 MiB of record batches per Produce request by default (a bigger send travels alone). Small
 * requests keep partitions out of lock-step: with one big request for all partitions, the
 * producer encodes, the network carries and the broker appends in turn while the others wait;
 * with about one request per partition those stages overlap across partitions. Each message is
 * still far above gRPC's per-message cost. Measured (produce benchmark, noisy shared machine):
 * 1 MiB 157-242 MiB/s, 4 MiB 140-177, 16 MiB 122-143.
 */
export const PRODUCE_REQUEST_BYTES_DEFAULT = 1 * MiB;
/**
 * 8 MiB of one partition's batches in one send. A partition has one send in flight; while it
 * is answered, new batches pile up and leave together next time (the broker appends them
 * all-or-nothing, so order survives retries). This bounds one send to ~16 default batches.
 */
export const PRODUCE_PARTITION_SEND_BYTES_MAX = 8 * MiB;
/**
 * 16 idle batch buffers kept for reuse (8 MiB at the default batchBytes), and at most 16 more
 * held "early" by batches not yet half full (those of partitions whose previous batch was
 * large, which start in one instead of growing; batch-buffer-pool.ts). Every fresh batch
 * buffer is external memory V8 counts towards a collection (measured: most young-generation
 * collections while producing were "external memory pressure"), and its pages fault in on
 * first write; reusing them removes one large allocation per batch. The producer frees and
 * takes them at about the same rate, so a few suffice; a burst that frees more simply lets the
 * rest be collected.
 */
export const BATCH_BUFFERS_POOLED_MAX = 16;
/**
 * Per-record overhead bound used to estimate a batch's size before encoding it: a record's
 * length, attributes, timestamp delta, offset delta, key and value lengths, header count as
 * varints at their largest (5 + 1 + 10 + 5 + 5 + 5 + 5 bytes), rounded up.
 */
export const RECORD_OVERHEAD_BYTES_MAX = 40;
/** Per-header overhead bound: two varint lengths at their largest. */
export const HEADER_OVERHEAD_BYTES_MAX = 10;
/**
 * Bytes added to a batch estimate when it will be compressed: codecs can grow incompressible
 * input slightly (frame headers, block sizes; gzip adds ~18 bytes + 5 per 32 KiB block).
 */
export const COMPRESSION_OVERHEAD_BYTES_MAX = 1 * KiB;

// ---- retries --------------------------------------------------------------------------------

/** 100 ms (Kafka's `retry.backoff.ms`): the first wait before a retry. */
export const RETRY_BACKOFF_MS_DEFAULT = 100;
/** 1 s (Kafka's `retry.backoff.max.ms`): the exponential backoff stops growing here. */
export const RETRY_BACKOFF_MAX_MS_DEFAULT = 1_000;
/** ±20 % (Kafka's): spreads retries of many clients so they do not arrive in lockstep. */
export const RETRY_JITTER_RATIO = 0.2;
/**
 * Attempts per batch or request. The delivery timeout is the real bound; this cap only stops
 * a zero-backoff misconfiguration from spinning (at most 1 s apart, 1,000 attempts > 120 s).
 */
export const RETRY_ATTEMPTS_MAX = 1_000;

// ---- data listener --------------------------------------------------------------------------

/**
 * 10 s (Kafka's `socket.connection.setup.timeout.ms`) for a data connection's TCP connect plus
 * the broker's HELLO. A data port that drops packets (a firewall) would otherwise hold the first
 * requests for their whole request timeout; past this the client falls back to gRPC.
 */
export const DATA_CONNECT_TIMEOUT_MS = 10_000;
/**
 * 30 s of gRPC for a broker whose data listener could not be reached (refused, timed out, wrong
 * HELLO) before it is probed again (a handshake without requests): long enough that a firewalled
 * or incompatible port costs one connection attempt per broker every 30 s, short enough that a
 * listener that comes back is used again soon.
 */
export const DATA_LISTENER_RETRY_AFTER_MS = 30_000;

// ---- metadata -------------------------------------------------------------------------------

/** 5 min (Kafka's `metadata.max.age.ms`): metadata is refreshed at least this often even without errors. */
export const METADATA_MAX_AGE_MS = 5 * 60_000;
/**
 * 5 s: how long `send()` and consumer assignment wait for a topic to appear in metadata. There
 * is no topic auto-creation, so a topic missing after this long most likely does not exist.
 */
export const METADATA_WAIT_MS_DEFAULT = 5_000;

// ---- consumer -------------------------------------------------------------------------------

/** 500 ms (Kafka's `fetch.max.wait.ms`): how long the broker holds a fetch that has no data. */
export const FETCH_MAX_WAIT_MS_DEFAULT = 500;
/** 1 byte: answer as soon as anything is there (lowest latency). */
export const FETCH_MIN_BYTES_DEFAULT = 1;
/**
 * 4 MiB per partition per fetch: with 8 partitions a full fetch is 32 MiB = FETCH_MAX_BYTES_DEFAULT.
 * Kafka's 1 MiB would need four times as many round trips for the same bytes.
 */
export const PARTITION_FETCH_MAX_BYTES_DEFAULT = 4 * MiB;
/**
 * 32 MiB per fetch response: half of GRPC_MESSAGE_BYTES_MAX (64 MiB), so a response never hits
 * the gRPC limit even when the broker returns one batch larger than the budget.
 */
export const FETCH_MAX_BYTES_DEFAULT = 32 * MiB;
/**
 * 8 fetches in flight per broker, each long-polling for its share of the partitions: new data
 * on a partition answers its own fetch at once instead of waiting for another fetch's round
 * trip (measured: ~7 ms of added p50 latency with one fetch for 8 partitions). More partitions
 * than this share fetches, so the call rate stays far below grpc-js's ~4,500 calls/s.
 */
export const FETCHES_IN_FLIGHT_PER_BROKER_MAX = 8;
/**
 * HTTP/2 receive window the client grants a broker, per stream and per connection (grpc-js's
 * `grpc-node.flow_control_window` sets both): one full fetch response (FETCH_MAX_BYTES_DEFAULT).
 * With HTTP/2's 64 KiB default the broker must wait for a WINDOW_UPDATE from the client's event
 * loop every 64 KiB of fetch responses, and produce acks on the same connection queue behind
 * them: measured at ~37 MiB/s, that added ~40 ms to the p99 of append-to-receipt latency. It
 * adds no memory beyond what fetch sizes already bound: a broker only sends answers to requests.
 */
export const CLIENT_RECEIVE_WINDOW_BYTES = FETCH_MAX_BYTES_DEFAULT;
/** The option may not exceed what a gRPC message can carry with room for framing. */
export const FETCH_MAX_BYTES_MAX = GRPC_MESSAGE_BYTES_MAX / 2;
/** 1 min: a long poll that is longer is a misconfiguration (it delays close and seeks). */
export const FETCH_MAX_WAIT_MS_MAX = 60_000;
/**
 * Fetched but not yet consumed bytes, per consumer, above which no new fetch is issued. Equal
 * to one full fetch: one response being consumed while the next one is in flight (pipelining),
 * never an unbounded pile of prefetched data.
 */
export const CONSUMER_BUFFERED_BYTES_MAX_DEFAULT = FETCH_MAX_BYTES_DEFAULT;

// ---- consumer groups -----------------------------------------------------------------------

/** 5 s (Kafka's `auto.commit.interval.ms`): how often a group consumer commits processed positions. */
export const AUTO_COMMIT_INTERVAL_MS_DEFAULT = 5_000;
/**
 * 45 s (Kafka's `group.consumer.session.timeout.ms`, the broker's default). The coordinator
 * owns the real session timeout; the consumer uses this value to give up its partitions itself
 * when no heartbeat has succeeded for this long (the coordinator has expired it by then, if both
 * are configured alike), so a consumer cut off from its coordinator stops processing.
 */
export const GROUP_SESSION_TIMEOUT_MS_DEFAULT = 45_000;
/** 5 min (Kafka's `max.poll.interval.ms`, sent as the rebalance timeout): time allowed to give up revoked partitions. */
export const GROUP_REBALANCE_TIMEOUT_MS_DEFAULT = 300_000;
/** The broker refuses rebalance timeouts above an hour (its REBALANCE_TIMEOUT_MS_MAX). */
export const GROUP_REBALANCE_TIMEOUT_MS_MAX = 3_600_000;
/**
 * Heartbeat interval used until the coordinator's first answer names one (the broker's default
 * is 5 s). Whatever the broker names, a member heartbeats at least every half session timeout.
 */
export const GROUP_HEARTBEAT_INTERVAL_MS_FALLBACK = 5_000;
/**
 * Deadline of one heartbeat: a heartbeat is answered from memory plus one append to the
 * group's offsets partition, so 5 s is generous; a longer wait would let the session run out
 * while the member still believes it is live.
 */
export const GROUP_HEARTBEAT_TIMEOUT_MS = 5_000;
/**
 * Retries of a commit refused with STALE_MEMBER_EPOCH (each waits for the next heartbeat): the
 * epoch only moves a few times per rebalance, so more means the member is being fenced.
 */
export const COMMIT_STALE_EPOCH_RETRIES_MAX = 5;

// ---- admin ----------------------------------------------------------------------------------

/** 30 s for admin calls (topic creation writes metadata durably; it is not instant). */
export const ADMIN_TIMEOUT_MS_DEFAULT = 30_000;

/** The data connection's reusable socket read buffer: one read takes up to this much. */
export const DATA_READ_BUFFER_BYTES = 512 * 1024;
/**
 * A frame with at least this much still to come is read straight into its payload (no copy);
 * smaller rests go through the read buffer, where several small frames share one read.
 */
export const DATA_DIRECT_READ_MIN_BYTES = 64 * 1024;
