/**
 * Typed errors of the Raft driver, for the world's faults as seen by a proposer or reader.
 * Not-leader, invalid requests and backpressure come from the core (NotLeaderError,
 * UncommittedBytesLimitError, ...) and are passed through unchanged.
 *
 * Proposal outcomes: ProposalDroppedError means the entry can never commit (a new leader
 * overwrote it); ProposalTimeoutError means the outcome is unknown (it may still commit), as
 * with Kafka's REQUEST_TIMED_OUT.
 */
import { SluiceError, type SluiceErrorOptions } from "@sluice/protocol";
import type { GroupId } from "../core/multi-group.js";

/** The entry was replaced in the log by a different entry at its offsets: it will never commit. */
export class ProposalDroppedError extends SluiceError {
  readonly group: GroupId;
  constructor(group: GroupId, detail: string) {
    super("NOT_LEADER_OR_FOLLOWER", `group ${group}: proposal dropped: ${detail}`);
    this.name = "ProposalDroppedError";
    this.group = group;
  }
}

export type ProposalTimeoutReason = "timeout" | "snapshot" | "stopped" | "group-removed" | "group-failed";

/** The driver stopped waiting for the entry; it may or may not commit. */
export class ProposalTimeoutError extends SluiceError {
  readonly group: GroupId;
  readonly reason: ProposalTimeoutReason;
  constructor(group: GroupId, reason: ProposalTimeoutReason, detail: string, options?: SluiceErrorOptions) {
    super("REQUEST_TIMED_OUT", `group ${group}: outcome unknown (${reason}): ${detail}`, options);
    this.name = "ProposalTimeoutError";
    this.group = group;
    this.reason = reason;
  }
}

/** The driver does not host this group. */
export class UnknownGroupError extends SluiceError {
  readonly group: GroupId;
  constructor(group: GroupId) {
    super("UNKNOWN_TOPIC_OR_PARTITION", `raft group ${group} is not hosted by this broker`);
    this.name = "UnknownGroupError";
    this.group = group;
  }
}

/** A request the driver refuses as malformed (a group added twice, compaction beyond what is applied, ...). */
export class InvalidDriverRequestError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_REQUEST", detail);
    this.name = "InvalidDriverRequestError";
  }
}

/** The driver was stopped, or failed (its storage failed): nothing more is accepted. */
export class DriverStoppedError extends SluiceError {
  constructor(detail: string, options?: SluiceErrorOptions) {
    super("LEADER_NOT_AVAILABLE", `raft driver stopped: ${detail}`, options);
    this.name = "DriverStoppedError";
  }
}

/** Too many proposals wait for commit in one group: the proposer must back off. */
export class ProposalBackpressureError extends SluiceError {
  readonly pending: number;
  constructor(group: GroupId, pending: number) {
    super("NOT_ENOUGH_REPLICAS", `group ${group}: ${pending} proposals await commit`);
    this.name = "ProposalBackpressureError";
    this.pending = pending;
  }
}
