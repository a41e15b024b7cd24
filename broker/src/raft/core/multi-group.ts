/**
 * The multi-group driver interface: thousands of Raft groups (one per partition, plus the
 * metadata group) live on one broker and share one message stream per broker pair. Within
 * a group, a replica's NodeId is the id of the broker hosting it, so a message's (from, to)
 * is a broker pair.
 *
 * Heartbeats are the traffic that scales with groups, not with load: each leader sends one
 * per follower per heartbeat interval. `coalesceOutbox` folds everything a broker sends in one
 * tick into one envelope per destination broker, with heartbeats (and their responses)
 * reduced to a compact per-group tuple. A driver that ticks all its groups and then sends
 * the coalesced outbox sends one message per broker pair per tick, whatever the group count.
 *
 * Ordering: per (group, destination) the order of non-heartbeat messages is kept; heartbeats
 * travel in a separate list of the same envelope (Raft tolerates reordering, and a heartbeat
 * carries nothing an append depends on).
 *
 * Invariants: expandEnvelope(coalesceOutbox(...)) returns exactly the messages put in, per
 * destination (property-tested); an envelope's from/to equal every inner message's from/to.
 */
import { assert, type Offset } from "@sluice/protocol";
import type { Message } from "./messages.js";
import type { Ready } from "./raft.js";
import type { NodeId, Term } from "./types.js";

declare const brand: unique symbol;
/** A Raft group on this broker: a partition's group, or the metadata group. */
export type GroupId = number & { readonly [brand]: "GroupId" };
export const asGroupId = (n: number): GroupId => n as GroupId;

export interface GroupMessage {
  readonly group: GroupId;
  readonly message: Message;
}

export interface CoalescedHeartbeat {
  readonly group: GroupId;
  readonly term: Term;
  readonly commit: Offset;
  readonly readSeq: number;
}

export interface CoalescedHeartbeatResponse {
  readonly group: GroupId;
  readonly term: Term;
  readonly readSeq: number;
}

/** Everything broker `from` sends broker `to` in one tick: one transport message. */
export interface BrokerEnvelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly heartbeats: readonly CoalescedHeartbeat[];
  readonly heartbeatResponses: readonly CoalescedHeartbeatResponse[];
  readonly messages: readonly GroupMessage[];
}

interface MutableEnvelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly heartbeats: CoalescedHeartbeat[];
  readonly heartbeatResponses: CoalescedHeartbeatResponse[];
  readonly messages: GroupMessage[];
}

/** Folds one tick's outgoing messages of broker `from` into one envelope per destination broker. */
export function coalesceOutbox(from: NodeId, outbox: readonly GroupMessage[]): BrokerEnvelope[] {
  const byDestination = new Map<NodeId, MutableEnvelope>();
  for (const { group, message } of outbox) {
    assert(message.from === from, `message from ${message.from} in broker ${from}'s outbox`);
    let envelope = byDestination.get(message.to);
    if (envelope === undefined) {
      envelope = { from, to: message.to, heartbeats: [], heartbeatResponses: [], messages: [] };
      byDestination.set(message.to, envelope);
    }
    if (message.type === "heartbeat") {
      envelope.heartbeats.push({ group, term: message.term, commit: message.commit, readSeq: message.readSeq });
    } else if (message.type === "heartbeat-resp") {
      envelope.heartbeatResponses.push({ group, term: message.term, readSeq: message.readSeq });
    } else {
      envelope.messages.push({ group, message });
    }
  }
  return [...byDestination.values()];
}

/** The per-group messages an envelope carries (heartbeats first, then responses, then the rest in order). */
export function expandEnvelope(envelope: BrokerEnvelope): GroupMessage[] {
  const { from, to } = envelope;
  const out: GroupMessage[] = [];
  for (const hb of envelope.heartbeats) {
    out.push({ group: hb.group, message: { type: "heartbeat", from, to, term: hb.term, commit: hb.commit, readSeq: hb.readSeq } });
  }
  for (const hr of envelope.heartbeatResponses) {
    out.push({ group: hr.group, message: { type: "heartbeat-resp", from, to, term: hr.term, readSeq: hr.readSeq } });
  }
  for (const gm of envelope.messages) {
    assert(gm.message.from === from && gm.message.to === to, "envelope carries a message of another broker pair");
    out.push(gm);
  }
  return out;
}

/**
 * What a broker's multi-group driver looks like (implemented outside the pure core, with
 * timers, the partition log and a transport). Per tick it:
 *   1. calls tick() on every hosted group, then steps every message received since the
 *      last tick (expandEnvelope) into its group;
 *   2. collects ready() from every group that hasReady(), writes all their entries and hard
 *      states, and issues one fsync covering every group that needs one (group commit);
 *   3. sends the coalesced outbox (coalesceOutbox) - one transport message per peer broker;
 *   4. applies committed entries / snapshots / read states per group, then advance()s each.
 */
export interface MultiGroupDriver {
  /** Starts hosting a group (its storage and Raft instance are built by the driver). */
  addGroup(group: GroupId): void;
  /** Stops hosting a group after it was removed from the group's configuration. */
  removeGroup(group: GroupId): void;
  /** One logical tick for every hosted group (steps 1-4 above). */
  tick(): Promise<void>;
  /** An envelope arrived from a peer broker; its messages are stepped on the next tick. */
  receive(envelope: BrokerEnvelope): void;
}

/** One group's Ready, tagged for the driver's batched persistence and coalesced sending. */
export interface GroupReady {
  readonly group: GroupId;
  readonly ready: Ready;
}
