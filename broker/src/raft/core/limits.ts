/**
 * Every bound the Raft core enforces, with the reason for its value (TigerBeetle's habit:
 * a bound without a name and a reason is a bug waiting for load). Options in raft.ts default
 * to these; drivers may lower them (tests do) but the defaults are what production runs.
 */
export const raftLimits = {
  /**
   * Election timeout in ticks; each replica draws its timeout uniformly from
   * [electionTimeoutTicks, 2 * electionTimeoutTicks) so split votes are rare. With the
   * broker's 100 ms tick this is 1-2 s: long enough to ride out a GC pause or an fsync stall,
   * short enough that a dead leader costs a couple of seconds of unavailability.
   */
  electionTimeoutTicks: 10,
  /** Heartbeat interval in ticks: 10 heartbeats per election timeout, so a few lost ones never cost an election. */
  heartbeatTicks: 1,
  /**
   * Append messages in flight to one follower before the leader waits for acknowledgements.
   * 256 keeps a 10 ms round trip full at ~25k appends/s without letting a dead follower pin
   * unbounded leader memory.
   */
  inflightMessagesMax: 256,
  /**
   * Entry bytes in flight to one follower. 16 MiB covers the bandwidth-delay product of
   * 1 GB/s (our disk) x 10 ms (a slow round trip) with room to spare, and bounds what a slow
   * follower can make the leader keep buffered in its sockets. Strict while anything is in
   * flight; a single entry larger than the bound is sent alone into an empty window.
   */
  inflightBytesMax: 16 * 1024 * 1024,
  /**
   * Entry bytes in one append message (at least one entry is always sent, however large).
   * 1 MiB matches the typical produce batch and amortises per-message costs (framing, fsync
   * group commit) without head-of-line blocking heartbeats for long.
   */
  appendBytesMax: 1024 * 1024,
  /** Entries in one append message: caps per-message work on the follower for tiny batches. */
  appendEntriesMax: 512,
  /** Committed entry bytes handed to the application per Ready, so one Ready never holds gigabytes. */
  committedBytesPerReadyMax: 16 * 1024 * 1024,
  /**
   * Bytes the leader accepts beyond its commit point before proposals are refused. 64 MiB is
   * ~0.1 s of our disk bandwidth: if followers fall further behind, producers must back off
   * rather than grow the leader's log without a quorum behind it.
   */
  uncommittedBytesMax: 64 * 1024 * 1024,
  /** Read-index requests waiting for a quorum heartbeat round; beyond this readers are refused (backpressure). */
  pendingReadsMax: 4096,
  /** Bytes we charge for a control entry (noop / config change): a control batch header plus one record. */
  controlEntryBytes: 80,
  /**
   * Ticks a follower may sit in snapshot state without acknowledging before the leader
   * retries: a lost snapshot message must not stall the follower forever. Counted in
   * election timeouts (x2) so a large snapshot on a slow link is not resent needlessly.
   */
  snapshotRetryElectionTimeouts: 2,
} as const;
