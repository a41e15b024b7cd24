/**
 * Raft runtime benchmark: `npm run bench -- raft [--seconds 10] [--inflight 64] [--entry-kib 64]
 * [--idle-groups 10000] [--idle-groups-small 1000] [--idle-seconds 10] [--tick-ms 100]
 * [--baseline-seconds 3] [--only load|idle]`. RAFT_BENCH_PROF=1 profiles the replica processes.
 *
 * Three replicas, each a separate process (bench/support/raft-node.ts, forked with
 * `node --conditions=source --import tsx`), connected by the raw-TCP Raft transport on
 * 127.0.0.1, each persisting to its own write-ahead log (WalPersistence) in a temp dir with one
 * fdatasync per driver pass (group commit).
 *
 * 1. tcp_baseline_mb_s: raw TCP throughput of length-prefixed 64 KiB frames from this process
 *    to a sink process, in the same run (the ceiling the replication path runs under).
 * 2. One group; the leader's process proposes `entry-kib` entries as fast as the pipeline
 *    allows (at most `inflight` awaiting commit) for `seconds`: commit_entries_s, commit_mb_s
 *    (10^6 bytes/s of entry payload), commit_p50_ms / commit_p99_ms (propose -> committed at
 *    the leader, applied included), commit_ratio = commit_mb_s / tcp_baseline_mb_s.
 *    All three replicas write to the same disk, so the run is also compared with
 *    disk_baseline_mb_s (three parallel writers, fdatasync per MiB, same run):
 *    disk_ratio = 3 x commit_mb_s / disk_baseline_mb_s. The same load against in-memory logs
 *    (commit_mb_s_memory, half the seconds) shows what the runtime does without the disk.
 * 3. `idle-groups` groups per broker (leadership spread over the three brokers), after every
 *    group has a leader: for `idle-seconds`, broker 1's idle_cpu_pct (process CPU time / wall
 *    time) and heartbeat_msgs_s (transport frames per second between brokers 1 and 2, both
 *    directions), with ticks_s. Then the same with `idle-groups-small` groups
 *    (heartbeat_msgs_s_1k_groups): heartbeats are coalesced per broker pair, so the message
 *    rate follows ticks, not groups. The baseline for the CPU is the core floor
 *    (support/raft-core-floor.ts): the same groups' pure cores exchanging heartbeats in memory
 *    in this process; idle_vs_core_floor = broker 1's CPU per tick / the floor's. When the
 *    machine cannot give a broker the CPU a tick needs, ticks run late (ticks_s < 1000 /
 *    tick-ms) and idle_cpu_pct understates the load; idle_cpu_pct_at_nominal_ticks = CPU per
 *    tick / tick-ms is what the broker would use at the configured rate.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { coreFloorMsPerTick } from "./support/raft-core-floor.js";
import type { ChildMessage, Measure, ParentMessage } from "./support/raft-node.js";
import { numberOption, percentile, printTable, type BenchOptions, type BenchResult } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const nodeEntry = join(here, "support", "raft-node.ts");
const KiB = 1024;

/** RAFT_BENCH_PROF=1 makes every child write a V8 CPU profile into <tmpdir>/sluice-raft-prof on exit. */
function profileArgs(): string[] {
  return process.env["RAFT_BENCH_PROF"] === "1" ? ["--cpu-prof", `--cpu-prof-dir=${join(tmpdir(), "sluice-raft-prof")}`] : [];
}

class Child {
  readonly process: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private waiters: Array<() => void> = [];
  exited = false;

  constructor(args: readonly string[]) {
    this.process = fork(nodeEntry, args, {
      execArgv: ["--conditions=source", "--import", "tsx", ...profileArgs()],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.process.on("message", (m: ChildMessage) => {
      if (m.type === "error") console.error(`raft-node ${args.join(" ")} failed: ${m.message}`);
      this.inbox.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    this.process.on("exit", () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(m: ParentMessage): void {
    this.process.send(m);
  }

  /** The next message of `type` (older ones of other types stay queued); rejects on timeout or child error. */
  async next<T extends ChildMessage["type"]>(type: T, timeoutMs = 120_000): Promise<Extract<ChildMessage, { type: T }>> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type || m.type === "error");
      if (i >= 0) {
        const [m] = this.inbox.splice(i, 1) as [ChildMessage];
        if (m.type === "error") throw new Error(`child failed: ${m.message}`);
        return m as Extract<ChildMessage, { type: T }>;
      }
      if (this.exited) throw new Error(`child exited while waiting for ${type}`);
      const left = until - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The newest message of `type` received so far (status reports), dropping older ones. */
  latest<T extends ChildMessage["type"]>(type: T): Extract<ChildMessage, { type: T }> | undefined {
    let found: ChildMessage | undefined;
    for (let i = this.inbox.length - 1; i >= 0; i--) {
      const m = this.inbox[i] as ChildMessage;
      if (m.type === type) {
        if (found === undefined) found = m;
        this.inbox.splice(i, 1);
      }
    }
    return found as Extract<ChildMessage, { type: T }> | undefined;
  }

  async exit(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.send({ type: "exit" });
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 10_000);
    await done;
    clearTimeout(timer);
  }
}

async function tcpBaseline(seconds: number, frameBytes: number): Promise<{ mbS: number; frames: number }> {
  const sink = new Child(["sink"]);
  try {
    const { port } = await sink.next("listening");
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const frame = Buffer.alloc(4 + frameBytes, 0x5a);
    frame.writeUInt32BE(frameBytes, 0);
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      // Write a burst, then wait for the socket to drain: the sender never queues unboundedly.
      let ok = true;
      for (let i = 0; i < 64 && ok; i++) ok = socket.write(frame);
      if (!ok) await new Promise<void>((resolve) => socket.once("drain", resolve));
    }
    socket.end();
    const result = await sink.next("sink-result");
    return { mbS: result.bytes / 1e6 / (result.ms / 1000), frames: result.frames };
  } finally {
    await sink.exit();
  }
}

/**
 * Durable sequential write bandwidth of the temp dir's disk: `writers` files written in
 * parallel (the three replicas share one disk), fdatasync after every 1 MiB, for `seconds`.
 */
function diskBaseline(seconds: number, writers: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-raft-disk-"));
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  let bytes = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const writer = async (i: number): Promise<void> => {
    const file = await open(join(dir, `w${i}`), "w");
    try {
      while (performance.now() < until) {
        await file.write(chunk);
        await file.datasync();
        bytes += chunk.length;
      }
    } finally {
      await file.close();
    }
  };
  return Promise.all(Array.from({ length: writers }, (_, i) => writer(i)))
    .then(() => bytes / 1e6 / ((performance.now() - started) / 1000))
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

interface Cluster {
  readonly children: readonly Child[];
  readonly dir: string;
}

async function startCluster(groups: number, tickMs: number, campaign: "group0" | "spread", persistence: "wal" | "memory" = "wal"): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-raft-"));
  const children = [1, 2, 3].map(
    (id) => new Child(["replica", String(id), join(dir, `broker-${id}`), String(groups), String(tickMs), campaign, persistence]),
  );
  try {
    const ports = await Promise.all(children.map((c) => c.next("listening")));
    const peers = ports.map((p, i) => ({ id: i + 1, port: p.port }));
    for (const c of children) c.send({ type: "peers", peers });
    return { children, dir };
  } catch (error) {
    await stopCluster({ children, dir });
    throw error;
  }
}

async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.children.map((c) => c.exit()));
  rmSync(cluster.dir, { recursive: true, force: true });
}

/** Waits until every broker sees a leader for every group; returns the statuses. */
async function waitForLeaders(cluster: Cluster, groups: number, timeoutMs = 120_000): Promise<number[]> {
  const until = performance.now() + timeoutMs;
  const leading = cluster.children.map(() => 0);
  const ready = cluster.children.map(() => false);
  while (!ready.every(Boolean)) {
    if (performance.now() > until) throw new Error(`groups without a leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
    cluster.children.forEach((c, i) => {
      if (c.exited) throw new Error(`replica ${i + 1} exited`);
      const s = c.latest("status");
      if (s === undefined) return;
      leading[i] = s.leading;
      ready[i] = s.withLeader === groups;
    });
  }
  return leading;
}

function cpuPct(m: Measure): number {
  return ((m.cpuUserUs + m.cpuSystemUs) / 1000 / m.wallMs) * 100;
}

/** Frames per second between broker 1 and broker 2 (both directions), as counted at broker 1. */
function pairMsgsS(m: Measure): number {
  const p = m.peers.find((x) => x.peer === 2);
  if (p === undefined) throw new Error("broker 1 has no stats for broker 2");
  return (p.framesSent + p.framesReceived) / (m.wallMs / 1000);
}

async function idleRun(groups: number, seconds: number, tickMs: number): Promise<{ cpuPct: number; msgsS: number; ticksS: number; bytesS: number; leading: number[]; settleS: number }> {
  const started = performance.now();
  const cluster = await startCluster(groups, tickMs, "spread");
  try {
    const leading = await waitForLeaders(cluster, groups);
    // Let the post-election traffic (noop commits, commit indexes) die down before measuring.
    await new Promise((r) => setTimeout(r, Math.max(1000, 10 * tickMs)));
    const settleS = (performance.now() - started) / 1000;
    const broker1 = cluster.children[0] as Child;
    broker1.send({ type: "measure-start" });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    broker1.send({ type: "measure-stop" });
    const { measure } = await broker1.next("measure");
    const p = measure.peers.find((x) => x.peer === 2)!;
    return {
      cpuPct: cpuPct(measure),
      msgsS: pairMsgsS(measure),
      ticksS: measure.ticks / (measure.wallMs / 1000),
      bytesS: (p.bytesSent + p.bytesReceived) / (measure.wallMs / 1000),
      leading,
      settleS,
    };
  } finally {
    await stopCluster(cluster);
  }
}

interface LoadRun {
  readonly leaderId: number;
  readonly result: Extract<ChildMessage, { type: "load-result" }>;
  readonly latencies: number[];
  readonly elapsedS: number;
  readonly entriesS: number;
  readonly mbS: number;
}

async function loadRun(tickMs: number, persistence: "wal" | "memory", seconds: number, inflight: number, entryBytes: number): Promise<LoadRun> {
  const cluster = await startCluster(1, tickMs, "group0", persistence);
  try {
    const leading = await waitForLeaders(cluster, 1);
    const leaderId = leading.findIndex((n) => n > 0) + 1;
    const leader = cluster.children[leaderId - 1] as Child;
    leader.send({ type: "load", seconds, inflight, entryBytes });
    const result = await leader.next("load-result", (seconds + 120) * 1000);
    const elapsedS = result.elapsedMs / 1000;
    return {
      leaderId,
      result,
      latencies: [...result.latenciesMs].sort((a, b) => a - b),
      elapsedS,
      entriesS: result.committed / elapsedS,
      mbS: (result.committed * entryBytes) / 1e6 / elapsedS,
    };
  } finally {
    await stopCluster(cluster);
  }
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const seconds = numberOption(options, "seconds", 10);
  const inflight = numberOption(options, "inflight", 64);
  const entryBytes = numberOption(options, "entry-kib", 64) * KiB;
  const idleGroups = numberOption(options, "idle-groups", 10_000);
  const idleGroupsSmall = numberOption(options, "idle-groups-small", 1000);
  const idleSeconds = numberOption(options, "idle-seconds", 10);
  const tickMs = numberOption(options, "tick-ms", 100);
  const baselineSeconds = numberOption(options, "baseline-seconds", 3);
  const only = options["only"];
  if (only !== undefined && only !== "load" && only !== "idle") throw new Error(`--only must be load or idle, got ${only}`);

  console.log(`raft bench: 3 replica processes on 127.0.0.1, WAL with fdatasync per driver pass, tick ${tickMs} ms`);
  const metrics: Record<string, number> = {};

  if (only !== "idle") {
    // 1. Baselines in the same run: raw TCP between two processes, and the shared disk.
    const baseline = await tcpBaseline(baselineSeconds, entryBytes);
    printTable("raw TCP baseline (64 KiB frames, this process -> sink process)", [["tcp_baseline_mb_s", baseline.mbS]]);
    const disk = await diskBaseline(baselineSeconds, 3);
    printTable("disk baseline (3 parallel writers, fdatasync per 1 MiB)", [["disk_baseline_mb_s", disk]]);

    // 2. Commit throughput and latency, one group: durable (WAL) and, for comparison, in memory.
    const durable = await loadRun(tickMs, "wal", seconds, inflight, entryBytes);
    const latencies = durable.latencies;
    printTable(`commit throughput, WAL + fdatasync: ${entryBytes / KiB} KiB entries, ${inflight} in flight, ${seconds} s`, [
      ["leader broker", durable.leaderId],
      ["committed entries", durable.result.committed],
      ["commit_entries_s", durable.entriesS],
      ["commit_mb_s", durable.mbS],
      ["commit_p50_ms", percentile(latencies, 50)],
      ["commit_p99_ms", percentile(latencies, 99)],
      ["commit_ratio (vs tcp baseline)", durable.mbS / baseline.mbS],
      ["disk_ratio (3 x commit vs disk baseline)", (3 * durable.mbS) / disk],
      ["leader_cpu_pct", cpuPct(durable.result.measure)],
      ["leader fdatasyncs/s", durable.result.walSyncs / durable.elapsedS],
      ["proposals failed / backpressured", `${durable.result.failed} / ${durable.result.backpressured}`],
    ]);
    const memorySeconds = Math.max(1, Math.round(seconds / 2));
    const memory = await loadRun(tickMs, "memory", memorySeconds, inflight, entryBytes);
    printTable(`commit throughput, in-memory logs (no disk): same load, ${memorySeconds} s`, [
      ["commit_mb_s_memory", memory.mbS],
      ["commit_p99_ms_memory", percentile(memory.latencies, 99)],
      ["leader_cpu_pct", cpuPct(memory.result.measure)],
    ]);
    Object.assign(metrics, {
      commit_entries_s: durable.entriesS,
      commit_mb_s: durable.mbS,
      commit_p50_ms: percentile(latencies, 50),
      commit_p99_ms: percentile(latencies, 99),
      tcp_baseline_mb_s: baseline.mbS,
      commit_ratio: durable.mbS / baseline.mbS,
      disk_baseline_mb_s: disk,
      disk_ratio: (3 * durable.mbS) / disk,
      commit_mb_s_memory: memory.mbS,
      commit_p99_ms_memory: percentile(memory.latencies, 99),
      leader_cpu_pct: cpuPct(durable.result.measure),
    });
  }

  if (only !== "load") {
    // 3. Idle groups: CPU and heartbeat messages between two brokers, against the core's own cost.
    const floorMs = coreFloorMsPerTick(idleGroups, 20);
    const floorPct = (floorMs / tickMs) * 100;
    printTable(`core floor: ${idleGroups} groups per broker, pure cores exchanging heartbeats in memory`, [
      ["core_floor_ms_per_tick", floorMs],
      ["core_floor_cpu_pct (at one tick per tick-ms)", floorPct],
    ]);
    const idle = await idleRun(idleGroups, idleSeconds, tickMs);
    const idleMsPerTick = ((idle.cpuPct / 100) * 1000) / idle.ticksS;
    printTable(`${idleGroups} idle groups per broker (leaders spread ${idle.leading.join("/")}), broker 1, ${idleSeconds} s`, [
      ["idle_cpu_pct", idle.cpuPct],
      ["heartbeat_msgs_s (1<->2)", idle.msgsS],
      ["heartbeat bytes/s (1<->2)", idle.bytesS],
      ["ticks_s", idle.ticksS],
      ["msgs per tick", idle.msgsS / idle.ticksS],
      ["cpu ms per tick", idleMsPerTick],
      ["idle_cpu_pct_at_nominal_ticks", (idleMsPerTick / tickMs) * 100],
      ["cpu per tick vs core floor", idleMsPerTick / floorMs],
      ["startup + elections (s)", idle.settleS],
    ]);
    const idleSmall = await idleRun(idleGroupsSmall, idleSeconds, tickMs);
    printTable(`${idleGroupsSmall} idle groups per broker, broker 1, ${idleSeconds} s`, [
      ["idle_cpu_pct", idleSmall.cpuPct],
      ["heartbeat_msgs_s (1<->2)", idleSmall.msgsS],
      ["ticks_s", idleSmall.ticksS],
      ["msgs per tick", idleSmall.msgsS / idleSmall.ticksS],
    ]);
    Object.assign(metrics, {
      idle_cpu_pct: idle.cpuPct,
      heartbeat_msgs_s: idle.msgsS,
      groups: idleGroups,
      ticks_s: idle.ticksS,
      heartbeat_msgs_per_tick: idle.msgsS / idle.ticksS,
      idle_cpu_ms_per_tick: idleMsPerTick,
      idle_cpu_pct_at_nominal_ticks: (idleMsPerTick / tickMs) * 100,
      core_floor_ms_per_tick: floorMs,
      core_floor_cpu_pct: floorPct,
      idle_vs_core_floor: idleMsPerTick / floorMs,
      idle_cpu_pct_1k_groups: idleSmall.cpuPct,
      heartbeat_msgs_s_1k_groups: idleSmall.msgsS,
      ticks_s_1k_groups: idleSmall.ticksS,
      groups_small: idleGroupsSmall,
    });
  }

  return {
    config: {
      replicas: 3,
      transport: "raw TCP, 127.0.0.1, one connection per broker pair",
      fsync: "fdatasync per driver pass (group commit) on a per-broker write-ahead log",
      entry_bytes: entryBytes,
      inflight,
      seconds,
      tick_ms: tickMs,
      idle_seconds: idleSeconds,
      phases: only ?? "load+idle",
      mb: "10^6 bytes of entry payload",
    },
    metrics,
  };
}
