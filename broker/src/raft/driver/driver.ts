/**
 * The Raft runtime of one broker: hosts many groups (one per partition, plus the metadata
 * group) around the pure core, with timers, persistence and a transport.
 *
 * Loop:
 *   - One timer ticks every group every `tickMs`; groups whose tick produced work (a leader's
 *     heartbeat, an election) are marked dirty. Nothing else scans all groups.
 *   - Inbound envelopes are split per group into inboxes (groups marked dirty); proposals,
 *     reads and transfers mark their group dirty. Each marks a pass as due (setImmediate).
 *   - A pass handles only dirty groups: step inboxes, collect Readies, write them all to
 *     persistence, send at once the messages that depend on nothing unsynced (Readies that need
 *     no fsync; a leader's appends, see LEADER_MESSAGES), issue ONE fsync for all groups
 *     (group commit), then send the rest (votes, acknowledgements), apply committed
 *     entries (the state machine callback, then proposal promises), serve read states, and
 *     advance(). Outgoing messages are folded by `coalesceOutbox` into one envelope per peer
 *     broker, so the heartbeats of all groups between two brokers travel as one message per
 *     tick.
 *   - Passes never overlap; what arrives during a pass's fsync is handled by the next one.
 *
 * Safety (the core's Ready contract): a message that promises durability (a vote, a vote or
 * append response) leaves only after its Ready's entries, hard state and snapshot are durable
 * when `mustSync`; a leader's appends may overlap its own fsync (thesis 10.2.1: the leader
 * counts itself toward commit only after advance()); committed entries are applied in order;
 * advance() follows. A message the core refuses as malformed (InvalidRaftMessageError) is
 * dropped and counted. A core assertion inside one group (our bug) marks that group failed
 * (its callers are told) without stopping the others; a storage failure stops the whole
 * driver, since no group could keep its promises.
 *
 * Proposals resolve when their entry is committed (after the state machine applied it) and
 * are rejected with NotLeaderError (not appended), ProposalDroppedError (overwritten by
 * another leader's entry: will never commit) or ProposalTimeoutError (outcome unknown).
 */
import type { Offset } from "@sluice/protocol";
import type { Logger } from "pino";
import type { Message } from "../core/messages.js";
import { coalesceOutbox, expandEnvelope, type BrokerEnvelope, type GroupId, type GroupMessage, type MultiGroupDriver } from "../core/multi-group.js";
import { InvalidRaftMessageError } from "../core/errors.js";
import { Raft, type RaftOptions, type RaftStatus, type Ready } from "../core/raft.js";
import { SeededRandom } from "../core/random.js";
import type { ConfigChange, ConfigEntry, Configuration, DataEntry, Entry, NodeId, Snapshot, SoftState, Term } from "../core/types.js";
import type { Transport } from "../transport/transport.js";
import {
  DriverStoppedError,
  InvalidDriverRequestError,
  ProposalBackpressureError,
  ProposalDroppedError,
  ProposalTimeoutError,
  UnknownGroupError,
  type ProposalTimeoutReason,
} from "./errors.js";
import { driverLimits, type DriverLimits } from "./limits.js";
import type { RaftPersistence } from "./persistence.js";

/** What the application does with committed entries (called in order, after they are durable here). */
export interface RaftStateMachine {
  /** Entries now committed (data, noop and config alike), in offset order. */
  apply(group: GroupId, entries: readonly Entry[]): void;
  /** The leader sent a snapshot; the application replaces its state with it. */
  restore?(group: GroupId, snapshot: Snapshot): void;
  /** This replica's role or known leader changed. */
  roleChanged?(group: GroupId, state: SoftState, term: Term): void;
}

export interface DriverTimers {
  setInterval(callback: () => void, intervalMs: number): { cancel(): void };
  /** Monotonic milliseconds (deadlines). */
  nowMs(): number;
}

export const realDriverTimers: DriverTimers = {
  setInterval(callback, intervalMs) {
    const handle = setInterval(callback, intervalMs);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
  nowMs: () => performance.now(),
};

/** Core options a driver may set for all its groups (the driver supplies id, storage and randomness). */
export type GroupRaftOptions = Partial<Omit<RaftOptions, "id" | "storage" | "random" | "applied">>;

export interface RaftDriverOptions {
  /** This broker's id: the NodeId of every replica it hosts. */
  readonly id: NodeId;
  readonly transport: Transport;
  readonly persistence: RaftPersistence;
  readonly stateMachine?: RaftStateMachine;
  readonly raft?: GroupRaftOptions;
  /** Seed for the per-group election jitter (default: the broker id). */
  readonly seed?: number;
  readonly timers?: DriverTimers;
  readonly limits?: Partial<DriverLimits>;
  readonly logger?: Logger;
  /** The driver stopped because persistence failed (everything pending was rejected with the cause). */
  readonly onFatal?: (error: Error) => void;
}

export interface AddGroupOptions {
  /** Bootstrap membership of a new group (ignored when the group has stored state). Empty: wait to be added. */
  readonly config?: Configuration;
  /** Highest offset the application already applied (a restart with a persisted state machine). */
  readonly applied?: Offset;
  readonly raft?: GroupRaftOptions;
}

export interface ProposeOptions {
  /** Offsets the entry covers (a record batch's record count); 1 by default. */
  readonly recordCount?: number;
  /** Bytes charged against the core's bounds; data.byteLength by default. */
  readonly sizeBytes?: number;
  readonly timeoutMs?: number;
  /**
   * Called synchronously with the entry as appended (offsets and term assigned), before it is
   * persisted or sent: the moment to stamp base offset and leader epoch into a record batch.
   * It must not throw (the entry is already in the log).
   */
  readonly onAppended?: (entry: DataEntry) => void;
}

export interface DriverStats {
  readonly groups: number;
  readonly ticks: number;
  readonly passes: number;
  /** Passes that issued an fsync. */
  readonly syncs: number;
  readonly readies: number;
  readonly envelopesSent: number;
  readonly envelopesDropped: number;
  readonly messagesReceived: number;
  /** Messages for groups this broker does not host, or over a group's inbox bound. */
  readonly messagesDropped: number;
  /** Messages the core refused as malformed (InvalidRaftMessageError); the group carries on. */
  readonly messagesRejected: number;
  readonly proposalsCommitted: number;
  readonly failedGroups: number;
}

interface Pending<T> {
  readonly entry: Entry;
  readonly deadline: number;
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  settled: boolean;
}

interface PendingRead {
  readonly group: GroupId;
  readonly deadline: number;
  readonly resolve: (index: Offset) => void;
  readonly reject: (error: Error) => void;
  index: number;
}

class GroupState {
  inbox: Message[] = [];
  /** Proposals awaiting commit, ascending by offset; settled ones are skipped and trimmed. */
  pending: Array<Pending<Entry>> = [];
  pendingHead = 0;
  pendingLive = 0;
  /** Read-index answers waiting for the state machine to catch up. */
  readsWaitingApply: PendingRead[] = [];
  applied: number;
  soft: SoftState = { lead: -1 as NodeId, role: "follower" };
  failed: Error | null = null;
  removing = false;
  /** Term and vote last written to persistence (durable once the pass that wrote them has synced). */
  writtenTerm: number;
  writtenVote: number;

  constructor(
    readonly group: GroupId,
    readonly raft: Raft,
    applied: number,
  ) {
    this.applied = applied;
    this.writtenTerm = raft.term;
    this.writtenVote = raft.vote;
  }
}

/**
 * Messages only a leader sends, promising nothing about its own disk: a leader may send them
 * while its own write of the same entries is still being synced (Raft thesis, section 10.2.1),
 * because it counts itself toward commit only after advance() - that is, once durable - and
 * followers acknowledge only what they synced. They must still wait when the same Ready
 * changes the term or vote (not durable yet). Votes, vote and append responses always wait.
 */
const LEADER_MESSAGES: ReadonlySet<Message["type"]> = new Set(["append", "heartbeat", "snapshot", "timeout-now", "read-index-resp"]);

export class RaftDriver implements MultiGroupDriver {
  readonly id: NodeId;
  private readonly transport: Transport;
  private readonly persistence: RaftPersistence;
  private readonly stateMachine: RaftStateMachine | undefined;
  private readonly raftDefaults: GroupRaftOptions;
  private readonly seeds: SeededRandom;
  private readonly timers: DriverTimers;
  private readonly limits: DriverLimits;
  private readonly logger: Logger | undefined;
  private readonly onFatal: ((error: Error) => void) | undefined;

  private readonly groups = new Map<GroupId, GroupState>();
  private dirty = new Set<GroupId>();
  private readonly groupsWithDeadlines = new Set<GroupId>();
  private readonly groupsWithWaitingReads = new Set<GroupId>();
  private readonly pendingReads = new Map<number, PendingRead>();
  private readCtx = 0;
  private tickTimer: { cancel(): void } | null = null;
  private passScheduled = false;
  private passRunning: Promise<void> | null = null;
  private inboundBytes = 0;
  private inboundPaused = false;
  private stopped: Error | null = null;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly counters = {
    ticks: 0,
    passes: 0,
    syncs: 0,
    readies: 0,
    envelopesSent: 0,
    envelopesDropped: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    messagesRejected: 0,
    proposalsCommitted: 0,
  };

  constructor(options: RaftDriverOptions) {
    this.id = options.id;
    this.transport = options.transport;
    this.persistence = options.persistence;
    this.stateMachine = options.stateMachine;
    this.raftDefaults = options.raft ?? {};
    this.seeds = new SeededRandom(options.seed ?? options.id);
    this.timers = options.timers ?? realDriverTimers;
    this.limits = { ...driverLimits, ...options.limits };
    this.logger = options.logger;
    this.onFatal = options.onFatal;
    if (!(this.limits.tickMs > 0)) throw new InvalidDriverRequestError(`tickMs must be > 0, got ${this.limits.tickMs}`);
  }

  /** Starts receiving from the transport and ticking. */
  start(): void {
    this.checkRunning();
    this.transport.setHandler((envelope) => this.receive(envelope));
    this.tickTimer ??= this.timers.setInterval(() => this.tickAll(), this.limits.tickMs);
  }

  /** Stops ticking and receiving; waits for the running pass; rejects everything pending. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped === null) this.stopped = new DriverStoppedError("stop() was called");
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.transport.setHandler(null);
    if (this.inboundPaused) this.transport.resumeInbound();
    this.inboundPaused = false;
    if (this.passRunning !== null) await this.passRunning;
    this.rejectEverything("stopped", this.stopped);
    this.notifyIdle();
  }

  get running(): boolean {
    return this.stopped === null;
  }

  // ---------------------------------------------------------------- groups

  addGroup(group: GroupId, options: AddGroupOptions = {}): void {
    this.checkRunning();
    if (!Number.isSafeInteger(group) || group < 0 || group > 0xffffffff) throw new InvalidDriverRequestError(`group id ${group} must be in [0, 2^32)`);
    if (this.groups.has(group)) throw new InvalidDriverRequestError(`group ${group} is already hosted`);
    const storage = this.persistence.openGroup(group, options.config ?? { voters: [], learners: [] });
    const raft = new Raft({
      ...this.raftDefaults,
      ...options.raft,
      id: this.id,
      storage,
      random: new SeededRandom(this.seeds.nextUint32() ^ group),
      ...(options.applied === undefined ? {} : { applied: options.applied }),
    });
    const applied = Math.max(options.applied ?? -1, storage.snapshotMeta().offset);
    this.groups.set(group, new GroupState(group, raft, applied));
    this.markDirty(group);
  }

  /** Stops hosting `group` (its pending proposals are rejected) and forgets its stored state. */
  removeGroup(group: GroupId): void {
    const st = this.groups.get(group);
    if (st === undefined) return;
    st.removing = true;
    this.markDirty(group);
  }

  hasGroup(group: GroupId): boolean {
    return this.groups.has(group);
  }

  groupIds(): GroupId[] {
    return [...this.groups.keys()];
  }

  status(group: GroupId): RaftStatus {
    return this.groupOrThrow(group).raft.status();
  }

  /** Who this replica believes leads `group` (NO_NODE = -1 when unknown). */
  leaderOf(group: GroupId): NodeId {
    return this.groupOrThrow(group).raft.lead;
  }

  stats(): DriverStats {
    let failedGroups = 0;
    for (const st of this.groups.values()) if (st.failed !== null) failedGroups++;
    return { ...this.counters, groups: this.groups.size, failedGroups };
  }

  // ---------------------------------------------------------------- application requests

  /** Proposes `data` as one entry; resolves with the committed entry. */
  propose(group: GroupId, data: Uint8Array, options: ProposeOptions = {}): Promise<DataEntry> {
    try {
      const st = this.usableGroup(group);
      this.checkPendingRoom(st);
      const entry = st.raft.propose(data, options.recordCount ?? 1, options.sizeBytes ?? data.byteLength);
      options.onAppended?.(entry);
      return this.track(st, entry, options.timeoutMs) as Promise<DataEntry>;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Proposes one membership change; resolves when it is committed. */
  proposeConfigChange(group: GroupId, change: ConfigChange, options: { timeoutMs?: number } = {}): Promise<ConfigEntry> {
    try {
      const st = this.usableGroup(group);
      this.checkPendingRoom(st);
      const entry = st.raft.proposeConfigChange(change);
      return this.track(st, entry, options.timeoutMs) as Promise<ConfigEntry>;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * A linearizable read point: resolves with an offset once this replica's state machine has
   * applied it, at which point reading local state is linearizable.
   */
  readIndex(group: GroupId, options: { timeoutMs?: number } = {}): Promise<Offset> {
    try {
      const st = this.usableGroup(group);
      const ctx = ++this.readCtx;
      st.raft.readIndex(ctx);
      return new Promise<Offset>((resolve, reject) => {
        const deadline = this.timers.nowMs() + (options.timeoutMs ?? this.limits.readIndexTimeoutMs);
        this.pendingReads.set(ctx, { group, deadline, resolve, reject, index: -1 });
        this.markDirty(group);
      });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  transferLeadership(group: GroupId, to: NodeId): void {
    this.usableGroup(group).raft.transferLeadership(to);
    this.markDirty(group);
  }

  /** Starts an election for `group` on this replica now. */
  campaign(group: GroupId): void {
    this.usableGroup(group).raft.campaign();
    this.markDirty(group);
  }

  /**
   * Drops `group`'s log up to `offset` (an applied entry boundary), recording a snapshot with
   * `data` (empty for partition groups, whose state is the log itself).
   */
  compact(group: GroupId, offset: Offset, data: Uint8Array = new Uint8Array(0)): void {
    const st = this.usableGroup(group);
    if (offset > st.applied) throw new InvalidDriverRequestError(`group ${group}: cannot compact to ${offset}, applied is ${st.applied}`);
    this.persistence.compact(group, offset, data);
  }

  /** Resolves once no pass is running or due (tests, orderly shutdown). */
  idle(): Promise<void> {
    if (this.passRunning === null && !this.passScheduled && this.dirty.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---------------------------------------------------------------- MultiGroupDriver

  /** One logical tick for every group, then a pass; resolves when that work is done. */
  async tick(): Promise<void> {
    this.tickAll();
    await this.idle();
  }

  receive(envelope: BrokerEnvelope): void {
    if (this.stopped !== null) return;
    let bytes = 0;
    for (const gm of expandEnvelope(envelope)) {
      this.counters.messagesReceived++;
      const st = this.groups.get(gm.group);
      if (st === undefined || st.failed !== null || st.inbox.length >= this.limits.inboxMessagesMax) {
        this.counters.messagesDropped++;
        continue;
      }
      st.inbox.push(gm.message);
      if (gm.message.type === "append") for (const entry of gm.message.entries) bytes += entry.sizeBytes;
      else if (gm.message.type === "snapshot") bytes += gm.message.snapshot.data.byteLength;
      this.markDirty(gm.group);
    }
    this.inboundBytes += bytes;
    if (!this.inboundPaused && this.inboundBytes > this.limits.inboundBytesPauseMax) {
      this.inboundPaused = true;
      this.transport.pauseInbound();
    }
  }

  // ---------------------------------------------------------------- the loop

  private tickAll(): void {
    if (this.stopped !== null) return;
    this.counters.ticks++;
    for (const st of this.groups.values()) {
      if (st.failed !== null) continue;
      try {
        st.raft.tick();
      } catch (error) {
        this.failGroup(st, error);
        continue;
      }
      if (st.raft.hasReady()) this.dirty.add(st.group);
    }
    this.expireDeadlines();
    if (this.dirty.size > 0) this.schedulePass();
  }

  private markDirty(group: GroupId): void {
    this.dirty.add(group);
    this.schedulePass();
  }

  private schedulePass(): void {
    if (this.passScheduled || this.stopped !== null) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      if (this.passRunning !== null || this.stopped !== null) {
        this.notifyIdle();
        return; // the running pass reschedules when it ends
      }
      this.passRunning = this.runPass().finally(() => {
        this.passRunning = null;
        if (this.dirty.size > 0 && this.stopped === null) this.schedulePass();
        else this.notifyIdle();
      });
    });
  }

  private notifyIdle(): void {
    if (this.passRunning !== null || this.passScheduled) return;
    if (this.dirty.size > 0 && this.stopped === null) return;
    const waiters = this.idleWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  private async runPass(): Promise<void> {
    this.counters.passes++;
    const dirty = this.dirty;
    this.dirty = new Set();
    const readies: Array<{ st: GroupState; rd: Ready; leaderEarly: boolean }> = [];
    let mustSync = false;
    try {
      for (const group of dirty) {
        const st = this.groups.get(group);
        if (st === undefined || st.failed !== null) continue;
        if (st.removing) {
          this.dropGroup(st);
          continue;
        }
        let rd: Ready;
        try {
          if (st.inbox.length > 0) {
            // step() never re-enters receive(), so the inbox can be walked and reused in place.
            const inbox = st.inbox;
            for (let i = 0; i < inbox.length; i++) this.stepOne(st, inbox[i] as Message);
            inbox.length = 0;
          }
          if (!st.raft.hasReady()) continue;
          rd = st.raft.ready();
        } catch (error) {
          this.failGroup(st, error);
          continue;
        }
        this.counters.readies++;
        // Term and vote unchanged by this Ready: they are durable (an earlier pass synced them).
        const termVoteDurable = rd.hardState === null || (rd.hardState.term === st.writtenTerm && rd.hardState.vote === st.writtenVote);
        if (rd.hardState !== null) {
          st.writtenTerm = rd.hardState.term;
          st.writtenVote = rd.hardState.vote;
        }
        readies.push({ st, rd, leaderEarly: termVoteDurable });
        if (rd.mustSync) mustSync = true;
        if (rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null) {
          this.persistence.write(group, rd.snapshot, rd.entries, rd.hardState);
        }
      }
      this.inboundBytes = 0;
      if (this.inboundPaused) {
        this.inboundPaused = false;
        this.transport.resumeInbound();
      }

      // Messages that depend on nothing unsynced leave now; the rest after the one fsync.
      const early: GroupMessage[] = [];
      const late: GroupMessage[] = [];
      for (const { st, rd, leaderEarly } of readies) {
        for (const message of rd.messages) {
          const now = !rd.mustSync || (leaderEarly && LEADER_MESSAGES.has(message.type));
          (now ? early : late).push({ group: st.group, message });
        }
      }
      this.sendOutbox(early);
      if (mustSync) {
        await this.persistence.sync();
        this.counters.syncs++;
      }
      this.sendOutbox(late);
    } catch (error) {
      // Persistence failed: nothing that depends on it may be sent or acknowledged.
      this.fatal(error);
      return;
    }

    for (const { st, rd } of readies) {
      if (st.failed !== null) continue;
      try {
        this.handleApply(st, rd);
        st.raft.advance();
        if (st.raft.hasReady() || st.inbox.length > 0) this.dirty.add(st.group);
      } catch (error) {
        this.failGroup(st, error);
      }
    }
  }

  /** Steps one message; a malformed one (the core refuses it before changing state) is dropped and counted. */
  private stepOne(st: GroupState, m: Message): void {
    try {
      st.raft.step(m);
    } catch (error) {
      if (!(error instanceof InvalidRaftMessageError)) throw error;
      this.counters.messagesRejected++;
      this.logger?.warn({ group: st.group, peer: m.from, err: error }, "raft message rejected");
    }
  }

  private sendOutbox(outbox: readonly GroupMessage[]): void {
    if (outbox.length === 0) return;
    for (const envelope of coalesceOutbox(this.id, outbox)) {
      if (this.transport.send(envelope)) {
        this.counters.envelopesSent++;
        continue;
      }
      this.counters.envelopesDropped++;
      // Tell the leaders: stop pipelining to that peer and probe instead.
      for (const { group, message } of envelope.messages) {
        const st = this.groups.get(group);
        if (st === undefined || st.failed !== null) continue;
        if (message.type === "append") st.raft.reportUnreachable(envelope.to);
        else if (message.type === "snapshot") st.raft.reportSnapshot(envelope.to, false);
      }
    }
  }

  private handleApply(st: GroupState, rd: Ready): void {
    const { group } = st;
    if (rd.softState !== null) {
      st.soft = rd.softState;
      this.stateMachine?.roleChanged?.(group, rd.softState, st.raft.term);
    }
    if (rd.snapshot !== null) {
      this.stateMachine?.restore?.(group, rd.snapshot);
      st.applied = Math.max(st.applied, rd.snapshot.meta.offset);
      this.settleThrough(st, null, rd.snapshot.meta.offset);
    }
    const committed = rd.committedEntries;
    if (committed.length > 0) {
      this.stateMachine?.apply(group, committed);
      for (const entry of committed) this.settleThrough(st, entry, entry.lastOffset);
      st.applied = (committed[committed.length - 1] as Entry).lastOffset;
    }
    for (const rs of rd.readStates) {
      const read = this.pendingReads.get(rs.ctx);
      if (read === undefined || read.group !== group) continue;
      this.pendingReads.delete(rs.ctx);
      read.index = rs.index;
      st.readsWaitingApply.push(read);
    }
    if (st.readsWaitingApply.length > 0) {
      const waiting = st.readsWaitingApply;
      st.readsWaitingApply = [];
      for (const read of waiting) {
        if (read.index <= st.applied) read.resolve(read.index as Offset);
        else st.readsWaitingApply.push(read);
      }
      if (st.readsWaitingApply.length > 0) this.groupsWithWaitingReads.add(group);
    }
  }

  /**
   * Settles the proposals covering offsets up to `through`: resolved if `entry` is exactly
   * theirs (same offsets and term: by log matching, the same entry), otherwise dropped (another
   * entry took their offsets) - or, for a snapshot (`entry` null), outcome unknown.
   */
  private settleThrough(st: GroupState, entry: Entry | null, through: number): void {
    while (st.pendingHead < st.pending.length) {
      const p = st.pending[st.pendingHead] as Pending<Entry>;
      if (p.entry.baseOffset > through) break;
      st.pendingHead++;
      if (p.settled) continue;
      p.settled = true;
      st.pendingLive--;
      const mine = p.entry;
      if (entry !== null && entry.baseOffset === mine.baseOffset && entry.lastOffset === mine.lastOffset && entry.term === mine.term) {
        this.counters.proposalsCommitted++;
        p.resolve(entry);
      } else if (entry === null) {
        p.reject(new ProposalTimeoutError(st.group, "snapshot", `a snapshot covering ${through} replaced the log`));
      } else {
        p.reject(new ProposalDroppedError(st.group, `offsets [${mine.baseOffset}, ${mine.lastOffset}] term ${mine.term} committed as term ${entry.term}`));
      }
    }
    if (st.pendingHead === st.pending.length) {
      st.pending = [];
      st.pendingHead = 0;
    } else if (st.pendingHead > 1024 && st.pendingHead * 2 > st.pending.length) {
      st.pending = st.pending.slice(st.pendingHead);
      st.pendingHead = 0;
    }
  }

  private track(st: GroupState, entry: Entry, timeoutMs: number | undefined): Promise<Entry> {
    // A new entry at offsets an older pending proposal held means that one was truncated away.
    while (st.pending.length > st.pendingHead) {
      const last = st.pending[st.pending.length - 1] as Pending<Entry>;
      if (last.entry.lastOffset < entry.baseOffset) break;
      st.pending.pop();
      if (last.settled) continue;
      last.settled = true;
      st.pendingLive--;
      last.reject(new ProposalDroppedError(st.group, `offsets [${last.entry.baseOffset}, ${last.entry.lastOffset}] were overwritten in this replica's log`));
    }
    const deadline = this.timers.nowMs() + (timeoutMs ?? this.limits.proposalTimeoutMs);
    const promise = new Promise<Entry>((resolve, reject) => {
      st.pending.push({ entry, deadline, resolve, reject, settled: false });
    });
    st.pendingLive++;
    this.groupsWithDeadlines.add(st.group);
    this.markDirty(st.group);
    return promise;
  }

  private expireDeadlines(): void {
    const now = this.timers.nowMs();
    for (const group of this.groupsWithDeadlines) {
      const st = this.groups.get(group);
      if (st === undefined || st.pendingLive === 0) {
        this.groupsWithDeadlines.delete(group);
        continue;
      }
      for (let i = st.pendingHead; i < st.pending.length; i++) {
        const p = st.pending[i] as Pending<Entry>;
        if (p.settled || p.deadline > now) continue;
        p.settled = true;
        st.pendingLive--;
        p.reject(new ProposalTimeoutError(group, "timeout", `not committed within its timeout`));
      }
    }
    for (const [ctx, read] of this.pendingReads) {
      if (read.deadline > now) continue;
      this.pendingReads.delete(ctx);
      read.reject(new ProposalTimeoutError(read.group, "timeout", "read index not served within its timeout"));
    }
    for (const group of this.groupsWithWaitingReads) {
      const st = this.groups.get(group);
      if (st === undefined || st.readsWaitingApply.length === 0) {
        this.groupsWithWaitingReads.delete(group);
        continue;
      }
      const keep = st.readsWaitingApply.filter((read) => read.deadline > now);
      for (const read of st.readsWaitingApply) {
        if (read.deadline <= now) read.reject(new ProposalTimeoutError(read.group, "timeout", "state machine did not reach the read index in time"));
      }
      st.readsWaitingApply = keep;
    }
  }

  // ---------------------------------------------------------------- failures

  private checkRunning(): void {
    if (this.stopped !== null) throw this.stopped;
  }

  private groupOrThrow(group: GroupId): GroupState {
    const st = this.groups.get(group);
    if (st === undefined || st.removing) throw new UnknownGroupError(group);
    return st;
  }

  private usableGroup(group: GroupId): GroupState {
    this.checkRunning();
    const st = this.groupOrThrow(group);
    if (st.failed !== null) throw new DriverStoppedError(`group ${group} failed`, { cause: st.failed });
    return st;
  }

  private checkPendingRoom(st: GroupState): void {
    if (st.pendingLive >= this.limits.pendingProposalsMax) throw new ProposalBackpressureError(st.group, st.pendingLive);
  }

  private rejectPending(st: GroupState, reason: ProposalTimeoutReason, cause: Error | undefined): void {
    for (let i = st.pendingHead; i < st.pending.length; i++) {
      const p = st.pending[i] as Pending<Entry>;
      if (p.settled) continue;
      p.settled = true;
      p.reject(new ProposalTimeoutError(st.group, reason, "the driver stopped waiting", { cause }));
    }
    st.pending = [];
    st.pendingHead = 0;
    st.pendingLive = 0;
    for (const read of st.readsWaitingApply) read.reject(new ProposalTimeoutError(st.group, reason, "read abandoned", { cause }));
    st.readsWaitingApply = [];
    for (const [ctx, read] of this.pendingReads) {
      if (read.group !== st.group) continue;
      this.pendingReads.delete(ctx);
      read.reject(new ProposalTimeoutError(st.group, reason, "read abandoned", { cause }));
    }
  }

  private rejectEverything(reason: ProposalTimeoutReason, cause: Error): void {
    for (const st of this.groups.values()) this.rejectPending(st, reason, cause);
  }

  private dropGroup(st: GroupState): void {
    this.groups.delete(st.group);
    this.rejectPending(st, "group-removed", undefined);
    this.persistence.removeGroup(st.group);
  }

  /** A core assertion fired inside one group (our bug, or a peer's message it could not take): isolate it. */
  private failGroup(st: GroupState, error: unknown): void {
    const cause = error instanceof Error ? error : new Error(String(error));
    st.failed = cause;
    this.logger?.error({ group: st.group, err: cause }, "raft group failed and was stopped");
    this.rejectPending(st, "group-failed", cause);
  }

  /** Persistence failed: stop everything (no group can keep its promises). */
  private fatal(error: unknown): void {
    const cause = error instanceof Error ? error : new Error(String(error));
    if (this.stopped !== null) return;
    this.stopped = new DriverStoppedError(`persistence failed: ${cause.message}`, { cause });
    this.logger?.error({ err: cause }, "raft driver stopped: persistence failed");
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.transport.setHandler(null);
    this.rejectEverything("stopped", this.stopped);
    this.onFatal?.(this.stopped);
  }
}
