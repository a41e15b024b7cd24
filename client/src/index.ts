/**
 * @sluice/client: the TypeScript SDK for Sluice. Named exports only; types via `export type`.
 *
 * | module               | what it holds                                                       |
 * | -------------------- | ------------------------------------------------------------------- |
 * | producer.ts          | Producer: batching, linger, compression, partitioning, retries       |
 * | producer-record.ts   | per-record checks and size bound (no object per record)              |
 * | delivery-report.ts   | bookkeeping of enqueueMany/sendMany calls (one promise per call)     |
 * | batch-outcome.ts     | how a batch ended, answered per record                               |
 * | accumulator.ts       | per-partition batch queues (pure; time is an argument)               |
 * | buffer-pool.ts       | the producer's memory budget and back-pressure                       |
 * | batch-buffer-pool.ts | reused output buffers for the producer's full record batches         |
 * | partitioner.ts       | Kafka's murmur2 key partitioner and the sticky null-key partitioner  |
 * | produce-transport.ts | pipelined ProduceStream (with unary fallback)                        |
 * | data-produce-transport.ts | Produce over the data listener (gRPC when it is unavailable)    |
 * | consumer.ts          | Consumer: assign, seek, pipelined fetches, for-await iteration       |
 * | group-consumer.ts    | GroupConsumer: subscribe, KIP-848 heartbeats, callbacks, commits     |
 * | group-membership.ts  | the group member's heartbeat/assignment state (pure)                 |
 * | group-rpc.ts         | Groups calls routed to a group's coordinator                         |
 * | admin.ts             | Admin: topics, partitions, configs, cluster, offsets                 |
 * | group-admin.ts       | Admin's consumer-group operations (list, describe, reset, delete)    |
 * | list-offsets.ts      | ListOffsets routed to partition leaders                              |
 * | cluster.ts           | bootstrap, connections per broker, metadata refresh                  |
 * | metadata.ts          | the metadata cache (pure)                                            |
 * | connection.ts        | one gRPC channel per broker, typed unary calls                       |
 * | data-connection.ts   | one TCP connection per broker's data listener (Produce, Fetch)       |
 * | data-connection-codec.ts | ERROR-frame payload decoding for the data listener               |
 * | retry.ts             | the one retry policy                                                 |
 * | errors.ts            | client-side error classes                                            |
 * | limits.ts            | every default and bound, with its reason                             |
 * | runtime.ts           | injected clock, randomness and timers                                |
 */
export { Producer } from "./producer.js";
export type { Acks, Bytes, CompressionName, Enqueued, ProducerOptions, ProducerRecord, RecordMetadata } from "./producer.js";
export type { DeliveryFailure, DeliveryReport, EnqueuedMany } from "./producer.js";
export { Consumer } from "./consumer.js";
export type { AutoOffsetReset, ConsumerBatch, ConsumerOptions, ConsumerRecord, TopicPartition } from "./consumer.js";
export { GroupConsumer } from "./group-consumer.js";
export type { CommittedOffset, GroupConsumerOptions, OffsetToCommit, RebalanceCallback, ServerAssignor } from "./group-consumer.js";
export type { Subscription } from "./group-membership.js";
export { Admin } from "./admin.js";
export type {
  CoordinatorInfo,
  GroupCommittedOffset,
  GroupDescription,
  GroupListing,
  GroupMemberDescription,
  GroupOffset,
  OffsetResetPlanEntry,
  OffsetResetTarget,
  PartitionLag,
  TopicSelection,
} from "./group-admin.js";
export type {
  AdminOptions,
  BrokerDescription,
  ClusterDescription,
  ConfigAlterations,
  ConfigEntry,
  ConfigSourceName,
  CreatedTopic,
  NewTopic,
  PartitionDescription,
  TopicConfigs,
  TopicDescription,
  TopicListing,
} from "./admin.js";
export type { OffsetSpec, PartitionOffset } from "./list-offsets.js";
export { parseBootstrap, parseHostPort } from "./cluster.js";
export type { ClientOptions, ClientTransport, HostPort } from "./cluster.js";
export { murmur2, toPositive, partitionForKey } from "./partitioner.js";
export { RetryPolicy } from "./retry.js";
export type { RetryOptions } from "./retry.js";
export {
  BrokerCallError,
  BufferExhaustedError,
  ClientClosedError,
  ConfigError,
  ConnectionError,
  NoOffsetError,
  OffsetCommitError,
  RebalanceCallbackError,
  TimeoutError,
} from "./errors.js";
export { ManualTime, seededRandom, systemClock, systemRandom, systemScheduler } from "./runtime.js";
export type { Clock, Random, Scheduler, TimerHandle } from "./runtime.js";
export * as limits from "./limits.js";
