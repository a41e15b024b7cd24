/**
 * Named bounds of the partition layer (STYLE habit 4), each with why it has that value.
 */
import { GRPC_MESSAGE_BYTES_MAX, RECORD_BATCH_BYTES_MAX } from "@sluice/protocol";

/**
 * Longest a fetch may long-poll. Kafka's consumers default to 500 ms; 30 s caps what a client can
 * ask for so a waiter never outlives typical gRPC deadlines and shutdown stays prompt.
 */
export const FETCH_WAIT_MS_MAX = 30_000;

/**
 * Largest fetch response budget, also the budget when a request leaves `max_bytes` at 0. A
 * response may exceed its budget by one batch (so consumers never get stuck behind a large
 * batch), so the budget leaves room for one RECORD_BATCH_BYTES_MAX batch and protobuf framing
 * inside GRPC_MESSAGE_BYTES_MAX.
 */
export const FETCH_RESPONSE_BYTES_MAX = GRPC_MESSAGE_BYTES_MAX - RECORD_BATCH_BYTES_MAX - 1024 * 1024;

/** Per-partition budget when a request leaves `partition_max_bytes` at 0: Kafka's default (1 MiB). */
export const PARTITION_FETCH_BYTES_DEFAULT = 1024 * 1024;

/**
 * Partitions one Fetch or ListOffsets request may name: bounds the work (and the waiters) one
 * call can create; far above what a consumer assigned many partitions asks for.
 */
export const REQUEST_PARTITIONS_MAX = 10_000;

/**
 * Partitions a topic may have on this broker: each is a directory with at least three files, and
 * the log manager's open-file LRU must not thrash on one topic.
 */
export const TOPIC_PARTITIONS_MAX = 10_000;

/** The in-sync replica set of a single broker: the leader alone. Replication will replace this. */
export const SINGLE_BROKER_ISR_SIZE = 1;
