/**
 * The messages Raft replicas exchange. A driver serialises them (and may coalesce heartbeats,
 * see multi-group.ts); the core never looks at bytes.
 *
 * Every message carries the sender's current term, except granted pre-vote responses (which
 * echo the future term they grant) and pre-vote requests (which carry the term the sender
 * would campaign in, without having moved to it).
 *
 * Invariants: messages are immutable after the core hands them out; the network may drop,
 * delay, duplicate and reorder them and the core stays safe.
 */
import type { Offset } from "@sluice/protocol";
import type { Entry, NodeId, Snapshot, Term } from "./types.js";

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** Leader -> follower: append `entries` after (prevOffset, prevTerm); carries the leader's commit. */
export interface AppendMessage extends Envelope {
  readonly type: "append";
  readonly prevOffset: Offset;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: Offset;
}

/**
 * Follower -> leader. Accepted: `matchOffset` is the last offset now known to match the
 * leader. Rejected: `matchOffset` is the prevOffset that did not match, and (rejectHint,
 * hintTerm) is the follower's best guess of where the logs agree (fast backtracking: the
 * leader skips every entry whose term is above hintTerm in one round trip).
 */
export interface AppendResponse extends Envelope {
  readonly type: "append-resp";
  readonly reject: boolean;
  readonly matchOffset: Offset;
  readonly rejectHint: Offset;
  readonly hintTerm: Term;
}

/** Candidate -> voter. `transfer` marks an election started by leadership transfer (it may break a lease). */
export interface VoteRequest extends Envelope {
  readonly type: "vote" | "pre-vote";
  readonly lastOffset: Offset;
  readonly lastTerm: Term;
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: "vote-resp" | "pre-vote-resp";
  readonly reject: boolean;
}

/** Leader -> follower: "I am still leader"; `commit` is capped at the follower's match. */
export interface HeartbeatMessage extends Envelope {
  readonly type: "heartbeat";
  readonly commit: Offset;
  /** The newest read-index request this heartbeat confirms leadership for (0: none). */
  readonly readSeq: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: "heartbeat-resp";
  readonly readSeq: number;
}

/** Leader -> follower whose next offset was compacted away. Acknowledged with an append-resp. */
export interface SnapshotMessage extends Envelope {
  readonly type: "snapshot";
  readonly snapshot: Snapshot;
}

/** Leader -> transferee: "campaign now, skipping pre-vote". */
export interface TimeoutNowMessage extends Envelope {
  readonly type: "timeout-now";
}

/** Follower -> leader: a read-index request forwarded on behalf of a local reader. */
export interface ReadIndexRequest extends Envelope {
  readonly type: "read-index";
  readonly ctx: number;
}

/** Leader -> follower: the read point for a forwarded read-index request. */
export interface ReadIndexResponse extends Envelope {
  readonly type: "read-index-resp";
  readonly ctx: number;
  readonly index: Offset;
}

export type Message =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message["type"];
