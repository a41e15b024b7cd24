/**
 * Every bound of the Raft driver (the runtime around the pure core), named, with the reason
 * for its value. `RaftDriver` and `WalPersistence` take overrides (tests shorten the tick);
 * these defaults are what brokers run.
 */
export const driverLimits = {
  /**
   * One logical Raft tick. The core's defaults (electionTimeoutTicks 10, heartbeatTicks 1) are
   * stated for a 100 ms tick: 1-2 s elections, a heartbeat per group per 100 ms. A shorter
   * tick makes elections faster but multiplies the idle cost of every hosted group.
   */
  tickMs: 100,
  /**
   * A proposal not committed within this is rejected with ProposalTimeoutError (outcome
   * unknown). 10 s covers several election timeouts (1-2 s each), so a leader change alone
   * does not time proposals out, while a partitioned leader's callers hear back.
   */
  proposalTimeoutMs: 10_000,
  /** A read-index request not served within this is rejected (the leader may be gone); 5 s = a few elections. */
  readIndexTimeoutMs: 5_000,
  /**
   * Proposals awaiting commit per group. The core bounds their bytes (uncommittedBytesMax);
   * this bounds the bookkeeping for tiny ones: 65,536 x ~100 bytes of promise state = ~6 MiB.
   */
  pendingProposalsMax: 65_536,
  /**
   * Messages queued for one group between driver passes. A healthy group sees a handful per
   * pass; thousands mean the driver is stalled (a slow fsync), and Raft retransmits what we drop.
   */
  inboxMessagesMax: 4096,
  /**
   * Unprocessed inbound payload bytes (entries, snapshots) above which the driver stops reading
   * from the transport until its next pass is done: TCP flow control then slows the leaders.
   * 64 MiB = 4 x the core's per-follower inflightBytesMax.
   */
  inboundBytesPauseMax: 64 * 1024 * 1024,
} as const;

export type DriverLimits = { -readonly [K in keyof typeof driverLimits]: number };

export const walLimits = {
  /**
   * The write-ahead log rolls to a new segment (rewriting the live state at its start, then
   * deleting older segments) once the active one exceeds this. 64 MiB keeps recovery reads
   * and the rewrite cheap while rolling rarely (about once every 0.1-0.5 s at full speed).
   */
  segmentBytes: 64 * 1024 * 1024,
  /**
   * Largest record accepted on replay. A record holds one group's writes of one pass (at most
   * the core's appendBytesMax x appendEntriesMax in practice, far less); a larger length prefix
   * is a torn or corrupt tail.
   */
  recordBytesMax: 512 * 1024 * 1024,
} as const;

export type WalLimits = { -readonly [K in keyof typeof walLimits]: number };
