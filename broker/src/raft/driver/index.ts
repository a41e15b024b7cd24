/**
 * The Raft runtime: the driver that runs many groups on one broker around the pure core, and
 * where their logs are kept. See README.md for the loop, the framing and the limits.
 *
 * | module          | what it holds                                                              |
 * | --------------- | -------------------------------------------------------------------------- |
 * | driver.ts       | RaftDriver: tick loop, dirty-group passes, group commit, proposals, reads    |
 * | persistence.ts  | the RaftPersistence interface and MemoryPersistence                          |
 * | wal.ts          | WalPersistence: one write-ahead log per broker, fdatasync per pass, recovery |
 * | limits.ts       | every driver and WAL bound with its reason                                   |
 * | errors.ts       | proposal outcomes and driver errors                                          |
 */
export { RaftDriver, realDriverTimers } from "./driver.js";
export type {
  RaftDriverOptions,
  RaftStateMachine,
  DriverTimers,
  GroupRaftOptions,
  AddGroupOptions,
  ProposeOptions,
  DriverStats,
} from "./driver.js";
export { MemoryPersistence } from "./persistence.js";
export type { RaftPersistence } from "./persistence.js";
export { WalPersistence } from "./wal.js";
export type { WalPersistenceOptions, WalStats } from "./wal.js";
export { driverLimits, walLimits } from "./limits.js";
export type { DriverLimits, WalLimits } from "./limits.js";
export {
  ProposalDroppedError,
  ProposalTimeoutError,
  UnknownGroupError,
  InvalidDriverRequestError,
  DriverStoppedError,
  ProposalBackpressureError,
} from "./errors.js";
export type { ProposalTimeoutReason } from "./errors.js";
