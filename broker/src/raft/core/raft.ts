/**
 * The Raft consensus core: a pure state machine in the style of etcd's raft library.
 *
 * Inputs: `tick()` (time), `step(message)` (the network), `propose` / `proposeConfigChange`
 * / `transferLeadership` / `readIndex` / `campaign` (the application). Outputs: a `Ready`
 * (messages to send, entries and hard state to persist, a snapshot to install, entries now
 * committed, read points) that the driver acts on and acknowledges with `advance()`. No
 * timers, sockets, files, clocks or ambient randomness: the same inputs give the same outputs.
 *
 * Roles are swapped step functions (follower / candidate (pre and real) / leader). Features:
 * randomized election timeouts, pre-vote, check-quorum (leader lease: a partitioned leader
 * steps down; a follower that hears from a leader ignores vote requests), pipelined
 * replication bounded by messages and bytes in flight per follower, fast backtracking by
 * term, commit only of current-term entries by quorum, leadership transfer, learners,
 * one-server-at-a-time membership changes (configuration.ts), snapshots, read index.
 *
 * The Ready contract (what keeps acknowledged data safe):
 *   1. write `snapshot`, `entries` (overwriting any conflicting suffix) and `hardState` to
 *      storage, and make them durable (fsync) when `mustSync`;
 *   2. only then send `messages` (a vote or an append acknowledgement promises durability);
 *   3. apply `committedEntries` (and the snapshot) to the state machine, serve `readStates`
 *      once applied >= their index;
 *   4. call `advance()`. The leader counts its own log toward commit only from here: an
 *      offset is committed once a majority of voters has it durably.
 * `step`, `tick` and proposals may be called while a Ready is being handled; `ready()` must
 * not be called again before `advance()` (hasReady() answers false in between).
 *
 * Invariants (asserted, or checked by the simulator): at most one leader per term; a node
 * votes at most once per term; committed entries are never truncated; commit never moves
 * backwards; entries are committed by counting replicas only in the leader's current term.
 */
import { assert, type Offset } from "@sluice/protocol";
import { applyConfigChange, ConfigHistory } from "./configuration.js";
import {
  ConfigChangeBusyError,
  InvalidRaftMessageError,
  InvalidRaftOptionsError,
  InvalidRaftRequestError,
  LeadershipTransferInProgressError,
  NotLeaderError,
  ReadIndexBackpressureError,
  UncommittedBytesLimitError,
} from "./errors.js";
import { raftLimits } from "./limits.js";
import { RaftLog, UNKNOWN_TERM } from "./log.js";
import type {
  AppendMessage,
  AppendResponse,
  HeartbeatMessage,
  HeartbeatResponse,
  Message,
  ReadIndexRequest,
  SnapshotMessage,
  VoteRequest,
  VoteResponse,
} from "./messages.js";
import { Progress, type ProgressState } from "./progress.js";
import { quorumValue, voteOutcome } from "./quorum.js";
import type { Random } from "./random.js";
import type { RaftStorage } from "./storage.js";
import {
  NO_NODE,
  type ConfigChange,
  type ConfigEntry,
  type Configuration,
  type DataEntry,
  type Entry,
  type HardState,
  type NodeId,
  type NoopEntry,
  type ReadState,
  type Role,
  type Snapshot,
  type SoftState,
  type Term,
} from "./types.js";

export interface RaftOptions {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  /** Seeded randomness for election timeout jitter. */
  readonly random: Random;
  readonly electionTimeoutTicks?: number;
  readonly heartbeatTicks?: number;
  /** Pre-vote (default on): a node only bumps its term after a majority says it could win. */
  readonly preVote?: boolean;
  /** Check-quorum (default on): leaders step down without a recently active quorum; followers in a lease ignore votes. */
  readonly checkQuorum?: boolean;
  readonly inflightMessagesMax?: number;
  readonly inflightBytesMax?: number;
  readonly appendBytesMax?: number;
  readonly appendEntriesMax?: number;
  readonly uncommittedBytesMax?: number;
  readonly committedBytesPerReadyMax?: number;
  readonly pendingReadsMax?: number;
  /** Highest offset the application's state already includes (a restart with a persisted state machine). */
  readonly applied?: Offset;
}

/** What the driver must do next; see the contract at the top of this file. */
export interface Ready {
  /** Non-null when the leader or this node's role changed. */
  readonly softState: SoftState | null;
  /** Non-null when term, vote or commit changed: persist it. */
  readonly hardState: HardState | null;
  /** Entries to append to storage, first discarding the stored suffix from entries[0].baseOffset. */
  readonly entries: readonly Entry[];
  /** A snapshot from the leader to install (replaces the whole log and the state machine). */
  readonly snapshot: Snapshot | null;
  /** Entries to apply, in order. They are durable once this Ready's writes are. */
  readonly committedEntries: readonly Entry[];
  /** Send after the writes above are durable. */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when the writes must be fsynced before messages are sent. */
  readonly mustSync: boolean;
}

export interface ProgressStatus {
  readonly match: Offset;
  readonly next: Offset;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflightMessages: number;
  readonly inflightBytes: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: Term;
  readonly vote: NodeId;
  readonly lead: NodeId;
  readonly role: Role;
  readonly commit: Offset;
  readonly applied: Offset;
  readonly firstOffset: Offset;
  readonly lastOffset: Offset;
  readonly lastTerm: Term;
  readonly config: Configuration;
  readonly leadTransferee: NodeId;
  /** Leader only: replication state per member (self included). */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | null;
}

interface PendingRead {
  readonly seq: number;
  readonly index: number;
  readonly from: NodeId;
  readonly ctx: number;
}

interface ReadyReceipt {
  readonly lastEntry: Entry | null;
  readonly snapshotOffset: number;
  readonly committedTo: number;
}

type VoteKind = "vote" | "pre-vote";

const asOffsetValue = (n: number): Offset => n as Offset;
const asTermValue = (n: number): Term => n as Term;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidRaftOptionsError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export class Raft {
  readonly id: NodeId;
  readonly log: RaftLog;
  private readonly random: Random;
  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly inflightMessagesMax: number;
  private readonly inflightBytesMax: number;
  private readonly appendBytesMax: number;
  private readonly appendEntriesMax: number;
  private readonly uncommittedBytesMax: number;
  private readonly committedBytesPerReadyMax: number;
  private readonly pendingReadsMax: number;

  private currentTerm: Term;
  private votedFor: NodeId;
  private leader: NodeId = NO_NODE;
  private currentRole: Role = "follower";
  private roleStep: (m: Message) => void;
  private readonly configs: ConfigHistory;

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NO_NODE;
  private uncommittedBytes = 0;
  private pendingBroadcast = false;
  private msgs: Message[] = [];
  private readStatesOut: ReadState[] = [];

  private readSeq = 0;
  private pendingReads: PendingRead[] = [];
  private readonly readAcks = new Map<NodeId, number>();
  private readsAwaitingCommit: Array<{ from: NodeId; ctx: number }> = [];

  private lastHardState: HardState;
  private lastSoftState: SoftState;
  private receipt: ReadyReceipt | null = null;

  constructor(options: RaftOptions) {
    if (!Number.isSafeInteger(options.id) || options.id < 0) throw new InvalidRaftOptionsError(`node id must be an integer >= 0, got ${options.id}`);
    this.id = options.id;
    this.random = options.random;
    this.electionTimeout = positiveInteger("electionTimeoutTicks", options.electionTimeoutTicks ?? raftLimits.electionTimeoutTicks);
    this.heartbeatTimeout = positiveInteger("heartbeatTicks", options.heartbeatTicks ?? raftLimits.heartbeatTicks);
    if (this.heartbeatTimeout >= this.electionTimeout) {
      throw new InvalidRaftOptionsError(`heartbeatTicks (${this.heartbeatTimeout}) must be below electionTimeoutTicks (${this.electionTimeout})`);
    }
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.inflightMessagesMax = positiveInteger("inflightMessagesMax", options.inflightMessagesMax ?? raftLimits.inflightMessagesMax);
    this.inflightBytesMax = positiveInteger("inflightBytesMax", options.inflightBytesMax ?? raftLimits.inflightBytesMax);
    this.appendBytesMax = positiveInteger("appendBytesMax", options.appendBytesMax ?? raftLimits.appendBytesMax);
    this.appendEntriesMax = positiveInteger("appendEntriesMax", options.appendEntriesMax ?? raftLimits.appendEntriesMax);
    this.uncommittedBytesMax = positiveInteger("uncommittedBytesMax", options.uncommittedBytesMax ?? raftLimits.uncommittedBytesMax);
    this.committedBytesPerReadyMax = positiveInteger(
      "committedBytesPerReadyMax",
      options.committedBytesPerReadyMax ?? raftLimits.committedBytesPerReadyMax,
    );
    this.pendingReadsMax = positiveInteger("pendingReadsMax", options.pendingReadsMax ?? raftLimits.pendingReadsMax);

    const storage = options.storage;
    const initial = storage.initialState();
    const snapshotMeta = storage.snapshotMeta();
    this.log = new RaftLog(storage, initial.hardState.commit, options.applied ?? snapshotMeta.offset);
    this.configs = new ConfigHistory(snapshotMeta.offset, snapshotMeta.config);
    for (const entry of initial.configEntries) this.configs.push(entry.lastOffset, entry.config);
    this.configs.compactTo(this.log.committed);

    this.currentTerm = initial.hardState.term;
    this.votedFor = initial.hardState.vote;
    this.lastHardState = initial.hardState;
    this.roleStep = this.stepFollower;
    this.becomeFollower(this.currentTerm, NO_NODE);
    this.lastSoftState = { lead: NO_NODE, role: "follower" };
  }

  // ---------------------------------------------------------------- observers

  get term(): Term {
    return this.currentTerm;
  }

  get vote(): NodeId {
    return this.votedFor;
  }

  get lead(): NodeId {
    return this.leader;
  }

  get role(): Role {
    return this.currentRole;
  }

  get committed(): Offset {
    return asOffsetValue(this.log.committed);
  }

  get config(): Configuration {
    return this.configs.current();
  }

  /** The voter this leader is handing leadership to (NO_NODE when none). */
  get transferee(): NodeId {
    return this.leadTransferee;
  }

  lastOffset(): Offset {
    return asOffsetValue(this.log.lastOffset());
  }

  /** Term of the entry ending at `offset` (or the snapshot term at the snapshot offset); -1 if unknown. */
  termAtBoundary(offset: number): number {
    return this.log.termAtBoundary(offset);
  }

  /** Whether this node is a voter in the configuration in force. */
  promotable(): boolean {
    return this.configs.current().voters.includes(this.id);
  }

  /**
   * Whether this node may start an election: it is a voter, or the change removing (or
   * demoting) it is not yet committed and it was a voter before it. The second case keeps
   * the group live when a leader steps down (check-quorum) while its own removal is still
   * uncommitted: its log may be the only one holding that change, so the remaining voters
   * cannot win without it, and it must be able to win, commit the change, and step down.
   * Safe because votes are always counted in the candidate's newest configuration, whose
   * majorities intersect those of the previous one (one server changed).
   */
  private mayCampaign(): boolean {
    if (this.promotable()) return true;
    const previous = this.configs.previous();
    return previous !== null && this.configs.latestOffset() > this.log.committed && previous.voters.includes(this.id);
  }

  status(): RaftStatus {
    let progress: Map<NodeId, ProgressStatus> | null = null;
    if (this.currentRole === "leader") {
      progress = new Map();
      for (const [id, pr] of this.progress) {
        progress.set(id, {
          match: asOffsetValue(pr.match),
          next: asOffsetValue(pr.next),
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          inflightMessages: pr.inflights.messages(),
          inflightBytes: pr.inflights.inflightBytes(),
        });
      }
    }
    return {
      id: this.id,
      term: this.currentTerm,
      vote: this.votedFor,
      lead: this.leader,
      role: this.currentRole,
      commit: asOffsetValue(this.log.committed),
      applied: asOffsetValue(this.log.applied),
      firstOffset: asOffsetValue(this.log.firstOffset()),
      lastOffset: asOffsetValue(this.log.lastOffset()),
      lastTerm: asTermValue(this.log.lastTerm()),
      config: this.configs.current(),
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  // ---------------------------------------------------------------- application inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.currentRole === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (with pre-vote when enabled), as if the election timeout had fired. */
  campaign(): void {
    this.hup(false);
  }

  /**
   * Appends a record batch of `recordCount` records as a new entry; returns the entry with
   * its assigned offsets and term (the batch's base offset and leader epoch to stamp).
   * It is acknowledged when it appears in a Ready's committedEntries.
   */
  propose(data: Uint8Array, recordCount: number, sizeBytes: number = data.byteLength): DataEntry {
    this.checkCanPropose();
    if (!Number.isSafeInteger(recordCount) || recordCount < 1 || recordCount > 0x7fffffff) {
      throw new InvalidRaftRequestError(`recordCount must be an integer in [1, 2^31), got ${recordCount}`);
    }
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidRaftRequestError(`sizeBytes must be >= 0, got ${sizeBytes}`);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + sizeBytes > this.uncommittedBytesMax) {
      throw new UncommittedBytesLimitError(this.uncommittedBytes, this.uncommittedBytesMax);
    }
    const base = this.log.lastOffset() + 1;
    const entry: DataEntry = {
      kind: "data",
      term: this.currentTerm,
      baseOffset: asOffsetValue(base),
      lastOffset: asOffsetValue(base + recordCount - 1),
      sizeBytes,
      data,
    };
    this.appendAsLeader(entry);
    return entry;
  }

  /** Proposes one membership change (see configuration.ts for when this is allowed). */
  proposeConfigChange(change: ConfigChange): ConfigEntry {
    this.checkCanPropose();
    if (!this.committedInCurrentTerm()) {
      throw new ConfigChangeBusyError("leader-not-committed-in-term", `commit ${this.log.committed} has no entry of term ${this.currentTerm}`);
    }
    if (this.configs.latestOffset() > this.log.committed) {
      throw new ConfigChangeBusyError("change-pending", `configuration at ${this.configs.latestOffset()} is not committed`);
    }
    const config = applyConfigChange(this.configs.current(), change);
    if (change.type === "promote-learner") {
      const pr = this.progress.get(change.node);
      if (pr === undefined || pr.match < this.log.committed) {
        throw new ConfigChangeBusyError("learner-lagging", `learner ${change.node} matches ${pr?.match ?? -1} < commit ${this.log.committed}`);
      }
    }
    const offset = asOffsetValue(this.log.lastOffset() + 1);
    const entry: ConfigEntry = {
      kind: "config",
      term: this.currentTerm,
      baseOffset: offset,
      lastOffset: offset,
      sizeBytes: raftLimits.controlEntryBytes,
      change,
      config,
    };
    this.appendAsLeader(entry);
    return entry;
  }

  /** Hands leadership to voter `to` (catching it up first); proposals are refused meanwhile. */
  transferLeadership(to: NodeId): void {
    if (this.currentRole !== "leader") throw new NotLeaderError(this.leader);
    if (to === this.id) return;
    if (!this.configs.current().voters.includes(to)) throw new InvalidRaftRequestError(`node ${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    // The transfer must finish within one election timeout or it is abandoned (tickHeartbeat).
    this.electionElapsed = 0;
    const pr = this.progress.get(to);
    assert(pr !== undefined, "voter without progress");
    if (pr.match === this.log.lastOffset()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
  }

  /**
   * Asks for a linearizable read point tagged `ctx`. It arrives as a ReadState in a later
   * Ready (possibly never, if leadership is lost: retry after a timeout). Followers forward
   * the request to the leader.
   */
  readIndex(ctx: number): void {
    if (this.currentRole === "leader") {
      this.leaderReadIndex(this.id, ctx, true);
    } else if (this.leader !== NO_NODE) {
      this.send<ReadIndexRequest>({ type: "read-index", from: this.id, to: this.leader, term: this.currentTerm, ctx });
    } else {
      throw new NotLeaderError(NO_NODE, "no leader known to serve a read index");
    }
  }

  /** The driver could not reach `to`: stop pipelining to it and probe instead. */
  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (this.currentRole === "leader" && pr !== undefined && pr.state === "replicate") pr.becomeProbe();
  }

  /** The driver learned whether a snapshot reached `to` (e.g. a streaming failure). */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.currentRole !== "leader" || pr === undefined || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = -1;
    pr.becomeProbe();
    pr.probeSent = true; // wait for the follower's answer (or the next heartbeat) before probing
  }

  // ---------------------------------------------------------------- Ready / advance

  hasReady(): boolean {
    if (this.receipt !== null) return false;
    if (this.pendingBroadcast || this.msgs.length > 0 || this.readStatesOut.length > 0) return true;
    if (this.log.unstableEntries().length > 0 || this.log.pendingSnapshot() !== null) return true;
    if (this.log.hasNextCommittedEntries()) return true;
    const hs = this.lastHardState;
    if (hs.term !== this.currentTerm || hs.vote !== this.votedFor || hs.commit !== this.log.committed) return true;
    const ss = this.lastSoftState;
    return ss.lead !== this.leader || ss.role !== this.currentRole;
  }

  ready(): Ready {
    assert(this.receipt === null, "ready() called again before advance()");
    if (this.pendingBroadcast) {
      this.pendingBroadcast = false;
      this.flushBroadcast();
    }
    const entries = this.log.unstableEntries().slice();
    const snapshot = this.log.pendingSnapshot();
    const committedEntries = this.log.nextCommittedEntries(this.committedBytesPerReadyMax);
    const prevHs = this.lastHardState;
    let hardState: HardState | null = null;
    if (prevHs.term !== this.currentTerm || prevHs.vote !== this.votedFor || prevHs.commit !== this.log.committed) {
      hardState = { term: this.currentTerm, vote: this.votedFor, commit: asOffsetValue(this.log.committed) };
      this.lastHardState = hardState;
    }
    let softState: SoftState | null = null;
    if (this.lastSoftState.lead !== this.leader || this.lastSoftState.role !== this.currentRole) {
      softState = { lead: this.leader, role: this.currentRole };
      this.lastSoftState = softState;
    }
    const messages = this.msgs;
    this.msgs = [];
    const readStates = this.readStatesOut;
    this.readStatesOut = [];
    const mustSync =
      entries.length > 0 || snapshot !== null || (hardState !== null && (hardState.term !== prevHs.term || hardState.vote !== prevHs.vote));
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      this.log.applyingTo(lastCommitted.lastOffset);
      if (this.currentRole === "leader") {
        for (const entry of committedEntries) if (entry.term === this.currentTerm) this.uncommittedBytes -= entry.sizeBytes;
        if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
      }
    }
    this.receipt = {
      lastEntry: entries[entries.length - 1] ?? null,
      snapshotOffset: snapshot === null ? -1 : snapshot.meta.offset,
      committedTo: lastCommitted === undefined ? -1 : lastCommitted.lastOffset,
    };
    return { softState, hardState, entries, snapshot, committedEntries, messages, readStates, mustSync };
  }

  /** The driver has persisted, sent and applied the last Ready. */
  advance(): void {
    const receipt = this.receipt;
    assert(receipt !== null, "advance() without an outstanding Ready");
    this.receipt = null;
    if (receipt.snapshotOffset >= 0) {
      this.log.stableSnapTo(receipt.snapshotOffset);
      this.log.appliedTo(receipt.snapshotOffset);
    }
    if (receipt.lastEntry !== null) this.log.stableTo(receipt.lastEntry.lastOffset, receipt.lastEntry.term);
    if (receipt.committedTo >= 0) this.log.appliedTo(receipt.committedTo);
    if (this.currentRole === "leader") {
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.stableLastOffset())) this.maybeCommit();
    }
  }

  // ---------------------------------------------------------------- network input

  step(m: Message): void {
    this.validate(m);
    if (m.term > this.currentTerm) {
      if (m.type === "vote" || m.type === "pre-vote") {
        const inLease = this.checkQuorum && this.leader !== NO_NODE && this.electionElapsed < this.electionTimeout;
        // A leader is alive: a node rejoining with a higher term must not disrupt it.
        if (!m.transfer && inLease) return;
      }
      if (m.type === "pre-vote") {
        // Never change our term because of a pre-vote.
      } else if (m.type === "pre-vote-resp" && !m.reject) {
        // Granted pre-votes echo the future term we asked about; we move there only if we win.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NO_NODE);
      }
    } else if (m.term < this.currentTerm) {
      if ((this.checkQuorum || this.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // A stale leader (e.g. just out of a partition) learns our term and steps down. Without
        // this, a node that bumped its term could never be reached again under pre-vote.
        this.send<AppendResponse>({
          type: "append-resp",
          from: this.id,
          to: m.from,
          term: this.currentTerm,
          reject: true,
          matchOffset: asOffsetValue(-1),
          rejectHint: asOffsetValue(-1),
          hintTerm: asTermValue(0),
        });
      } else if (m.type === "pre-vote") {
        this.send<VoteResponse>({ type: "pre-vote-resp", from: this.id, to: m.from, term: this.currentTerm, reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "pre-vote") {
      this.handleVoteRequest(m);
      return;
    }
    this.roleStep(m);
  }

  /** Rejects malformed input with a typed error before any state changes (see InvalidRaftMessageError). */
  private validate(m: Message): void {
    const offset = (x: number): boolean => Number.isSafeInteger(x) && x >= -1;
    if (m.to !== this.id) throw new InvalidRaftMessageError(`${m.type} for node ${m.to} delivered to node ${this.id}`);
    if (!Number.isSafeInteger(m.term) || m.term < 0) throw new InvalidRaftMessageError(`${m.type} with term ${m.term}`);
    if (m.type === "append") {
      if (!offset(m.prevOffset) || !offset(m.commit) || !Number.isSafeInteger(m.prevTerm) || m.prevTerm < 0 || m.prevTerm > m.term) {
        throw new InvalidRaftMessageError(`append with prev ${m.prevOffset}@${m.prevTerm}, commit ${m.commit}, term ${m.term}`);
      }
      let expected = m.prevOffset + 1;
      let term = m.prevTerm;
      for (const entry of m.entries) {
        const wellFormed =
          entry.baseOffset === expected &&
          Number.isSafeInteger(entry.lastOffset) &&
          entry.lastOffset >= entry.baseOffset &&
          Number.isSafeInteger(entry.term) &&
          entry.term >= term &&
          entry.term <= m.term &&
          Number.isSafeInteger(entry.sizeBytes) &&
          entry.sizeBytes >= 0;
        if (!wellFormed) throw new InvalidRaftMessageError(`append entry ${entry.baseOffset}..${entry.lastOffset}@${entry.term} after ${expected - 1}@${term}`);
        expected = entry.lastOffset + 1;
        term = entry.term;
      }
    } else if (m.type === "snapshot") {
      const meta = m.snapshot.meta;
      if (!offset(meta.offset) || !Number.isSafeInteger(meta.term) || meta.term < 0 || meta.term > m.term) {
        throw new InvalidRaftMessageError(`snapshot at ${meta.offset}@${meta.term} in term ${m.term}`);
      }
    } else if (m.type === "append-resp") {
      if (!offset(m.matchOffset) || !Number.isSafeInteger(m.rejectHint) || !Number.isSafeInteger(m.hintTerm)) {
        throw new InvalidRaftMessageError(`append-resp with match ${m.matchOffset}, hint ${m.rejectHint}@${m.hintTerm}`);
      }
      if (!m.reject && this.currentRole === "leader" && m.term === this.currentTerm && m.matchOffset >= this.log.firstOffset()) {
        // An acknowledgement names the end of an entry this leader sent.
        if (this.log.termAtBoundary(m.matchOffset) === UNKNOWN_TERM) {
          throw new InvalidRaftMessageError(`append-resp acknowledges ${m.matchOffset}, not an entry end in the leader's log (last ${this.log.lastOffset()})`);
        }
      }
    } else if (m.type === "heartbeat" || m.type === "read-index-resp") {
      const at = m.type === "heartbeat" ? m.commit : m.index;
      if (!offset(at)) throw new InvalidRaftMessageError(`${m.type} with offset ${at}`);
    } else if (m.type === "vote" || m.type === "pre-vote") {
      if (!offset(m.lastOffset) || !Number.isSafeInteger(m.lastTerm) || m.lastTerm < 0) {
        throw new InvalidRaftMessageError(`${m.type} with last ${m.lastOffset}@${m.lastTerm}`);
      }
    }
  }

  // ---------------------------------------------------------------- hooks (overridden only by the simulator's mutants)

  /**
   * Whether the leader may commit everything up to `offset` because a quorum has it. Raft
   * (section 5.4.2): only entries of the leader's current term are committed by counting
   * replicas; earlier entries commit indirectly, with them.
   */
  protected mayCommitByQuorum(offset: number): boolean {
    return this.log.termAtBoundary(offset) === this.currentTerm;
  }

  /** A new leader appends a leader-change entry so that it can commit in its own term at once. */
  protected appendLeaderNoop(): void {
    const offset = asOffsetValue(this.log.lastOffset() + 1);
    const noop: NoopEntry = { kind: "noop", term: this.currentTerm, baseOffset: offset, lastOffset: offset, sizeBytes: raftLimits.controlEntryBytes };
    this.appendAsLeader(noop);
  }

  /** Whether a voter's log at (lastOffset, lastTerm) is at least as up to date as ours (section 5.4.1). */
  protected candidateLogIsUpToDate(lastOffset: number, lastTerm: number): boolean {
    return this.log.isUpToDate(lastOffset, lastTerm);
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term);
    this.leader = lead;
    this.currentRole = "follower";
    this.roleStep = this.stepFollower;
  }

  private becomePreCandidate(): void {
    assert(this.currentRole !== "leader", "a leader cannot pre-campaign");
    // No term change and no vote: a pre-vote round leaves no trace if it fails.
    this.votes.clear();
    this.leader = NO_NODE;
    this.currentRole = "pre-candidate";
    this.roleStep = this.stepCandidate;
  }

  private becomeCandidate(): void {
    assert(this.currentRole !== "leader", "a leader cannot campaign");
    this.reset(asTermValue(this.currentTerm + 1));
    this.votedFor = this.id;
    this.currentRole = "candidate";
    this.roleStep = this.stepCandidate;
  }

  private becomeLeader(): void {
    assert(this.currentRole === "candidate", "only a candidate becomes leader");
    this.reset(this.currentTerm);
    this.leader = this.id;
    this.currentRole = "leader";
    this.roleStep = this.stepLeader;
    const config = this.configs.current();
    const next = this.log.lastOffset() + 1;
    for (const id of config.voters) this.progress.set(id, this.newProgress(next, false));
    for (const id of config.learners) this.progress.set(id, this.newProgress(next, true));
    let self = this.progress.get(this.id);
    if (self === undefined) {
      self = this.newProgress(next, false);
      this.progress.set(this.id, self);
    }
    self.becomeReplicate();
    self.match = -1;
    self.maybeUpdate(this.log.stableLastOffset());
    self.recentActive = true;
    this.appendLeaderNoop();
    this.pendingBroadcast = true;
  }

  private reset(term: Term): void {
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = NO_NODE;
    }
    this.leader = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.random.nextInt(this.electionTimeout);
    this.leadTransferee = NO_NODE;
    this.votes.clear();
    this.progress.clear();
    this.uncommittedBytes = 0;
    this.pendingBroadcast = false;
    this.pendingReads = [];
    this.readAcks.clear();
    this.readsAwaitingCommit = [];
  }

  private newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, this.inflightMessagesMax, this.inflightBytesMax);
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.mayCampaign() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumRecentlyActive()) {
        this.becomeFollower(this.currentTerm, NO_NODE);
        return;
      }
      if (this.leadTransferee !== NO_NODE) this.leadTransferee = NO_NODE;
    }
    const snapshotRetryTicks = this.electionTimeout * raftLimits.snapshotRetryElectionTimeouts;
    for (const pr of this.progress.values()) {
      if (pr.state === "snapshot" && ++pr.snapshotTicks >= snapshotRetryTicks) pr.becomeProbe();
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumRecentlyActive(): boolean {
    const voters = this.configs.current().voters;
    const active = quorumValue(voters, (id) => (id === this.id || this.progress.get(id)?.recentActive === true ? 1 : 0));
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return active === 1;
  }

  // ---------------------------------------------------------------- elections

  private hup(transfer: boolean): void {
    if (this.currentRole === "leader" || !this.mayCampaign()) return;
    if (this.preVote && !transfer) this.startCampaign("pre-vote", false);
    else this.startCampaign("vote", transfer);
  }

  private startCampaign(kind: VoteKind, transfer: boolean): void {
    let voteTerm: Term;
    if (kind === "pre-vote") {
      this.becomePreCandidate();
      voteTerm = asTermValue(this.currentTerm + 1);
    } else {
      this.becomeCandidate();
      voteTerm = this.currentTerm;
    }
    const voters = this.configs.current().voters;
    this.votes.set(this.id, true);
    if (voteOutcome(voters, this.votes) === "won") {
      if (kind === "pre-vote") this.startCampaign("vote", transfer);
      else this.becomeLeader();
      return;
    }
    const lastOffset = asOffsetValue(this.log.lastOffset());
    const lastTerm = asTermValue(this.log.lastTerm());
    for (const to of voters) {
      if (to === this.id) continue;
      this.send<VoteRequest>({ type: kind, from: this.id, to, term: voteTerm, lastOffset, lastTerm, transfer });
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === NO_NODE && this.leader === NO_NODE) ||
      (m.type === "pre-vote" && m.term > this.currentTerm);
    const respType = m.type === "vote" ? "vote-resp" : "pre-vote-resp";
    if (canVote && this.candidateLogIsUpToDate(m.lastOffset, m.lastTerm)) {
      // A granted pre-vote echoes the candidate's future term; a real vote is cast in our (equal) term.
      this.send<VoteResponse>({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send<VoteResponse>({ type: respType, from: this.id, to: m.from, term: this.currentTerm, reject: true });
    }
  }

  // ---------------------------------------------------------------- step functions

  private readonly stepFollower = (m: Message): void => {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        break;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        break;
      case "snapshot":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        break;
      case "timeout-now":
        // Leadership transfer: campaign at once, skipping pre-vote and breaking leases.
        this.hup(true);
        break;
      case "read-index-resp":
        this.readStatesOut.push({ index: m.index, ctx: m.ctx });
        break;
      default:
        break;
    }
  };

  private readonly stepCandidate = (m: Message): void => {
    const myResponse = this.currentRole === "pre-candidate" ? "pre-vote-resp" : "vote-resp";
    switch (m.type) {
      case "append":
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        break;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        break;
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        break;
      case "vote-resp":
      case "pre-vote-resp": {
        if (m.type !== myResponse) break;
        if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
        const outcome = voteOutcome(this.configs.current().voters, this.votes);
        if (outcome === "won") {
          if (this.currentRole === "pre-candidate") this.startCampaign("vote", false);
          else this.becomeLeader();
        } else if (outcome === "lost") {
          this.becomeFollower(this.currentTerm, NO_NODE);
        }
        break;
      }
      default:
        break;
    }
  };

  private readonly stepLeader = (m: Message): void => {
    switch (m.type) {
      case "append-resp":
        this.handleAppendResponse(m);
        break;
      case "heartbeat-resp":
        this.handleHeartbeatResponse(m);
        break;
      case "read-index":
        this.leaderReadIndex(m.from, m.ctx, false);
        break;
      default:
        break;
    }
  };

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: AppendMessage): void {
    if (m.prevOffset < this.log.committed) {
      // Everything up to our commit point is already known to match.
      this.sendAppendResponse(m.from, false, this.log.committed, -1, 0);
      return;
    }
    const result = this.log.maybeAppend(m.prevOffset, m.prevTerm, m.commit, m.entries);
    if (result === null) {
      const hint = this.log.findConflictByTerm(Math.min(m.prevOffset, this.log.lastOffset()), m.prevTerm);
      this.sendAppendResponse(m.from, true, m.prevOffset, hint.offset, hint.term);
      return;
    }
    let configChanged = false;
    if (result.truncatedAt >= 0) configChanged = this.configs.truncateFrom(result.truncatedAt);
    if (result.appendedFrom >= 0) {
      for (let i = result.appendedFrom; i < m.entries.length; i++) {
        const entry = m.entries[i] as Entry;
        if (entry.kind === "config") {
          this.configs.push(entry.lastOffset, entry.config);
          configChanged = true;
        }
      }
    }
    if (configChanged) this.onConfigChanged();
    this.configs.compactTo(this.log.committed);
    this.sendAppendResponse(m.from, false, result.lastNewOffset, -1, 0);
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    this.send<HeartbeatResponse>({ type: "heartbeat-resp", from: this.id, to: m.from, term: this.currentTerm, readSeq: m.readSeq });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    if (this.restore(m.snapshot)) this.sendAppendResponse(m.from, false, this.log.lastOffset(), -1, 0);
    else this.sendAppendResponse(m.from, false, this.log.committed, -1, 0);
  }

  private restore(snapshot: Snapshot): boolean {
    const { offset, term, config } = snapshot.meta;
    if (offset <= this.log.committed) return false;
    if (this.log.matchTerm(offset, term)) {
      // We already have the snapshot's last entry: just learn that it is committed.
      this.log.commitTo(offset);
      this.configs.compactTo(this.log.committed);
      return false;
    }
    this.log.restore(snapshot);
    this.configs.reset(offset, config);
    this.onConfigChanged();
    return true;
  }

  private sendAppendResponse(to: NodeId, reject: boolean, matchOffset: number, hint: number, hintTerm: number): void {
    this.send<AppendResponse>({
      type: "append-resp",
      from: this.id,
      to,
      term: this.currentTerm,
      reject,
      matchOffset: asOffsetValue(matchOffset),
      rejectHint: asOffsetValue(hint),
      hintTerm: asTermValue(hintTerm),
    });
  }

  // ---------------------------------------------------------------- leader handlers

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: skip every entry whose term exceeds the follower's hint term, and
      // always move strictly below the rejected prevOffset.
      let hint = this.log.findConflictByTerm(m.rejectHint, m.hintTerm).offset;
      hint = Math.min(hint, this.log.boundaryAtOrBefore(m.matchOffset - 1));
      if (pr.maybeDecrTo(m.matchOffset, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    if (!pr.maybeUpdate(m.matchOffset)) return;
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot") {
      if (pr.match >= pr.pendingSnapshot) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
    } else {
      pr.inflights.freeLE(m.matchOffset);
    }
    this.maybeCommit();
    if (this.currentRole !== "leader") return; // a committed config change removed us
    while (this.sendAppend(m.from, false)) {
      // pipeline as much as the in-flight bounds allow
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastOffset()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends may have been lost: when the window is blocked, free a slot so the next append
    // goes out and, if there is a gap, the follower's rejection reveals it.
    if (pr.state === "replicate" && pr.inflights.messages() > 0) {
      const nextEntry = this.log.entryContaining(pr.next);
      if (pr.inflights.full() || (nextEntry !== undefined && nextEntry.sizeBytes > pr.inflights.bytesAvailable())) pr.inflights.freeFirst();
    }
    if (pr.match < this.log.lastOffset()) this.sendAppend(m.from, true);
    if (m.readSeq > 0) this.readAcknowledged(m.from, m.readSeq);
  }

  private maybeCommit(): boolean {
    const voters = this.configs.current().voters;
    const quorum = quorumValue(voters, (id) => this.progress.get(id)?.match ?? -1);
    if (quorum <= this.log.committed || !this.mayCommitByQuorum(quorum)) return false;
    this.log.commitTo(quorum);
    this.onCommitAdvanced();
    return true;
  }

  private onCommitAdvanced(): void {
    this.configs.compactTo(this.log.committed);
    if (this.currentRole !== "leader") return;
    if (!this.promotable() && this.configs.latestOffset() <= this.log.committed) {
      // The change that removed (or demoted) us is committed: stop leading.
      this.becomeFollower(this.currentTerm, NO_NODE);
      return;
    }
    if (this.readsAwaitingCommit.length > 0 && this.committedInCurrentTerm()) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const read of waiting) this.leaderReadIndex(read.from, read.ctx, false);
    }
  }

  private committedInCurrentTerm(): boolean {
    return this.log.termAt(this.log.committed) === this.currentTerm;
  }

  private checkCanPropose(): void {
    if (this.currentRole !== "leader") throw new NotLeaderError(this.leader);
    if (this.leadTransferee !== NO_NODE) throw new LeadershipTransferInProgressError(this.leadTransferee);
  }

  private appendAsLeader(entry: Entry): void {
    this.log.append([entry]);
    this.uncommittedBytes += entry.sizeBytes;
    if (entry.kind === "config") {
      this.configs.push(entry.lastOffset, entry.config);
      // New members are first sent the entry that adds them (their probe starts there).
      this.onConfigChanged(entry.baseOffset);
    }
    this.pendingBroadcast = true;
  }

  /** The configuration in force changed (appended, truncated or restored). */
  private onConfigChanged(nextForNewMembers = this.log.lastOffset() + 1): void {
    if (this.currentRole !== "leader") return;
    const config = this.configs.current();
    const next = nextForNewMembers;
    for (const [ids, learner] of [
      [config.voters, false],
      [config.learners, true],
    ] as const) {
      for (const id of ids) {
        const pr = this.progress.get(id);
        if (pr === undefined) {
          const added = this.newProgress(next, learner);
          // A new member gets the benefit of the doubt until the next check-quorum round.
          added.recentActive = true;
          this.progress.set(id, added);
        } else {
          pr.isLearner = learner;
        }
      }
    }
    for (const id of [...this.progress.keys()]) {
      if (id !== this.id && !config.voters.includes(id) && !config.learners.includes(id)) this.progress.delete(id);
    }
    if (this.leadTransferee !== NO_NODE && !config.voters.includes(this.leadTransferee)) this.leadTransferee = NO_NODE;
    // A smaller quorum may already have what a larger one lacked.
    this.maybeCommit();
  }

  private flushBroadcast(): void {
    for (const [to, pr] of this.progress) {
      if (to === this.id) continue;
      // Fill the pipeline (replicate state) or send the one probe (probe state).
      while (this.sendAppend(to, false) && pr.state === "replicate") {
        // keep sending until the in-flight window or the log runs out
      }
    }
  }

  /** Sends the next append (or a snapshot) to `to`; false when paused or nothing to send. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevOffset = pr.next - 1;
    const prevTerm = this.log.termAtBoundary(prevOffset);
    if (prevTerm === UNKNOWN_TERM) {
      assert(prevOffset < this.log.snapshotOffset(), `leader's next-1 (${prevOffset}) for ${to} is not an entry boundary`);
      return this.sendSnapshot(to, pr);
    }
    const pipelining = pr.state === "replicate";
    const budget = pipelining ? Math.min(this.appendBytesMax, pr.inflights.bytesAvailable()) : this.appendBytesMax;
    const entries = pr.next <= this.log.lastOffset() ? this.log.entriesFrom(pr.next, budget, this.appendEntriesMax) : [];
    // The byte bound is strict while anything is in flight: an entry larger than the room
    // left waits for acknowledgements (it goes alone once the window is empty).
    if (pipelining && entries.length > 0 && pr.inflights.messages() > 0 && (entries[0] as Entry).sizeBytes > pr.inflights.bytesAvailable()) return false;
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send<AppendMessage>({
      type: "append",
      from: this.id,
      to,
      term: this.currentTerm,
      prevOffset: asOffsetValue(prevOffset),
      prevTerm: asTermValue(prevTerm),
      entries,
      commit: asOffsetValue(this.log.committed),
    });
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      let bytes = 0;
      for (const entry of entries) bytes += entry.sizeBytes;
      pr.sentEntries(last.lastOffset, bytes);
    } else if (pr.state === "probe") {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Do not stream snapshots at peers that may be down; a heartbeat response revives them.
    if (!pr.recentActive) return false;
    const snapshot = this.log.storage.snapshot();
    this.send<SnapshotMessage>({ type: "snapshot", from: this.id, to, term: this.currentTerm, snapshot });
    pr.becomeSnapshot(snapshot.meta.offset);
    return true;
  }

  private bcastHeartbeat(): void {
    const readSeq = this.pendingReads.length > 0 ? this.readSeq : 0;
    for (const [to, pr] of this.progress) {
      if (to === this.id) continue;
      this.send<HeartbeatMessage>({
        type: "heartbeat",
        from: this.id,
        to,
        term: this.currentTerm,
        // Never tell a follower to commit beyond what it is known to hold.
        commit: asOffsetValue(Math.min(pr.match, this.log.committed)),
        readSeq,
      });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeout-now", from: this.id, to, term: this.currentTerm });
  }

  // ---------------------------------------------------------------- read index

  private leaderReadIndex(from: NodeId, ctx: number, local: boolean): void {
    if (!this.committedInCurrentTerm()) {
      // Our commit point may be stale until an entry of our term commits.
      if (this.readsAwaitingCommit.length >= this.pendingReadsMax) {
        if (local) throw new ReadIndexBackpressureError(this.readsAwaitingCommit.length);
        return;
      }
      this.readsAwaitingCommit.push({ from, ctx });
      return;
    }
    const voters = this.configs.current().voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.respondToRead(from, ctx, this.log.committed);
      return;
    }
    if (this.pendingReads.length >= this.pendingReadsMax) {
      if (local) throw new ReadIndexBackpressureError(this.pendingReads.length);
      return;
    }
    this.readSeq++;
    this.pendingReads.push({ seq: this.readSeq, index: this.log.committed, from, ctx });
    this.bcastHeartbeat();
  }

  private readAcknowledged(from: NodeId, seq: number): void {
    if ((this.readAcks.get(from) ?? 0) < seq) this.readAcks.set(from, seq);
    if (this.pendingReads.length === 0) return;
    const voters = this.configs.current().voters;
    // A read is confirmed once a quorum answered a heartbeat sent after it was registered.
    const confirmed = quorumValue(voters, (id) => (id === this.id ? Number.MAX_SAFE_INTEGER : (this.readAcks.get(id) ?? 0)));
    let released = 0;
    while (released < this.pendingReads.length && (this.pendingReads[released] as PendingRead).seq <= confirmed) {
      const read = this.pendingReads[released] as PendingRead;
      this.respondToRead(read.from, read.ctx, read.index);
      released++;
    }
    if (released > 0) this.pendingReads = this.pendingReads.slice(released);
  }

  private respondToRead(from: NodeId, ctx: number, index: number): void {
    if (from === this.id) {
      this.readStatesOut.push({ index: asOffsetValue(index), ctx });
    } else {
      this.send({ type: "read-index-resp", from: this.id, to: from, term: this.currentTerm, ctx, index: asOffsetValue(index) });
    }
  }

  private send<M extends Message>(m: M): void {
    this.msgs.push(m);
  }
}
