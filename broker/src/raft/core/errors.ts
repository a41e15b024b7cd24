/**
 * Typed errors the Raft core raises for the world's faults (a proposal on a follower, an
 * invalid membership change, back-pressure). Each carries a stable code from the protocol's
 * error table; `retriable` tells the caller whether the same request may succeed later.
 * Our own bugs are assertion failures instead (see @sluice/protocol assert).
 *
 * Codes follow Kafka's meaning: NOT_LEADER_OR_FOLLOWER (ask the leader), LEADER_NOT_AVAILABLE
 * (the leader is not established yet), REASSIGNMENT_IN_PROGRESS / INVALID_REPLICA_ASSIGNMENT
 * (membership changes), NOT_ENOUGH_REPLICAS (followers too far behind), REQUEST_TIMED_OUT
 * (back-pressure), INVALID_REQUEST / INVALID_CONFIG (bad input).
 */
import { SluiceError } from "@sluice/protocol";
import type { NodeId } from "./types.js";

/** The operation needs the leader; `leaderHint` is who this node believes leads (NO_NODE if unknown). */
export class NotLeaderError extends SluiceError {
  readonly leaderHint: NodeId;
  constructor(leaderHint: NodeId, detail = "this replica is not the leader") {
    super("NOT_LEADER_OR_FOLLOWER", `${detail} (leader hint ${leaderHint})`);
    this.name = "NotLeaderError";
    this.leaderHint = leaderHint;
  }
}

/** Proposals are refused while leadership moves to `transferee` (they would be lost with the old term). */
export class LeadershipTransferInProgressError extends SluiceError {
  readonly transferee: NodeId;
  constructor(transferee: NodeId) {
    super("NOT_LEADER_OR_FOLLOWER", `leadership is being transferred to ${transferee}`);
    this.name = "LeadershipTransferInProgressError";
    this.transferee = transferee;
  }
}

/** The leader's uncommitted tail is at its limit: followers are behind, the producer must back off. */
export class UncommittedBytesLimitError extends SluiceError {
  readonly uncommittedBytes: number;
  readonly limitBytes: number;
  constructor(uncommittedBytes: number, limitBytes: number) {
    super("NOT_ENOUGH_REPLICAS", `${uncommittedBytes} uncommitted bytes, limit ${limitBytes}`);
    this.name = "UncommittedBytesLimitError";
    this.uncommittedBytes = uncommittedBytes;
    this.limitBytes = limitBytes;
  }
}

/** A proposal, transfer target or read request is malformed (bad record count, unknown node, ...). */
export class InvalidRaftRequestError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_REQUEST", detail);
    this.name = "InvalidRaftRequestError";
  }
}

/** RaftOptions or a bootstrap configuration is invalid; nothing was started. */
export class InvalidRaftOptionsError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_CONFIG", detail);
    this.name = "InvalidRaftOptionsError";
  }
}

/** Why a membership change cannot be proposed right now (all transient: retry after a backoff). */
export type ConfigChangeBusyReason = "leader-not-committed-in-term" | "change-pending" | "learner-lagging";

/**
 * A membership change cannot be proposed yet. `leader-not-committed-in-term` is the safety fix
 * for one-server-at-a-time changes (a new leader must first commit an entry of its own term);
 * `change-pending` means the previous change is not committed; `learner-lagging` refuses to
 * promote a learner that has not caught up with the commit point.
 */
export class ConfigChangeBusyError extends SluiceError {
  readonly reason: ConfigChangeBusyReason;
  constructor(reason: ConfigChangeBusyReason, detail: string) {
    super(reason === "leader-not-committed-in-term" ? "LEADER_NOT_AVAILABLE" : "REASSIGNMENT_IN_PROGRESS", `${reason}: ${detail}`);
    this.name = "ConfigChangeBusyError";
    this.reason = reason;
  }
}

/** The membership change is invalid for the current configuration (adding a member twice, removing the last voter, ...). */
export class InvalidConfigChangeError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_REPLICA_ASSIGNMENT", detail);
    this.name = "InvalidConfigChangeError";
  }
}

/** Too many read-index requests wait for a quorum round: the reader must back off. */
export class ReadIndexBackpressureError extends SluiceError {
  readonly pending: number;
  constructor(pending: number) {
    super("REQUEST_TIMED_OUT", `${pending} read-index requests pending`);
    this.name = "ReadIndexBackpressureError";
    this.pending = pending;
  }
}

/**
 * A message from a peer breaks the protocol's shape (entries not contiguous, an entry of a
 * future term, addressed to another node, ...). It was rejected before touching any state:
 * a buggy or corrupted peer cannot make this replica assert or corrupt its log.
 */
export class InvalidRaftMessageError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_REQUEST", `invalid raft message: ${detail}`);
    this.name = "InvalidRaftMessageError";
  }
}
