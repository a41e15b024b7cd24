/**
 * The vocabulary of the Raft core: terms, node ids, log entries, configurations, hard state
 * and snapshots.
 *
 * Index space = partition offsets. One entry is one record batch covering the offsets
 * [baseOffset, lastOffset] (at least one offset); entries in a log are contiguous
 * (entry i+1 starts at entry i's lastOffset + 1). An entry's term is the batch's partition
 * leader epoch. Log matching compares (lastOffset of the preceding entry, its term); every
 * offset the core compares, commits or acknowledges is an entry boundary (some entry's
 * lastOffset), or -1 for "before the first entry".
 *
 * Entries are opaque to the core except two control kinds: `noop` (the leader-change batch a
 * new leader appends so it can commit in its own term) and `config` (a membership change,
 * carrying both the change and the resulting configuration, so a follower never needs the
 * previous configuration to interpret it). Both occupy exactly one offset.
 *
 * Invariants: entries are immutable once created (they are shared between the core, storage
 * and the network in the simulator); node ids are >= 0, NO_NODE is -1.
 */
import type { Offset } from "@sluice/protocol";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A Raft term; for a partition group it is the partition leader epoch. 0 = before any election. */
export type Term = Brand<number, "Term">;
/** A replica's id; in Sluice this is the broker id hosting the replica (>= 0). */
export type NodeId = Brand<number, "NodeId">;

export const asTerm = (n: number): Term => n as Term;
export const asNodeId = (n: number): NodeId => n as NodeId;

/** "No node": no vote cast, no known leader. */
export const NO_NODE = -1 as NodeId;
/** The offset before the first entry of an empty log. */
export const BEFORE_FIRST_OFFSET = -1 as Offset;

/** Voters elect and count toward commit; learners only receive the log (they catch up before promotion). */
export interface Configuration {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * One-server-at-a-time membership changes (see configuration.ts for the safety rules).
 * `add-voter` exists for bootstrapping tiny groups; operators add a learner, wait until it has
 * caught up, then promote it.
 */
export type ConfigChange =
  | { readonly type: "add-learner"; readonly node: NodeId }
  | { readonly type: "promote-learner"; readonly node: NodeId }
  | { readonly type: "add-voter"; readonly node: NodeId }
  | { readonly type: "demote-voter"; readonly node: NodeId }
  | { readonly type: "remove-node"; readonly node: NodeId };

interface EntryCommon {
  readonly term: Term;
  readonly baseOffset: Offset;
  readonly lastOffset: Offset;
  /** Bytes the entry occupies on the wire and on disk; drives the in-flight and message bounds. */
  readonly sizeBytes: number;
}

/** A client record batch: opaque bytes. */
export interface DataEntry extends EntryCommon {
  readonly kind: "data";
  readonly data: Uint8Array;
}

/** The leader-change control batch a new leader appends (commits everything before it in its own term). */
export interface NoopEntry extends EntryCommon {
  readonly kind: "noop";
}

/** A membership change control batch; takes effect on each replica as soon as it is in its log. */
export interface ConfigEntry extends EntryCommon {
  readonly kind: "config";
  readonly change: ConfigChange;
  readonly config: Configuration;
}

export type Entry = DataEntry | NoopEntry | ConfigEntry;

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  /** Last committed offset known to this node (-1: nothing committed). Persisting it is an optimisation. */
  readonly commit: Offset;
}

/** A snapshot covers every offset <= offset; `config` is the configuration in force at that offset. */
export interface SnapshotMeta {
  readonly offset: Offset;
  readonly term: Term;
  readonly config: Configuration;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** Opaque state-machine image (empty for partition groups, whose "snapshot" is the log start). */
  readonly data: Uint8Array;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** Volatile state the driver may want to observe (who leads, in which role are we). */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: Role;
}

/** A linearizable read point: once the state machine has applied `index`, a read tagged `ctx` may be served. */
export interface ReadState {
  readonly index: Offset;
  readonly ctx: number;
}

export const emptyConfiguration: Configuration = { voters: [], learners: [] };

export function isVoter(config: Configuration, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isLearner(config: Configuration, id: NodeId): boolean {
  return config.learners.includes(id);
}

export function isMember(config: Configuration, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}
