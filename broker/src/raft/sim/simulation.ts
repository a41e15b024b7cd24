/**
 * The deterministic Raft simulator. One seed fixes everything: the cluster shape and Raft
 * options, the network's fates (delay, drop, duplicate, reorder, partitions), the disks'
 * fates (crashes losing unsynced writes, torn tails), the client workload (proposals and
 * linearizable reads) and the operator's actions (membership changes, leadership transfers,
 * compaction). A run is a fixed number of steps, a step being one event of the agenda.
 *
 * Phases alternate: chaos (faults injected) and calm (all faults healed, every node up).
 * Each calm phase is a liveness check: a proposal made after the heal must be acknowledged
 * within `livenessBoundMs`, and at that moment the acknowledging replica must still hold
 * every entry ever acknowledged. Safety invariants are checked continuously (invariants.ts).
 *
 * Node drivers follow the core's Ready contract like a real broker: write, fsync (a disk
 * latency later), then send, apply and advance; messages keep arriving meanwhile.
 *
 * Invariants: no ambient randomness or time (only the seeded Random and the simulated
 * clock), so `runSimulation({ seed })` is a pure function of its options.
 */
import { AssertionError, SluiceError, type Offset } from "@sluice/protocol";
import { NotLeaderError } from "../core/errors.js";
import type { Message } from "../core/messages.js";
import { Raft, type RaftOptions, type Ready } from "../core/raft.js";
import { SeededRandom } from "../core/random.js";
import { asNodeId, type Configuration, type Entry, type NodeId } from "../core/types.js";
import { SimDisk } from "./disk.js";
import { EventQueue } from "./event-queue.js";
import {
  InvariantChecker,
  applyToMachine,
  decodeMachine,
  encodeMachine,
  initialMachineState,
  payloadId,
  type LogView,
  type MachineState,
  type Violation,
} from "./invariants.js";
import { SimNetwork, calmNetwork, type NetworkConditions } from "./network.js";

export type RaftFactory = (options: RaftOptions) => Raft;

export interface SimulationOptions {
  readonly seed: number;
  readonly steps: number;
  /** Builds each replica's core (the simulator's mutants plug in here). */
  readonly factory?: RaftFactory;
  /** Keep the last events as text for a failure report (slower). */
  readonly trace?: boolean;
  /** How many trace lines to keep (default 300). */
  readonly traceLimit?: number;
}

export interface SimulationStats {
  simulatedMs: number;
  voters: number;
  leadersElected: number;
  proposals: number;
  acknowledged: number;
  crashes: number;
  partitions: number;
  snapshotsInstalled: number;
  configChanges: number;
  transfers: number;
  readsServed: number;
  livenessWindows: number;
  /** Slowest calm-phase recovery (heal to first acknowledged new proposal), and the bound it must stay under. */
  maxRecoveryMs: number;
  livenessBoundMs: number;
  messagesDelivered: number;
  messagesDropped: number;
}

/** Statistics of a run that has not started (every count zero). */
export function zeroStats(): SimulationStats {
  return {
    simulatedMs: 0,
    voters: 0,
    leadersElected: 0,
    proposals: 0,
    acknowledged: 0,
    crashes: 0,
    partitions: 0,
    snapshotsInstalled: 0,
    configChanges: 0,
    transfers: 0,
    readsServed: 0,
    livenessWindows: 0,
    maxRecoveryMs: 0,
    livenessBoundMs: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
  };
}

export interface SimulationResult {
  readonly seed: number;
  readonly steps: number;
  readonly violation: Violation | null;
  readonly stats: SimulationStats;
  /** A hash of every event processed: equal for equal seeds (the determinism check). */
  readonly fingerprint: number;
  readonly trace: readonly string[];
}

/**
 * Liveness bound: from "all faults healed" to "a proposal made after the heal is
 * acknowledged", in election timeouts (the seed's electionTimeoutTicks at the slowest tick).
 * A healthy election plus one commit takes 1-3 timeouts. The slack covers runs of split votes
 * (two voters timing out in the same tick split with probability ~1/electionTimeoutTicks per
 * round), a stale leader stepping down on check-quorum and leases delaying votes: 40 rounds
 * make a legitimate miss astronomically unlikely, while a real liveness bug still fails it.
 */
export const livenessBoundElectionTimeouts = 40;
/** The slowest simulated tick (node clocks drift in [9, 11) ms). */
const tickMsMax = 11;
/** How long a calm phase lasts after its liveness check passed, before chaos resumes. */
const calmAfterRecoveryMsMax = 200;
/** Length of a chaos phase is uniform in [chaosPhaseMsMin, chaosPhaseMsMin + chaosPhaseMsSpread). */
const chaosPhaseMsMin = 100;
const chaosPhaseMsSpread = 900;
const traceLinesDefault = 300;

const EV_TICK = 0;
const EV_DELIVER = 1;
const EV_SYNC = 2;
const EV_PROPOSE = 3;
const EV_CHAOS = 4;
const EV_RESTART = 5;
const EV_PHASE = 6;
const EV_DEADLINE = 7;
const EV_READ = 8;
const EV_HEAL = 9;
const EV_MAINTAIN = 10;

interface SimEvent {
  time: number;
  seq: number;
  kind: number;
  node: number;
  inc: number;
  msg: Message | null;
}

class SimNode {
  readonly id: NodeId;
  up = true;
  incarnation = 0;
  raft: Raft | null = null;
  readonly disk: SimDisk;
  busy = false;
  inflight: Ready | null = null;
  machine: MachineState = initialMachineState();
  applied = -1;
  commitSeen = -1;
  leaderTermSeen = -1;
  readonly tickMs: number;
  /** Proposal id -> time proposed, for proposals this incarnation made and still waits on. */
  readonly awaiting = new Map<number, number>();
  /** Read ctx -> highest acknowledged offset when the read was requested. */
  readonly reads = new Map<number, number>();
  readonly logView: LogView;

  constructor(id: NodeId, config: Configuration, tickMs: number) {
    this.id = id;
    this.disk = new SimDisk(config);
    this.tickMs = tickMs;
    const raftOf = (): Raft | null => this.raft;
    this.logView = {
      termAtBoundary: (offset: number) => raftOf()?.termAtBoundary(offset) ?? -1,
      get snapshotOffset(): number {
        return raftOf()?.log.snapshotOffset() ?? -1;
      },
    };
  }
}

interface SeedProfile {
  readonly initialVoters: number;
  readonly spares: number;
  readonly raftOptions: Omit<RaftOptions, "id" | "storage" | "random">;
  readonly proposeIntervalMs: number;
  readonly idleProbability: number;
  readonly recordsMax: number;
  readonly entryBytesMax: number;
  readonly syncMsMax: number;
  readonly tornProbability: number;
  readonly chaosIntervalMs: number;
  readonly readIntervalMs: number;
}

function drawProfile(r: SeededRandom): SeedProfile {
  const sizes = [1, 3, 3, 3, 3, 4, 5, 5, 5, 5];
  const initialVoters = sizes[r.nextInt(sizes.length)] as number;
  const bothOn = r.nextFloat() < 0.8;
  const electionTimeoutTicks = 5 + r.nextInt(6);
  return {
    initialVoters,
    spares: 2,
    raftOptions: {
      electionTimeoutTicks,
      heartbeatTicks: 1 + r.nextInt(Math.max(1, Math.floor(electionTimeoutTicks / 3))),
      preVote: bothOn || r.nextFloat() < 0.5,
      checkQuorum: bothOn || r.nextFloat() < 0.5,
      inflightMessagesMax: 1 + r.nextInt(32),
      inflightBytesMax: 2048 + r.nextInt(64 * 1024),
      appendBytesMax: 512 + r.nextInt(16 * 1024),
      appendEntriesMax: 1 + r.nextInt(64),
      uncommittedBytesMax: 256 * 1024,
    },
    proposeIntervalMs: 2 + r.nextInt(20),
    idleProbability: r.nextFloat() * 0.1,
    recordsMax: 1 + r.nextInt(5),
    entryBytesMax: 64 + r.nextInt(4000),
    syncMsMax: 0.2 + r.nextFloat() * 3,
    tornProbability: 0.5,
    chaosIntervalMs: 10 + r.nextInt(90),
    readIntervalMs: 20 + r.nextInt(80),
  };
}

function randomConditions(r: SeededRandom): NetworkConditions {
  const lossy = r.nextFloat() < 0.6;
  return {
    dropRate: lossy ? r.nextFloat() * 0.2 : 0,
    duplicateRate: r.nextFloat() < 0.5 ? r.nextFloat() * 0.1 : 0,
    delayMinMs: 0.5 + r.nextFloat() * 2,
    delayMaxMs: 3 + r.nextFloat() * 20,
    spikeRate: r.nextFloat() < 0.5 ? r.nextFloat() * 0.1 : 0,
    spikeMaxMs: 50 + r.nextFloat() * 300,
  };
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly seed: number;
  private readonly stepsMax: number;
  private readonly factory: RaftFactory;
  private readonly tracing: boolean;
  private readonly traceLimit: number;
  private readonly trace: string[] = [];

  private readonly rngNet: SeededRandom;
  private readonly rngChaos: SeededRandom;
  private readonly rngClient: SeededRandom;
  private readonly rngDisk: SeededRandom;
  private readonly rngRaft: SeededRandom;
  private readonly profile: SeedProfile;

  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly ids: number[] = [];
  private readonly network: SimNetwork;
  private readonly checker = new InvariantChecker();
  private now = 0;
  private steps = 0;
  private fingerprint = 0x811c9dc5;
  private readonly fate: number[] = [0, 0];

  private calm = true;
  private windowId = 0;
  private windowStart = 0;
  private windowSatisfied = false;
  private nextProposalId = 1;
  private nextReadCtx = 1;
  private clientGuess = -1;
  private isolateLeaderOnNextProposal = false;
  private proposeBackoffUntil = 0;
  private readBackoffUntil = 0;
  private crashLeaderOnNextCommit = false;
  private isolateNextLeader = false;
  private flapping = false;
  private readonly minVoters: number;
  private readonly livenessBoundMs: number;

  private readonly stats: SimulationStats = zeroStats();

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.stepsMax = options.steps;
    this.factory = options.factory ?? ((o) => new Raft(o));
    this.tracing = options.trace === true;
    this.traceLimit = options.traceLimit ?? traceLinesDefault;
    const master = new SeededRandom(options.seed);
    this.rngNet = master.fork();
    this.rngChaos = master.fork();
    this.rngClient = master.fork();
    this.rngDisk = master.fork();
    this.rngRaft = master.fork();
    this.profile = drawProfile(master.fork());
    const total = this.profile.initialVoters + this.profile.spares;
    this.network = new SimNetwork(total + 1);
    this.minVoters = this.profile.initialVoters >= 3 ? 2 : 1;
    this.livenessBoundMs = livenessBoundElectionTimeouts * (this.profile.raftOptions.electionTimeoutTicks ?? 10) * tickMsMax;
    this.stats.livenessBoundMs = this.livenessBoundMs;
    this.stats.voters = this.profile.initialVoters;
    const voters: NodeId[] = [];
    for (let id = 1; id <= this.profile.initialVoters; id++) voters.push(asNodeId(id));
    const bootstrap: Configuration = { voters, learners: [] };
    const empty: Configuration = { voters: [], learners: [] };
    this.nodes.push(undefined as unknown as SimNode); // ids start at 1
    for (let id = 1; id <= total; id++) {
      const tickMs = 9 + this.rngChaos.nextFloat() * 2;
      const node = new SimNode(asNodeId(id), id <= this.profile.initialVoters ? bootstrap : empty, tickMs);
      this.nodes.push(node);
      this.ids.push(id);
    }
  }

  run(): SimulationResult {
    for (const id of this.ids) this.startNode(this.node(id));
    this.schedule(EV_PHASE, 0, -1, 0, null); // the first phase is calm: the initial election is a liveness check too
    this.schedule(EV_PROPOSE, 1 + this.rngClient.nextFloat() * this.profile.proposeIntervalMs, -1, 0, null);
    this.schedule(EV_READ, this.rngClient.nextFloat() * this.profile.readIntervalMs, -1, 0, null);
    this.schedule(EV_MAINTAIN, 50 + this.rngChaos.nextFloat() * 200, -1, 0, null);
    const checker = this.checker;
    while (this.steps < this.stepsMax && checker.ok) {
      const ev = this.queue.pop();
      if (ev === undefined) break;
      this.now = ev.time;
      this.steps++;
      checker.now = ev.time;
      checker.step = this.steps;
      this.fingerprint = (Math.imul(this.fingerprint ^ (ev.kind * 31 + ev.node), 16777619) ^ Math.floor(ev.time * 1000)) >>> 0;
      if (this.tracing) this.traceEvent(ev);
      this.handle(ev);
    }
    this.stats.simulatedMs = Math.round(this.now);
    this.stats.messagesDropped = this.network.dropped;
    for (const id of this.ids) {
      const raft = this.node(id).raft;
      this.fingerprint = (Math.imul(this.fingerprint ^ (raft === null ? -1 : raft.committed), 16777619)) >>> 0;
    }
    if (this.tracing) {
      for (const id of this.ids) this.trace.push(`final ${this.describeNode(this.node(id))}`);
    }
    return {
      seed: this.seed,
      steps: this.steps,
      violation: checker.violation,
      stats: this.stats,
      fingerprint: this.fingerprint,
      trace: this.trace,
    };
  }

  private describeNode(node: SimNode): string {
    const raft = node.raft;
    if (raft === null) return `n${node.id} down`;
    const s = raft.status();
    const progress =
      s.progress === null
        ? ""
        : ` progress={${[...s.progress].map(([id, p]) => `${id}:${p.state} m${p.match} n${p.next}${p.recentActive ? "" : " inactive"}`).join(" ")}}`;
    return (
      `n${node.id} ${s.role} t${s.term} vote=${s.vote} lead=${s.lead} commit=${s.commit} applied=${s.applied} ` +
      `log=${s.firstOffset}..${s.lastOffset}@t${s.lastTerm} voters=(${s.config.voters.join(",")}) learners=(${s.config.learners.join(",")})` +
      ` transferee=${s.leadTransferee}${progress}`
    );
  }

  private node(id: number): SimNode {
    return this.nodes[id] as SimNode;
  }

  private schedule(kind: number, delayMs: number, node: number, inc: number, msg: Message | null): void {
    this.queue.push({ time: this.now + delayMs, seq: 0, kind, node, inc, msg });
  }

  private traceEvent(ev: SimEvent): void {
    const names = ["tick", "deliver", "sync", "propose", "chaos", "restart", "phase", "deadline", "read", "heal", "maintain"];
    let text = `${ev.time.toFixed(2)} ${names[ev.kind]}${ev.node >= 0 ? ` n${ev.node}` : ""}`;
    if (ev.msg !== null) text += ` ${ev.msg.from}->${ev.msg.to} ${ev.msg.type} t${ev.msg.term}`;
    this.trace.push(text);
    if (this.trace.length > this.traceLimit) this.trace.shift();
  }

  private note(text: string): void {
    if (!this.tracing) return;
    this.trace.push(`${this.now.toFixed(2)}   ${text}`);
    if (this.trace.length > this.traceLimit) this.trace.shift();
  }

  // ---------------------------------------------------------------- event dispatch

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case EV_TICK: {
        const node = this.node(ev.node);
        if (!node.up || node.incarnation !== ev.inc) return;
        this.guard(node, () => (node.raft as Raft).tick());
        this.pump(node);
        this.schedule(EV_TICK, node.tickMs, node.id, node.incarnation, null);
        return;
      }
      case EV_DELIVER:
        this.deliver(ev.msg as Message);
        return;
      case EV_SYNC: {
        const node = this.node(ev.node);
        if (!node.up || node.incarnation !== ev.inc || node.inflight === null) return;
        const rd = node.inflight;
        node.inflight = null;
        node.busy = false;
        this.finishReady(node, rd, true);
        this.pump(node);
        return;
      }
      case EV_PROPOSE: {
        this.propose();
        const r = this.rngClient;
        // The workload is bursty during chaos: now and then clients go quiet for a while (idle
        // partitions are the norm, and a leader with nothing new to replicate behaves
        // differently). Calm phases keep proposing so that liveness measures Raft, not clients.
        const pause = !this.calm && r.nextFloat() < this.profile.idleProbability ? 50 + r.nextFloat() * 400 : 0;
        this.schedule(EV_PROPOSE, pause + 0.5 + r.nextFloat() * this.profile.proposeIntervalMs, -1, 0, null);
        return;
      }
      case EV_READ:
        this.read();
        this.schedule(EV_READ, 1 + this.rngClient.nextFloat() * this.profile.readIntervalMs, -1, 0, null);
        return;
      case EV_CHAOS:
        if (ev.inc !== this.windowId || this.calm) return;
        this.chaos();
        this.schedule(EV_CHAOS, 1 + this.rngChaos.nextFloat() * this.profile.chaosIntervalMs, -1, this.windowId, null);
        return;
      case EV_MAINTAIN:
        this.maintain();
        this.schedule(EV_MAINTAIN, 20 + this.rngChaos.nextFloat() * 200, -1, 0, null);
        return;
      case EV_RESTART: {
        const node = this.node(ev.node);
        if (node.up || node.incarnation !== ev.inc) return;
        this.restart(node);
        return;
      }
      case EV_HEAL:
        if (ev.inc !== this.windowId || this.calm) return;
        if (ev.node >= 0) {
          this.network.rejoin(ev.node);
          this.note(`n${ev.node} rejoined`);
        } else {
          this.network.healAll();
          this.note("partition healed");
        }
        if (this.flapping) {
          this.isolateLeaderOnNextProposal = true;
          if (this.rngChaos.nextFloat() < 0.8) this.crashLeaderOnNextCommit = true;
        }
        return;
      case EV_PHASE:
        if (ev.inc !== this.windowId) return;
        if (this.calm && this.windowId > 0) this.startChaos();
        else this.startCalm();
        return;
      case EV_DEADLINE:
        if (ev.inc === this.windowId && this.calm && !this.windowSatisfied) {
          this.checker.fail(
            "liveness",
            `no proposal made after the heal at ${this.windowStart.toFixed(1)} ms was acknowledged within ${this.livenessBoundMs} ms`,
          );
        }
        return;
    }
  }

  private startCalm(): void {
    this.calm = true;
    this.flapping = false;
    this.isolateLeaderOnNextProposal = false;
    this.crashLeaderOnNextCommit = false;
    this.isolateNextLeader = false;
    this.windowId++;
    this.windowStart = this.now;
    this.windowSatisfied = false;
    this.network.healAll();
    this.network.conditions = calmNetwork;
    for (const id of this.ids) {
      const node = this.node(id);
      if (!node.up) this.restart(node);
    }
    this.note(`calm phase ${this.windowId}: faults healed`);
    this.schedule(EV_DEADLINE, this.livenessBoundMs, -1, this.windowId, null);
  }

  private startChaos(): void {
    this.calm = false;
    this.windowId++;
    this.network.conditions = randomConditions(this.rngChaos);
    // Some chaos phases are "leader flapping": every leader is cut off right after it accepts
    // a proposal (and now and then crashed right after a commit), so leadership keeps moving
    // while each term leaves its own uncommitted tail behind.
    this.flapping = this.rngChaos.nextFloat() < 0.7;
    if (this.flapping) this.isolateLeaderOnNextProposal = true;
    this.note(`chaos phase ${this.windowId}${this.flapping ? " (leader flapping)" : ""}`);
    this.schedule(EV_CHAOS, this.rngChaos.nextFloat() * this.profile.chaosIntervalMs, -1, this.windowId, null);
    this.schedule(EV_PHASE, chaosPhaseMsMin + this.rngChaos.nextFloat() * chaosPhaseMsSpread, -1, this.windowId, null);
  }

  // ---------------------------------------------------------------- replicas

  private startNode(node: SimNode): void {
    const storage = node.disk.view;
    node.machine = decodeMachine(storage.snapshot().data);
    node.applied = storage.snapshotMeta().offset;
    node.busy = false;
    node.inflight = null;
    node.leaderTermSeen = -1;
    node.awaiting.clear();
    node.reads.clear();
    try {
      node.raft = this.factory({ ...this.profile.raftOptions, id: node.id, storage, random: this.rngRaft.fork() });
    } catch (err) {
      this.coreFailure(node, err);
      node.raft = null;
      node.up = false;
      return;
    }
    node.commitSeen = node.raft.committed;
    this.schedule(EV_TICK, this.rngChaos.nextFloat() * node.tickMs, node.id, node.incarnation, null);
    this.pump(node);
  }

  private crash(node: SimNode): void {
    const outcome = node.disk.crash(this.rngDisk, this.profile.tornProbability);
    node.up = false;
    node.raft = null;
    node.incarnation++;
    node.busy = false;
    node.inflight = null;
    node.awaiting.clear();
    node.reads.clear();
    this.stats.crashes++;
    this.note(`n${node.id} crashed: kept ${outcome.keptOps}/${outcome.pendingOps} unsynced writes, torn=${outcome.tornKeptEntries}`);
  }

  private restart(node: SimNode): void {
    node.up = true;
    node.incarnation++;
    this.note(`n${node.id} restarted`);
    this.startNode(node);
  }

  private guard(node: SimNode, action: () => void): boolean {
    try {
      action();
      return true;
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      this.coreFailure(node, err);
      return false;
    }
  }

  private coreFailure(node: SimNode, err: unknown): void {
    const what = err instanceof AssertionError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.checker.fail("core-assertion", `node ${node.id}: ${what}`);
  }

  private leaders(): Array<{ node: number; term: number; log: LogView }> {
    const out: Array<{ node: number; term: number; log: LogView }> = [];
    for (const id of this.ids) {
      const n = this.node(id);
      if (n.raft !== null && n.raft.role === "leader") out.push({ node: id, term: n.raft.term, log: n.logView });
    }
    return out;
  }

  /** Checks what changed in `node`'s core, then drives its Ready loop. */
  private pump(node: SimNode): void {
    const raft = node.raft;
    if (raft === null || !this.checker.ok) return;
    if (raft.role === "leader" && node.leaderTermSeen !== raft.term) {
      node.leaderTermSeen = raft.term;
      this.stats.leadersElected++;
      this.note(`n${node.id} leads term ${raft.term}`);
      this.checker.onLeaderElected(node.id, raft.term, node.logView);
      if (this.isolateNextLeader && !this.calm) {
        this.isolateNextLeader = false;
        this.isolateBriefly(node, "right after its election");
      }
    }
    const commit = raft.committed;
    if (commit !== node.commitSeen) {
      this.checker.onCommit(node.id, raft.term, node.commitSeen, commit, raft.termAtBoundary(commit), this.leaders());
      node.commitSeen = commit;
      if (this.crashLeaderOnNextCommit && !this.calm && raft.role === "leader" && this.checker.ok) {
        this.crashLeaderOnNextCommit = false;
        this.crash(node);
        this.note(`(n${node.id} crashed right after its commit advanced to ${commit})`);
        this.schedule(EV_RESTART, 5 + this.rngChaos.nextFloat() * 300, node.id, node.incarnation, null);
        return;
      }
    }
    while (!node.busy && this.checker.ok && raft.hasReady()) {
      let rd: Ready | null = null;
      if (!this.guard(node, () => (rd = raft.ready()))) return;
      const ready = rd as unknown as Ready;
      this.persist(node, ready);
      if (ready.mustSync) {
        node.busy = true;
        node.inflight = ready;
        this.schedule(EV_SYNC, 0.05 + this.rngDisk.nextFloat() * this.profile.syncMsMax, node.id, node.incarnation, null);
        return;
      }
      this.finishReady(node, ready, false);
      if (node.raft !== raft) return;
    }
  }

  private persist(node: SimNode, rd: Ready): void {
    const disk = node.disk;
    if (rd.snapshot !== null) disk.writeSnapshot(rd.snapshot);
    const first = rd.entries[0];
    if (first !== undefined) {
      const view = disk.view;
      const prev = first.baseOffset - 1;
      const meta = view.snapshotMeta();
      const prevTerm = meta.offset === prev ? meta.term : (view.entryAt(prev as Offset)?.term ?? -1);
      this.checker.onPersisted(node.id, rd.entries, prevTerm);
      disk.writeEntries(rd.entries);
    }
    if (rd.hardState !== null) disk.writeHardState(rd.hardState);
  }

  private finishReady(node: SimNode, rd: Ready, synced: boolean): void {
    const raft = node.raft as Raft;
    if (synced) node.disk.sync();
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot !== null) {
      node.machine = decodeMachine(rd.snapshot.data);
      node.applied = rd.snapshot.meta.offset;
      this.stats.snapshotsInstalled++;
      this.note(`n${node.id} installed snapshot at ${rd.snapshot.meta.offset}`);
      this.checker.onSnapshotInstalled(node.id, rd.snapshot.meta.offset, node.machine);
    }
    for (const entry of rd.committedEntries) this.apply(node, raft, entry);
    for (const rs of rd.readStates) {
      const highest = node.reads.get(rs.ctx);
      if (highest === undefined) continue;
      node.reads.delete(rs.ctx);
      this.stats.readsServed++;
      this.checker.onReadState(node.id, rs.ctx, rs.index, highest);
    }
    this.guard(node, () => raft.advance());
  }

  private apply(node: SimNode, raft: Raft, entry: Entry): void {
    if (entry.lastOffset <= node.applied) {
      this.checker.fail("state-machine-safety", `node ${node.id} asked to apply ${entry.lastOffset} again (applied ${node.applied})`);
      return;
    }
    if (entry.baseOffset !== node.applied + 1) {
      this.checker.fail("state-machine-safety", `node ${node.id} applies ${entry.baseOffset} after ${node.applied}: a gap`);
      return;
    }
    applyToMachine(node.machine, entry);
    node.applied = entry.lastOffset;
    this.checker.onApplied(node.id, entry, node.machine);
    if (entry.kind !== "data") return;
    const id = payloadId(entry.data);
    const proposedAt = node.awaiting.get(id);
    if (proposedAt === undefined) return;
    node.awaiting.delete(id);
    this.stats.acknowledged++;
    this.checker.onAcknowledged({ baseOffset: entry.baseOffset, lastOffset: entry.lastOffset, term: entry.term, id, ackTerm: raft.term });
    if (this.calm && !this.windowSatisfied && proposedAt >= this.windowStart) {
      this.windowSatisfied = true;
      this.stats.livenessWindows++;
      const recovery = this.now - this.windowStart;
      if (recovery > this.stats.maxRecoveryMs) this.stats.maxRecoveryMs = recovery;
      this.checker.checkAllAcknowledgedHeldBy(node.id, node.logView, raft.committed);
      this.schedule(EV_PHASE, this.rngChaos.nextFloat() * calmAfterRecoveryMsMax, -1, this.windowId, null);
    }
  }

  // ---------------------------------------------------------------- network

  private send(m: Message): void {
    const n = this.network.fate(m.from, m.to, this.rngNet, this.fate);
    for (let i = 0; i < n; i++) this.schedule(EV_DELIVER, this.fate[i] as number, m.to, 0, m);
  }

  private deliver(m: Message): void {
    const node = this.node(m.to);
    if (node === undefined || !node.up || node.raft === null || this.network.isBlocked(m.from, m.to)) {
      this.network.dropped++;
      return;
    }
    this.stats.messagesDelivered++;
    const raft = node.raft;
    this.guard(node, () => raft.step(m));
    this.pump(node);
  }

  // ---------------------------------------------------------------- workload

  private pickUpNode(r: SeededRandom): SimNode | null {
    const start = r.nextInt(this.ids.length);
    for (let i = 0; i < this.ids.length; i++) {
      const node = this.node(this.ids[(start + i) % this.ids.length] as number);
      if (node.up && node.raft !== null) return node;
    }
    return null;
  }

  private propose(): void {
    const r = this.rngClient;
    // A client that found no leader backs off before retrying, as real clients do.
    if (this.now < this.proposeBackoffUntil) return;
    let node: SimNode | null = null;
    if (this.clientGuess > 0 && r.nextFloat() < 0.9) {
      const guess = this.node(this.clientGuess);
      if (guess.up && guess.raft !== null) node = guess;
    }
    node ??= this.pickUpNode(r);
    if (node === null) return;
    const raft = node.raft as Raft;
    const id = this.nextProposalId++;
    const data = new Uint8Array(4);
    data[0] = id & 0xff;
    data[1] = (id >>> 8) & 0xff;
    data[2] = (id >>> 16) & 0xff;
    data[3] = (id >>> 24) & 0xff;
    const records = 1 + r.nextInt(this.profile.recordsMax);
    const size = 16 + r.nextInt(this.profile.entryBytesMax);
    try {
      this.guard(node, () => raft.propose(data, records, size));
      node.awaiting.set(id, this.now);
      this.stats.proposals++;
      if (this.isolateLeaderOnNextProposal && !this.calm) {
        this.isolateLeaderOnNextProposal = false;
        this.isolateBriefly(node, `right after it accepted proposal ${id}`);
      }
    } catch (err) {
      if (err instanceof NotLeaderError) {
        this.clientGuess = err.leaderHint >= 0 ? err.leaderHint : -1;
        if (err.leaderHint < 0) this.proposeBackoffUntil = this.now + 5 + r.nextFloat() * 20;
      } else if (!(err instanceof SluiceError)) throw err;
    }
    this.pump(node);
  }

  private read(): void {
    if (this.now < this.readBackoffUntil) return;
    const node = this.pickUpNode(this.rngClient);
    if (node === null) return;
    const raft = node.raft as Raft;
    const ctx = this.nextReadCtx++;
    try {
      this.guard(node, () => raft.readIndex(ctx));
      node.reads.set(ctx, this.checker.highestAcknowledged);
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
      this.readBackoffUntil = this.now + 5 + this.rngClient.nextFloat() * 20;
    }
    this.pump(node);
  }

  // ---------------------------------------------------------------- faults and operations

  private currentLeader(): SimNode | null {
    let best: SimNode | null = null;
    for (const id of this.ids) {
      const node = this.node(id);
      if (node.raft === null || node.raft.role !== "leader") continue;
      if (best === null || node.raft.term > (best.raft as Raft).term) best = node;
    }
    return best;
  }

  private chaos(): void {
    const r = this.rngChaos;
    const roll = r.nextInt(100);
    if (roll < 15) {
      const node = this.pickUpNode(r);
      if (node === null) return;
      this.crash(node);
      this.schedule(EV_RESTART, 10 + r.nextFloat() * 600, node.id, node.incarnation, null);
    } else if (roll < 30) {
      // Leaders are where the interesting bugs live: crash them often, and bring them back soon.
      const leader = this.currentLeader();
      if (leader === null) return;
      this.crash(leader);
      this.schedule(EV_RESTART, 5 + r.nextFloat() * 300, leader.id, leader.incarnation, null);
    } else if (roll < 40) {
      this.partition(r);
    } else if (roll < 65) {
      // Faults at the worst moment (armed now, fired by the next matching event):
      // - the leader is cut off right after it accepts a proposal, before the entry leaves
      //   it: uncommitted tails of different terms pile up on different replicas;
      // - the leader crashes right after its commit point advances, before any follower
      //   learns it: whatever it just committed must survive without it;
      // - a new leader is cut off right after its election, before it replicates anything.
      const trigger = r.nextInt(3);
      if (trigger === 0) this.isolateLeaderOnNextProposal = true;
      else if (trigger === 1) this.crashLeaderOnNextCommit = true;
      else this.isolateNextLeader = true;
    } else if (roll < 72) {
      this.network.conditions = randomConditions(r);
    } else if (roll < 85) {
      this.changeMembership(r);
    } else if (roll < 95) {
      this.transferLeadership(r);
    } else {
      this.network.healAll();
      this.note("partitions healed");
    }
  }

  /** Cuts one node off for a short while; isolations of different nodes overlap freely. */
  private isolateBriefly(node: SimNode, why: string): void {
    this.network.isolate(node.id);
    this.stats.partitions++;
    this.note(`isolated n${node.id} ${why}`);
    this.schedule(EV_HEAL, 10 + this.rngChaos.nextFloat() * 300, node.id, this.windowId, null);
  }

  private partition(r: SeededRandom): void {
    this.network.healAll();
    const ids = this.ids;
    const pattern = r.nextInt(4);
    let healMs = 20 + r.nextFloat() * 700;
    if (pattern <= 1) {
      // Isolate the leader (usually) or any node; leader isolations are short so that
      // leadership flips back and forth while entries of several terms are in flight.
      const leader = this.currentLeader();
      const isolateLeader = leader !== null && r.nextFloat() < 0.8;
      const victim = isolateLeader ? leader.id : (ids[r.nextInt(ids.length)] as number);
      if (isolateLeader) healMs = 10 + r.nextFloat() * 300;
      this.network.isolateGroup([victim], ids);
      this.note(`isolated n${victim}`);
    } else if (pattern === 2) {
      const group = ids.filter(() => r.nextFloat() < 0.5);
      this.network.isolateGroup(group, ids);
      this.note(`split (${group.join(",")}) from the rest`);
    } else {
      const links = 1 + r.nextInt(ids.length);
      for (let i = 0; i < links; i++) {
        const a = ids[r.nextInt(ids.length)] as number;
        const b = ids[r.nextInt(ids.length)] as number;
        if (a !== b) this.network.block(a, b);
      }
      this.note(`blocked ${links} one-way links`);
    }
    this.stats.partitions++;
    this.schedule(EV_HEAL, healMs, -1, this.windowId, null);
  }

  private changeMembership(r: SeededRandom): void {
    const leader = this.currentLeader();
    if (leader === null) return;
    const raft = leader.raft as Raft;
    const config = raft.config;
    const spares = this.ids.filter((id) => !config.voters.includes(asNodeId(id)) && !config.learners.includes(asNodeId(id)));
    const roll = r.nextFloat();
    let change: Parameters<Raft["proposeConfigChange"]>[0] | null = null;
    if (config.learners.length > 0 && roll < 0.35) {
      change = { type: "promote-learner", node: config.learners[r.nextInt(config.learners.length)] as NodeId };
    } else if (spares.length > 0 && roll < 0.6) {
      change = { type: "add-learner", node: asNodeId(spares[r.nextInt(spares.length)] as number) };
    } else if (config.voters.length > this.minVoters && roll < 0.85) {
      const node = config.voters[r.nextInt(config.voters.length)] as NodeId;
      change = r.nextFloat() < 0.7 ? { type: "remove-node", node } : { type: "demote-voter", node };
    } else if (config.learners.length > 0) {
      change = { type: "remove-node", node: config.learners[r.nextInt(config.learners.length)] as NodeId };
    }
    if (change === null) return;
    try {
      const proposed = change;
      this.guard(leader, () => raft.proposeConfigChange(proposed));
      this.stats.configChanges++;
      this.note(`n${leader.id} proposed ${change.type} ${change.node}`);
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
    }
    this.pump(leader);
  }

  private transferLeadership(r: SeededRandom): void {
    const leader = this.currentLeader();
    if (leader === null) return;
    const raft = leader.raft as Raft;
    const voters = raft.config.voters.filter((v) => v !== leader.id);
    if (voters.length === 0) return;
    const to = voters[r.nextInt(voters.length)] as NodeId;
    try {
      this.guard(leader, () => raft.transferLeadership(to));
      this.stats.transfers++;
      this.note(`n${leader.id} transfers leadership to n${to}`);
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
    }
    this.pump(leader);
  }

  /** Compaction: a replica snapshots its state machine at its applied offset and drops the log prefix. */
  private maintain(): void {
    const r = this.rngChaos;
    const node = this.pickUpNode(r);
    if (node === null || node.busy || node.raft === null) return;
    const storage = node.disk.view;
    // Only the state at `applied` is known, so that is where the snapshot is taken.
    const offset = node.applied;
    if (offset - storage.snapshotMeta().offset <= r.nextInt(40)) return;
    node.disk.compact(offset as Offset, encodeMachine(node.machine));
    this.note(`n${node.id} compacted to ${offset}`);
  }
}
