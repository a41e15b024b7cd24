/**
 * One process of `npm run bench -- raft` (bench/raft.ts forks it with
 * `node --conditions=source --import tsx`): either a Raft replica (RaftDriver + TcpTransport on
 * loopback + WalPersistence in a temp dir, or MemoryPersistence for the no-disk comparison) or,
 * for the baseline, a raw TCP sink.
 *
 * The parent drives it over the IPC channel (messages below) and reads its measurements:
 * commit latencies at the leader, process CPU time, transport frames per peer and ticks.
 */
import { createServer } from "node:net";
import { asGroupId } from "../../broker/src/raft/core/multi-group.js";
import { UncommittedBytesLimitError } from "../../broker/src/raft/core/errors.js";
import type { NodeId } from "../../broker/src/raft/core/types.js";
import { RaftDriver } from "../../broker/src/raft/driver/driver.js";
import { MemoryPersistence, type RaftPersistence } from "../../broker/src/raft/driver/persistence.js";
import { WalPersistence } from "../../broker/src/raft/driver/wal.js";
import { TcpTransport } from "../../broker/src/raft/transport/tcp-transport.js";
import { NodeStorageFs } from "../../broker/src/storage/index.js";

export type ParentMessage =
  | { readonly type: "peers"; readonly peers: ReadonlyArray<{ readonly id: number; readonly port: number }> }
  | { readonly type: "load"; readonly seconds: number; readonly inflight: number; readonly entryBytes: number }
  | { readonly type: "measure-start" }
  | { readonly type: "measure-stop" }
  | { readonly type: "exit" };

export interface PeerMeasure {
  readonly peer: number;
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export interface Measure {
  readonly wallMs: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly ticks: number;
  readonly passes: number;
  readonly syncs: number;
  readonly peers: readonly PeerMeasure[];
}

export type ChildMessage =
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "status"; readonly leading: number; readonly withLeader: number; readonly groups: number }
  | {
      readonly type: "load-result";
      readonly committed: number;
      readonly failed: number;
      readonly backpressured: number;
      readonly elapsedMs: number;
      readonly latenciesMs: readonly number[];
      readonly measure: Measure;
      readonly walSyncs: number;
    }
  | { readonly type: "measure"; readonly measure: Measure }
  | { readonly type: "sink-result"; readonly bytes: number; readonly frames: number; readonly ms: number }
  | { readonly type: "error"; readonly message: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

function fail(error: unknown): never {
  send({ type: "error", message: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error) });
  process.exit(1);
}

async function runSink(): Promise<void> {
  let bytes = 0;
  let frames = 0;
  let need = -1; // bytes left of the current frame body, -1 = reading a length prefix
  let prefix = Buffer.alloc(0);
  let first = 0;
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on("data", (chunk: Buffer) => {
      if (first === 0) first = performance.now();
      bytes += chunk.length;
      let at = 0;
      while (at < chunk.length) {
        if (need < 0) {
          const take = Math.min(4 - prefix.length, chunk.length - at);
          prefix = Buffer.concat([prefix, chunk.subarray(at, at + take)]);
          at += take;
          if (prefix.length === 4) {
            need = prefix.readUInt32BE(0);
            prefix = Buffer.alloc(0);
          }
        } else {
          const take = Math.min(need, chunk.length - at);
          need -= take;
          at += take;
          if (need === 0) {
            frames++;
            need = -1;
          }
        }
      }
    });
    socket.on("end", () => {
      send({ type: "sink-result", bytes, frames, ms: performance.now() - first });
      socket.end();
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    send({ type: "listening", port: typeof address === "object" && address !== null ? address.port : 0 });
  });
  process.on("message", (m: ParentMessage) => {
    if (m.type === "exit") process.exit(0);
  });
}

async function runReplica(id: NodeId, dir: string, groups: number, tickMs: number, campaign: "group0" | "spread", durable: boolean): Promise<void> {
  const transport = await TcpTransport.start({ id, host: "127.0.0.1", port: 0 });
  const wal = durable ? await WalPersistence.open({ fs: new NodeStorageFs(), dir }) : null;
  const persistence: RaftPersistence = wal ?? new MemoryPersistence();
  const syncCount = (): number => (wal === null ? 0 : wal.stats.syncs);
  const driver = new RaftDriver({
    id,
    transport,
    persistence,
    limits: { tickMs },
    stateMachine: { apply: () => undefined },
    onFatal: fail,
  });
  const ids = [1, 2, 3] as NodeId[];
  let peerIds: NodeId[] = [];
  send({ type: "listening", port: transport.port });

  const measureStart = (): (() => Measure) => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const s0 = driver.stats();
    const p0 = peerIds.map((p) => transport.peerStats(p)!);
    return () => {
      const cpu = process.cpuUsage(cpu0);
      const s1 = driver.stats();
      return {
        wallMs: performance.now() - t0,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        ticks: s1.ticks - s0.ticks,
        passes: s1.passes - s0.passes,
        syncs: s1.syncs - s0.syncs,
        peers: peerIds.map((peer, i) => {
          const now = transport.peerStats(peer)!;
          const before = p0[i]!;
          return {
            peer,
            framesSent: now.framesSent - before.framesSent,
            framesReceived: now.framesReceived - before.framesReceived,
            bytesSent: now.bytesSent - before.bytesSent,
            bytesReceived: now.bytesReceived - before.bytesReceived,
          };
        }),
      };
    };
  };
  let stopMeasure: (() => Measure) | null = null;
  let statusTimer: NodeJS.Timeout | null = null;
  let compactTimer: NodeJS.Timeout | null = null;

  const status = (): void => {
    let leading = 0;
    let withLeader = 0;
    for (const g of driver.groupIds()) {
      const lead = driver.leaderOf(g);
      if (lead === id) leading++;
      if (lead >= 0) withLeader++;
    }
    send({ type: "status", leading, withLeader, groups: groups });
  };

  // Keep the in-memory log short: drop what every replica has (leader) or what was applied (follower).
  const compact = (): void => {
    const g = asGroupId(0);
    if (!driver.hasGroup(g)) return;
    const st = driver.status(g);
    let upTo: number = st.applied;
    if (st.progress !== null) for (const pr of st.progress.values()) upTo = Math.min(upTo, pr.match);
    if (upTo > st.firstOffset + 64) driver.compact(g, upTo as never);
  };

  async function load(seconds: number, inflightMax: number, entryBytes: number): Promise<void> {
    const g = asGroupId(0);
    const payload = Buffer.alloc(entryBytes, 0x5a);
    const latencies: number[] = [];
    let committed = 0;
    let failed = 0;
    let backpressured = 0;
    let inflight = 0;
    let running = true;
    const measure = measureStart();
    const walSyncs0 = syncCount();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const launch = (): void => {
        while (running && inflight < inflightMax) {
          const started = performance.now();
          inflight++;
          driver.propose(g, payload).then(
            () => {
              inflight--;
              committed++;
              latencies.push(performance.now() - started);
              if (running) launch();
              else if (inflight === 0) resolve();
            },
            (error: unknown) => {
              inflight--;
              if (error instanceof UncommittedBytesLimitError) backpressured++;
              else failed++;
              if (running) setTimeout(launch, 1);
              else if (inflight === 0) resolve();
            },
          );
        }
      };
      launch();
      setTimeout(() => {
        running = false;
        if (inflight === 0) resolve();
      }, seconds * 1000);
    });
    const elapsedMs = performance.now() - t0;
    send({
      type: "load-result",
      committed,
      failed,
      backpressured,
      elapsedMs,
      latenciesMs: latencies,
      measure: measure(),
      walSyncs: syncCount() - walSyncs0,
    });
  }

  process.on("message", (m: ParentMessage) => {
    void (async () => {
      switch (m.type) {
        case "peers": {
          for (const p of m.peers) if (p.id !== id) transport.setPeer(p.id as NodeId, { host: "127.0.0.1", port: p.port });
          peerIds = ids.filter((p) => p !== id);
          for (let g = 0; g < groups; g++) driver.addGroup(asGroupId(g), { config: { voters: ids, learners: [] } });
          driver.start();
          while (!peerIds.every((p) => transport.isConnected(p))) await new Promise((r) => setTimeout(r, 5));
          const mine = (g: number): boolean => (campaign === "group0" ? g === 0 && id === 1 : g % ids.length === id - 1);
          for (let g = 0; g < groups; g++) if (mine(g)) driver.campaign(asGroupId(g));
          statusTimer = setInterval(status, 200);
          compactTimer = setInterval(compact, 200);
          break;
        }
        case "load":
          await load(m.seconds, m.inflight, m.entryBytes);
          break;
        case "measure-start":
          stopMeasure = measureStart();
          break;
        case "measure-stop":
          if (stopMeasure !== null) send({ type: "measure", measure: stopMeasure() });
          break;
        case "exit":
          if (statusTimer !== null) clearInterval(statusTimer);
          if (compactTimer !== null) clearInterval(compactTimer);
          await driver.stop();
          await transport.close();
          await persistence.close();
          process.exit(0);
      }
    })().catch(fail);
  });
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "sink") {
  runSink().catch(fail);
} else if (mode === "replica") {
  const [id, dir, groups, tickMs, campaign, persistence] = args;
  runReplica(Number(id) as NodeId, String(dir), Number(groups), Number(tickMs), campaign === "spread" ? "spread" : "group0", persistence !== "memory").catch(fail);
} else {
  fail(new Error(`usage: raft-node.ts sink | replica <id> <dir> <groups> <tickMs> <group0|spread> <wal|memory>`));
}
