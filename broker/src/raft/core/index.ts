/**
 * The Raft consensus core: a pure state machine (no timers, sockets, files, clocks or
 * ambient randomness). See ../README.md for how a driver uses it.
 *
 * | module            | what it holds                                                         |
 * | ----------------- | --------------------------------------------------------------------- |
 * | types.ts          | Term, NodeId, entries (offset ranges), configurations, hard state      |
 * | messages.ts       | the messages replicas exchange                                         |
 * | raft.ts           | the state machine: step / tick / propose / ready / advance             |
 * | log.ts            | the log as the core sees it: storage + unstable tail, term lookups     |
 * | storage.ts        | the RaftStorage interface and MemoryStorage                            |
 * | progress.ts       | per-follower replication state and the in-flight window                |
 * | quorum.ts         | majority arithmetic                                                    |
 * | configuration.ts  | one-server-at-a-time membership changes and their safety rules         |
 * | multi-group.ts    | the multi-group driver interface and heartbeat coalescing              |
 * | limits.ts         | every bound, named, with its reason                                    |
 * | random.ts         | the injected, seeded randomness                                        |
 * | errors.ts         | typed errors for the world's faults                                    |
 * | describe.ts       | stable text renderings (transcripts, failure reports)                  |
 */
export * from "./types.js";
export type * from "./messages.js";
export { Raft } from "./raft.js";
export type { RaftOptions, Ready, RaftStatus, ProgressStatus } from "./raft.js";
export { MemoryStorage, bootstrapSnapshot } from "./storage.js";
export type { RaftStorage, RaftInitialState } from "./storage.js";
export { raftLimits } from "./limits.js";
export { SeededRandom } from "./random.js";
export type { Random } from "./random.js";
export * from "./errors.js";
export { applyConfigChange, describeConfiguration } from "./configuration.js";
export { majority, quorumValue, voteOutcome } from "./quorum.js";
export type { VoteOutcome } from "./quorum.js";
export { coalesceOutbox, expandEnvelope, asGroupId } from "./multi-group.js";
export type {
  GroupId,
  GroupMessage,
  BrokerEnvelope,
  CoalescedHeartbeat,
  CoalescedHeartbeatResponse,
  MultiGroupDriver,
  GroupReady,
} from "./multi-group.js";
export { describeEntry, describeEntries, describeMessage, describeReady, describeHardState, describeSnapshot } from "./describe.js";
