// Proves the Raft driver runs real clusters: three brokers over the real TCP transport on
// loopback elect leaders, commit proposals identically everywhere, survive the leader's
// driver being stopped (new leader, committed entries intact, the old leader recovers them
// from its write-ahead log), settle every proposal with the right typed outcome, and send the
// heartbeats of all groups between two brokers as one message per tick.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { StorageError, type Offset } from "@sluice/protocol";
import { NodeStorageFs, SimStorageFs } from "../../storage/index.js";
import { NotLeaderError } from "../core/errors.js";
import type { BrokerEnvelope, GroupId } from "../core/multi-group.js";
import type { Entry, NodeId } from "../core/types.js";
import { TcpTransport } from "../transport/tcp-transport.js";
import type { EnvelopeHandler, Transport } from "../transport/transport.js";
import { RaftDriver, type DriverTimers } from "./driver.js";
import {
  DriverStoppedError,
  InvalidDriverRequestError,
  ProposalBackpressureError,
  ProposalDroppedError,
  ProposalTimeoutError,
  UnknownGroupError,
} from "./errors.js";
import type { DriverLimits } from "./limits.js";
import { MemoryPersistence, type RaftPersistence } from "./persistence.js";
import { WalPersistence } from "./wal.js";

const HOST = "127.0.0.1";
const IDS = [1, 2, 3] as NodeId[];
const TICK_MS = 10;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-raft-driver-"));
  dirs.push(dir);
  return dir;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Fault injection around the real transport: while cut, nothing is sent or delivered. */
class CuttableTransport implements Transport {
  cut = false;
  pauses = 0;
  paused = false;
  constructor(readonly inner: TcpTransport) {}
  get localId(): NodeId {
    return this.inner.localId;
  }
  setHandler(handler: EnvelopeHandler | null): void {
    this.inner.setHandler(handler === null ? null : (e: BrokerEnvelope) => (this.cut ? undefined : handler(e)));
  }
  send(envelope: BrokerEnvelope): boolean {
    return this.cut ? false : this.inner.send(envelope);
  }
  pauseInbound(): void {
    this.pauses++;
    this.paused = true;
    this.inner.pauseInbound();
  }
  resumeInbound(): void {
    this.paused = false;
    this.inner.resumeInbound();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

class Broker {
  /** Entries applied per group, in order. */
  readonly applied = new Map<GroupId, Entry[]>();
  driver!: RaftDriver;
  transport!: CuttableTransport;
  persistence!: RaftPersistence;

  constructor(
    readonly id: NodeId,
    readonly dir: string | null,
    readonly makePersistence?: () => Promise<RaftPersistence>,
  ) {}

  async start(port = 0, timers?: DriverTimers, limits: Partial<DriverLimits> = {}): Promise<void> {
    this.transport = new CuttableTransport(await TcpTransport.start({ id: this.id, host: HOST, port }));
    if (this.makePersistence !== undefined) this.persistence = await this.makePersistence();
    else this.persistence = this.dir === null ? new MemoryPersistence() : await WalPersistence.open({ fs: new NodeStorageFs(), dir: this.dir });
    this.applied.clear();
    this.driver = new RaftDriver({
      id: this.id,
      transport: this.transport,
      persistence: this.persistence,
      limits: { tickMs: TICK_MS, ...limits },
      ...(timers === undefined ? {} : { timers }),
      stateMachine: {
        apply: (group, entries) => {
          let list = this.applied.get(group);
          if (list === undefined) this.applied.set(group, (list = []));
          list.push(...entries);
        },
      },
    });
    this.driver.start();
  }

  get port(): number {
    return this.transport.inner.port;
  }

  dataOf(group: GroupId): string[] {
    return (this.applied.get(group) ?? []).filter((e) => e.kind === "data").map((e) => `${e.baseOffset}:${Buffer.from((e as { data: Uint8Array }).data).toString()}`);
  }

  async stop(): Promise<void> {
    await this.driver.stop();
    await this.transport.close();
    await this.persistence.close();
  }
}

const running: Broker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => (b.driver.running ? b.stop() : b.transport.close())));
});

interface ClusterOptions {
  readonly wal?: boolean;
  readonly timers?: DriverTimers;
  /** Broker 2's persistence (default: memory, or a WAL on disk with `wal`). */
  readonly persistenceOf2?: () => Promise<RaftPersistence>;
  readonly limits?: Partial<DriverLimits>;
}

async function cluster(options: ClusterOptions = {}): Promise<Broker[]> {
  const brokers: Broker[] = [];
  for (const id of IDS) {
    const b = new Broker(id, options.wal === true ? await tempDir() : null, id === 2 ? options.persistenceOf2 : undefined);
    await b.start(0, options.timers, options.limits);
    brokers.push(b);
    running.push(b);
  }
  await connect(brokers);
  return brokers;
}

async function connect(brokers: readonly Broker[]): Promise<void> {
  for (const a of brokers) for (const b of brokers) if (a !== b) a.transport.inner.setPeer(b.id, { host: HOST, port: b.port });
  await waitFor("all brokers connected", () => brokers.every((a) => brokers.every((b) => a === b || a.transport.inner.isConnected(b.id))));
}

function addGroups(brokers: readonly Broker[], groups: readonly GroupId[]): void {
  for (const b of brokers) for (const g of groups) b.driver.addGroup(g, { config: { voters: IDS, learners: [] } });
}

/** The broker every live member agrees leads `group`. */
async function leaderOf(brokers: readonly Broker[], group: GroupId): Promise<Broker> {
  let leader: Broker | undefined;
  await waitFor(`a leader for group ${group}`, () => {
    const views = brokers.map((b) => b.driver.leaderOf(group));
    leader = brokers.find((b) => b.id === views[0] && b.driver.status(group).role === "leader");
    return leader !== undefined && views.every((v) => v === leader!.id);
  });
  return leader!;
}

const text = (s: string): Buffer => Buffer.from(s);

describe("RaftDriver: three brokers over TCP on loopback", () => {
  it("elects a leader per group and commits proposals identically on every replica", async () => {
    const brokers = await cluster();
    const groups = [0, 1, 2, 3, 4, 5, 6, 7].map((g) => g as GroupId);
    addGroups(brokers, groups);
    for (const g of groups) {
      const leader = await leaderOf(brokers, g);
      const committed = await Promise.all(Array.from({ length: 30 }, (_, i) => leader.driver.propose(g, text(`g${g}-${i}`))));
      // Offsets are assigned in proposal order and each promise carries its own entry.
      expect(committed.map((e) => Buffer.from(e.data).toString())).toEqual(Array.from({ length: 30 }, (_, i) => `g${g}-${i}`));
      for (let i = 1; i < committed.length; i++) expect(committed[i]!.baseOffset).toBe(committed[i - 1]!.lastOffset + 1);
      // Promises resolve after the leader's state machine applied the entry.
      expect(leader.dataOf(g).slice(-30)).toEqual(committed.map((e) => `${e.baseOffset}:${Buffer.from(e.data).toString()}`));
    }
    for (const g of groups) {
      await waitFor(`group ${g} applied everywhere`, () => brokers.every((b) => b.dataOf(g).length === 30));
      const [a, b, c] = brokers.map((x) => x.dataOf(g));
      expect(b).toEqual(a);
      expect(c).toEqual(a);
    }
    // A follower refuses proposals with the core's typed error, naming the leader.
    const leader0 = await leaderOf(brokers, groups[0]!);
    const follower = brokers.find((b) => b !== leader0)!;
    const refused = await follower.driver.propose(groups[0]!, text("nope")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotLeaderError);
    expect((refused as NotLeaderError).leaderHint).toBe(leader0.id);
    // Linearizable reads from leader and follower see at least everything committed before.
    const last = Math.max(...(leader0.applied.get(groups[0]!) ?? []).map((e) => e.lastOffset));
    expect(await leader0.driver.readIndex(groups[0]!)).toBeGreaterThanOrEqual(last);
    expect(await follower.driver.readIndex(groups[0]!)).toBeGreaterThanOrEqual(last);
  });

  it("survives the leader's driver being stopped: a new leader commits, and the old one recovers its log from the WAL", async () => {
    const brokers = await cluster({ wal: true });
    const g = 0 as GroupId;
    addGroups(brokers, [g]);
    const first = await leaderOf(brokers, g);
    for (let i = 0; i < 20; i++) await first.driver.propose(g, text(`before-${i}`));
    // In flight while the leader stops: each settles, committed or "outcome unknown", never silently.
    const inFlight = Array.from({ length: 10 }, (_, i) => first.driver.propose(g, text(`during-${i}`)).then(() => "committed", (e: unknown) => e));
    const port = first.port;
    await first.stop();
    for (const outcome of await Promise.all(inFlight)) {
      if (outcome !== "committed") {
        expect(outcome).toBeInstanceOf(ProposalTimeoutError);
        expect((outcome as ProposalTimeoutError).reason).toBe("stopped");
      }
    }
    expect(await first.driver.propose(g, text("late")).catch((e: unknown) => e)).toBeInstanceOf(DriverStoppedError);

    const survivors = brokers.filter((b) => b !== first);
    const second = await leaderOf(survivors, g);
    expect(second.id).not.toBe(first.id);
    for (let i = 0; i < 20; i++) await second.driver.propose(g, text(`after-${i}`));
    const committedBefore = Array.from({ length: 20 }, (_, i) => `before-${i}`);
    for (const b of survivors) {
      const data = b.dataOf(g).map((d) => d.split(":")[1]);
      expect(data.slice(0, 20)).toEqual(committedBefore);
    }

    // Restart the old leader from its write-ahead log on the same address.
    await first.start(port);
    await connect(brokers);
    first.driver.addGroup(g, { config: { voters: IDS, learners: [] } });
    expect(first.persistence.storedGroups()).toEqual([g]);
    await waitFor("old leader caught up", () => first.dataOf(g).length === second.dataOf(g).length && first.dataOf(g).at(-1) === second.dataOf(g).at(-1));
    expect(first.dataOf(g)).toEqual(second.dataOf(g));
    expect(brokers.map((b) => b.dataOf(g).length)).toEqual(brokers.map(() => second.dataOf(g).length));
  });

  it("rejects proposals a new leader overwrote with ProposalDroppedError, and times out those without a quorum", async () => {
    const brokers = await cluster();
    const g = 0 as GroupId;
    addGroups(brokers, [g]);
    const old = await leaderOf(brokers, g);
    await old.driver.propose(g, text("shared"));

    // Cut the leader off: what it accepts now can only be appended to its own log.
    old.transport.cut = true;
    const doomed = Array.from({ length: 5 }, (_, i) => old.driver.propose(g, text(`doomed-${i}`), { timeoutMs: 60_000 }).catch((e: unknown) => e));
    const others = brokers.filter((b) => b !== old);
    const next = await leaderOf(others, g);
    for (let i = 0; i < 8; i++) await next.driver.propose(g, text(`winner-${i}`));

    old.transport.cut = false;
    for (const outcome of await Promise.all(doomed)) expect(outcome).toBeInstanceOf(ProposalDroppedError);
    await waitFor("old leader converged", () => old.dataOf(g).length === next.dataOf(g).length);
    expect(old.dataOf(g)).toEqual(next.dataOf(g));
    expect(old.dataOf(g).some((d) => d.includes("doomed"))).toBe(false);

    // Without a quorum, a proposal's outcome is unknown after its timeout.
    const leader = await leaderOf(brokers, g);
    for (const b of brokers) if (b !== leader) b.transport.cut = true;
    const timedOut = await leader.driver.propose(g, text("alone"), { timeoutMs: 5 * TICK_MS }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(ProposalTimeoutError);
    expect((timedOut as ProposalTimeoutError).reason).toBe("timeout");
  });

  it("keeps committing when inbound flow control pauses the transport after every append", async () => {
    const brokers = await cluster({ limits: { inboundBytesPauseMax: 1 } });
    const g = 0 as GroupId;
    addGroups(brokers, [g]);
    const leader = await leaderOf(brokers, g);
    const big = Buffer.alloc(200 * 1024, 3);
    const committed = await Promise.all(Array.from({ length: 40 }, () => leader.driver.propose(g, big)));
    expect(committed).toHaveLength(40);
    await waitFor("followers applied all", () => brokers.every((b) => b.dataOf(g).length === 40));
    const followers = brokers.filter((b) => b !== leader);
    expect(followers.every((b) => b.transport.pauses > 0 && !b.transport.paused)).toBe(true);
  });

  it("refuses bad requests with typed errors and rejects a removed group's proposals", async () => {
    const brokers = await cluster({ limits: { pendingProposalsMax: 3 } });
    const g = 0 as GroupId;
    addGroups(brokers, [g]);
    const leader = await leaderOf(brokers, g);
    expect(() => leader.driver.addGroup(g)).toThrow(InvalidDriverRequestError);
    await expect(leader.driver.propose(77 as GroupId, text("x"))).rejects.toBeInstanceOf(UnknownGroupError);
    const e = await leader.driver.propose(g, text("applied"));
    expect(() => leader.driver.compact(g, (e.lastOffset + 5) as Offset)).toThrow(InvalidDriverRequestError);
    leader.driver.compact(g, e.lastOffset); // an applied boundary: fine

    for (const b of brokers) if (b !== leader) b.transport.cut = true;
    const stuck = [0, 1, 2].map((i) => leader.driver.propose(g, text(`stuck-${i}`)).catch((err: unknown) => err));
    await expect(leader.driver.propose(g, text("one too many"))).rejects.toBeInstanceOf(ProposalBackpressureError);
    leader.driver.removeGroup(g);
    for (const outcome of await Promise.all(stuck)) {
      expect(outcome).toBeInstanceOf(ProposalTimeoutError);
      expect((outcome as ProposalTimeoutError).reason).toBe("group-removed");
    }
    expect(leader.driver.hasGroup(g)).toBe(false);
    expect(leader.persistence.storedGroups()).toEqual([]);
  });

  it("drops a message the core refuses as malformed, and the group carries on", async () => {
    const brokers = await cluster();
    const g = 0 as GroupId;
    addGroups(brokers, [g]);
    const leader = await leaderOf(brokers, g);
    const follower = brokers.find((b) => b !== leader)!;
    // Well-formed on the wire, but acknowledging far beyond the leader's log: the core refuses it.
    const term = leader.driver.status(g).term;
    leader.driver.receive({
      from: follower.id,
      to: leader.id,
      heartbeats: [],
      heartbeatResponses: [],
      messages: [
        {
          group: g,
          message: { type: "append-resp", from: follower.id, to: leader.id, term, reject: false, matchOffset: 1_000_000 as Offset, rejectHint: -1 as Offset, hintTerm: 0 as never },
        },
      ],
    });
    await leader.driver.idle();
    expect(leader.driver.stats()).toMatchObject({ messagesRejected: 1, failedGroups: 0 });
    expect(leader.driver.status(g).commit).toBeLessThan(1_000_000);
    const entry = await leader.driver.propose(g, text("still fine"));
    await waitFor("replicated", () => brokers.every((b) => b.dataOf(g).includes(`${entry.baseOffset}:still fine`)));
  });

  for (const groupCount of [20, 300]) {
    it(`sends the heartbeats of all ${groupCount} groups between two brokers as one message per tick`, async () => {
      const manual: DriverTimers = { setInterval: () => ({ cancel: () => undefined }), nowMs: () => 0 };
      const brokers = await cluster({ timers: manual });
      const groups = Array.from({ length: groupCount }, (_, i) => i as GroupId);
      addGroups(brokers, groups);
      const [b1, b2, b3] = brokers as [Broker, Broker, Broker];
      for (const g of groups) b1.driver.campaign(g);
      await waitFor("broker 1 leads every group", () => groups.every((g) => b2.driver.leaderOf(g) === b1.id && b3.driver.leaderOf(g) === b1.id));
      // Let commit indexes settle (they travel with heartbeats), then count from a quiet state.
      for (let i = 0; i < 3; i++) await settleTick(brokers, b1);

      const sent12 = b1.transport.inner.peerStats(b2.id)!.framesSent;
      const sent21 = b2.transport.inner.peerStats(b1.id)!.framesSent;
      const received2 = b2.driver.stats().messagesReceived;
      const ticks = 4;
      for (let i = 0; i < ticks; i++) await settleTick(brokers, b1);
      expect(b1.transport.inner.peerStats(b2.id)!.framesSent - sent12).toBe(ticks);
      expect(b2.transport.inner.peerStats(b1.id)!.framesSent - sent21).toBe(ticks);
      expect(b2.driver.stats().messagesReceived - received2).toBe(ticks * groupCount);
    });
  }

  it("acknowledges appends only after the follower's fsync, so nothing commits without a durable quorum", async () => {
    const fs = new SimStorageFs();
    const brokers = await cluster({ persistenceOf2: () => WalPersistence.open({ fs, dir: "/raft" }) });
    const g = 0 as GroupId;
    addGroups(brokers, [g]);
    const [b1, b2, b3] = brokers as [Broker, Broker, Broker];
    b1.driver.campaign(g);
    expect((await leaderOf(brokers, g)).id).toBe(b1.id);
    const a = await b1.driver.propose(g, text("a"));
    b3.transport.cut = true; // the quorum is now {1, 2}: commit needs broker 2's durable copy

    fs.holdSyncs();
    let settled = false;
    const b = b1.driver.propose(g, text("b")).finally(() => (settled = true));
    try {
      await waitFor("broker 2 wrote b, its fsync held", () => fs.heldSyncCount > 0 && (b2.persistence as WalPersistence).storage(g)!.lastOffset() > a.lastOffset);
      // Give a premature acknowledgement every chance to arrive and commit.
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBe(false);
      expect(b1.driver.status(g).commit).toBe(a.lastOffset);
    } finally {
      fs.releaseSyncs();
    }
    expect((await b).baseOffset).toBe(a.lastOffset + 1);
  });

  it("stops with a typed error when persistence fails, and acknowledges nothing after it", async () => {
    const fs = new SimStorageFs();
    const persistence = await WalPersistence.open({ fs, dir: "/raft" });
    const transport = await TcpTransport.start({ id: 1 as NodeId, host: HOST });
    const fatal: Error[] = [];
    const applied: Entry[] = [];
    const driver = new RaftDriver({
      id: 1 as NodeId,
      transport,
      persistence,
      limits: { tickMs: TICK_MS },
      stateMachine: { apply: (_g, entries) => applied.push(...entries) },
      onFatal: (e) => fatal.push(e),
    });
    try {
      driver.start();
      const g = 9 as GroupId;
      driver.addGroup(g, { config: { voters: [1 as NodeId], learners: [] } });
      driver.campaign(g);
      const ok = await driver.propose(g, text("durable"));
      expect(ok.baseOffset).toBe(1 as Offset); // after the leader's noop at offset 0
      fs.injectFault({ op: "datasync", code: "EIO" });
      const outcome = await driver.propose(g, text("lost")).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(ProposalTimeoutError);
      expect((outcome as ProposalTimeoutError).reason).toBe("stopped");
      expect(fatal).toHaveLength(1);
      expect((fatal[0] as DriverStoppedError).cause).toBeInstanceOf(StorageError);
      expect(applied.filter((e) => e.kind === "data").map((e) => Buffer.from((e as { data: Uint8Array }).data).toString())).toEqual(["durable"]);
      expect(await driver.propose(g, text("after")).catch((e: unknown) => e)).toBeInstanceOf(DriverStoppedError);
      expect(driver.running).toBe(false);
    } finally {
      await driver.stop();
      await transport.close();
    }
  });
});

/** One tick on `ticker`, then waits until every broker has processed what that tick caused. */
async function settleTick(brokers: readonly Broker[], ticker: Broker): Promise<void> {
  const before = brokers.map((b) => b.driver.stats().passes);
  await ticker.driver.tick();
  // The heartbeat envelope reaches the others, they answer, the ticker handles the answers.
  await waitFor("tick round trip", () => brokers.every((b, i) => b === ticker || b.driver.stats().passes > before[i]!));
  for (const b of brokers) await b.driver.idle();
  await waitFor("answers handled", () => ticker.driver.stats().passes >= before[brokers.indexOf(ticker)]! + 2);
  for (const b of brokers) await b.driver.idle();
}
