/**
 * A hand-driven cluster of Raft cores for transcripts and unit tests (etcd's
 * InteractionEnv): nothing happens unless a command makes it happen. Ready handling is
 * synchronous and durable (storage is the MemoryStorage the core reads), messages wait in
 * one ordered mailbox until delivered, and partitions / crashes are explicit. Every command
 * returns the lines it printed, which transcripts compare against their expected output.
 *
 * Invariants: deterministic (each node's randomness is seeded from its id); a crashed node
 * keeps its storage (everything was synced) and loses only volatile state; messages to a
 * crashed node or across a blocked link are dropped when delivery is attempted.
 */
import { assert, type Offset } from "@sluice/protocol";
import { describeConfiguration } from "../core/configuration.js";
import { describeEntries, describeMessage, describeReady } from "../core/describe.js";
import type { Message } from "../core/messages.js";
import { Raft, type RaftOptions, type Ready } from "../core/raft.js";
import { SeededRandom } from "../core/random.js";
import { MemoryStorage } from "../core/storage.js";
import { emptyConfiguration, type ConfigChange, type Configuration, type Entry, type NodeId, type ReadState } from "../core/types.js";

export interface EnvNode {
  readonly id: NodeId;
  readonly overrides: NodeOptions;
  raft: Raft | null;
  readonly storage: MemoryStorage;
  /** Entries applied to the (trivial) state machine since the last restart, in order. */
  applied: Entry[];
  readStates: ReadState[];
}

export type NodeOptions = Partial<Omit<RaftOptions, "id" | "storage" | "random">>;

const encoder = new TextEncoder();

export class InteractionEnv {
  readonly nodes = new Map<NodeId, EnvNode>();
  /** Sent, not yet delivered, in send order. */
  mailbox: Message[] = [];
  private readonly blocked = new Set<string>();
  private readonly options: NodeOptions;
  private readonly factory: (options: RaftOptions) => Raft;

  constructor(options: NodeOptions = {}, factory: (options: RaftOptions) => Raft = (o) => new Raft(o)) {
    this.options = { electionTimeoutTicks: 10, heartbeatTicks: 1, ...options };
    this.factory = factory;
  }

  // ---------------------------------------------------------------- membership of the env

  /** Adds nodes; with `config` they are bootstrapped with it, otherwise they start empty (waiting to be added). */
  addNodes(ids: readonly NodeId[], config: Configuration | null, overrides: NodeOptions = {}): string[] {
    for (const id of ids) {
      assert(!this.nodes.has(id), `node ${id} exists`);
      const storage = new MemoryStorage(config ?? emptyConfiguration);
      const node: EnvNode = { id, overrides, raft: null, storage, applied: [], readStates: [] };
      this.nodes.set(id, node);
      this.start(node);
    }
    return [`added ${ids.join(",")}${config === null ? " (empty, waiting to join)" : ` ${describeConfiguration(config)}`}`];
  }

  node(id: NodeId): EnvNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `no node ${id}`);
    return node;
  }

  raft(id: NodeId): Raft {
    const raft = this.node(id).raft;
    assert(raft !== null, `node ${id} is down`);
    return raft;
  }

  private start(node: EnvNode): void {
    node.raft = this.factory({ ...this.options, ...node.overrides, id: node.id, storage: node.storage, random: new SeededRandom(node.id * 7919 + 1) });
    node.applied = [];
    node.readStates = [];
  }

  crash(id: NodeId): string[] {
    const node = this.node(id);
    node.raft = null;
    return [`${id} crashed`];
  }

  restart(id: NodeId): string[] {
    const node = this.node(id);
    assert(node.raft === null, `node ${id} is up`);
    this.start(node);
    return [`${id} restarted: ${this.describeStatus(id)}`];
  }

  // ---------------------------------------------------------------- network

  /** Blocks every link between the groups (both directions). */
  partition(groups: ReadonlyArray<readonly NodeId[]>): string[] {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) this.blocked.add(`${a}>${b}`);
      }
    }
    return [`partitioned ${groups.map((g) => `(${g.join(",")})`).join(" ")}`];
  }

  /** Blocks messages from `from` to `to` only. */
  blockOneWay(from: NodeId, to: NodeId): string[] {
    this.blocked.add(`${from}>${to}`);
    return [`blocked ${from}->${to}`];
  }

  heal(): string[] {
    this.blocked.clear();
    return ["healed"];
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /**
   * Delivers (or drops) the mailbox messages matching the filter, in order. Messages a
   * delivery produces stay in the node until its next Ready.
   */
  deliver(filter: { from?: NodeId; to?: NodeId; drop?: boolean } = {}): string[] {
    const lines: string[] = [];
    const keep: Message[] = [];
    const batch = this.mailbox;
    this.mailbox = [];
    for (const m of batch) {
      if ((filter.from !== undefined && m.from !== filter.from) || (filter.to !== undefined && m.to !== filter.to)) {
        keep.push(m);
        continue;
      }
      const target = this.nodes.get(m.to);
      if (filter.drop === true) {
        lines.push(`  dropped ${describeMessage(m)}`);
      } else if (this.isBlocked(m.from, m.to)) {
        lines.push(`  dropped (partition) ${describeMessage(m)}`);
      } else if (target === undefined || target.raft === null) {
        lines.push(`  dropped (${m.to} down) ${describeMessage(m)}`);
      } else {
        target.raft.step(m);
      }
    }
    this.mailbox = [...keep, ...this.mailbox];
    return lines;
  }

  // ---------------------------------------------------------------- ready handling

  /** Handles one Ready of `id` if it has one: persist, queue messages, apply, advance. */
  processReady(id: NodeId): string[] {
    const node = this.node(id);
    const raft = node.raft;
    if (raft === null || !raft.hasReady()) return [];
    const rd = raft.ready();
    this.persistAndApply(node, rd);
    raft.advance();
    return [`> ${id} ready`, ...describeReady(rd)];
  }

  private persistAndApply(node: EnvNode, rd: Ready): void {
    if (rd.snapshot !== null) {
      node.storage.applySnapshot(rd.snapshot);
      node.applied = [];
    }
    node.storage.append(rd.entries);
    if (rd.hardState !== null) node.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.mailbox.push(m);
    for (const entry of rd.committedEntries) node.applied.push(entry);
    for (const rs of rd.readStates) node.readStates.push(rs);
  }

  /** Handles Readies and delivers messages until nothing moves (or a round limit is hit). */
  stabilize(ids?: readonly NodeId[]): string[] {
    const members = ids ?? [...this.nodes.keys()];
    const lines: string[] = [];
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const id of members) {
        const out = this.processReady(id);
        if (out.length > 0) {
          moved = true;
          lines.push(...out);
        }
      }
      const pending = this.mailbox.filter((m) => members.includes(m.to));
      if (pending.length > 0) {
        moved = true;
        const set = new Set(pending);
        const others = this.mailbox.filter((m) => !set.has(m));
        this.mailbox = pending;
        lines.push(...this.deliver());
        this.mailbox = [...others, ...this.mailbox];
      }
      if (!moved) return lines;
    }
    throw new Error("stabilize did not converge in 1000 rounds");
  }

  // ---------------------------------------------------------------- inputs

  tick(id: NodeId, count: number): string[] {
    const raft = this.raft(id);
    for (let i = 0; i < count; i++) raft.tick();
    return [];
  }

  /**
   * Ticks `id` until it has something to say (it started campaigning, or its role changed);
   * reports how many ticks it took. Its pending Ready must have been processed first.
   */
  tickElection(id: NodeId): string[] {
    const raft = this.raft(id);
    if (raft.hasReady()) throw new Error(`node ${id} has an unprocessed Ready: process-ready ${id} first`);
    const before = raft.role;
    const beforeTerm = raft.term;
    const limit = 4 * ((this.options.electionTimeoutTicks ?? 10) + 1);
    for (let i = 1; i <= limit; i++) {
      raft.tick();
      if (raft.role !== before || raft.term !== beforeTerm || raft.hasReady()) return [`${id} ticked ${i}: ${raft.role} t${raft.term}`];
    }
    return [`${id} ticked ${limit}: no change`];
  }

  propose(id: NodeId, text: string, records: number): string[] {
    const entry = this.raft(id).propose(encoder.encode(text), records);
    return [`${id} proposed ${describeEntries([entry])}`];
  }

  proposeConfigChange(id: NodeId, change: ConfigChange): string[] {
    const entry = this.raft(id).proposeConfigChange(change);
    return [`${id} proposed ${describeEntries([entry])}`];
  }

  transferLeadership(from: NodeId, to: NodeId): string[] {
    this.raft(from).transferLeadership(to);
    return [`${from} transferring leadership to ${to}`];
  }

  readIndex(id: NodeId, ctx: number): string[] {
    this.raft(id).readIndex(ctx);
    return [];
  }

  /** Snapshots `id`'s applied state at `offset` and compacts its log (the snapshot data is the applied count). */
  compact(id: NodeId, offset: Offset): string[] {
    const node = this.node(id);
    node.storage.compact(offset, encoder.encode(`upto-${offset}`));
    return [`${id} compacted to ${offset}: first offset ${node.storage.firstOffset()}`];
  }

  // ---------------------------------------------------------------- observation

  describeStatus(id: NodeId): string {
    const node = this.node(id);
    if (node.raft === null) return `${id}: down`;
    const s = node.raft.status();
    const lead = s.lead < 0 ? "-" : String(s.lead);
    return `${id}: ${s.role} t${s.term} lead=${lead} commit=${s.commit} applied=${s.applied} log=${s.firstOffset}..${s.lastOffset}@t${s.lastTerm} ${describeConfiguration(s.config)}`;
  }

  status(ids?: readonly NodeId[]): string[] {
    return (ids ?? [...this.nodes.keys()]).map((id) => this.describeStatus(id));
  }

  describeLog(id: NodeId): string[] {
    const node = this.node(id);
    const snap = node.storage.snapshotMeta();
    return [`${id}: snapshot=${snap.offset}@t${snap.term} ${describeEntries(node.storage.allEntries())}`];
  }
}
