/**
 * `npm run bench -- rebalance`: how fast a consumer group settles, through one broker process.
 *
 * Workload: `--members` (100) SDK GroupConsumers in this process (each with its own connection,
 * heartbeat loop and fetcher; they do not iterate, so the numbers are the protocol's, not
 * record processing) subscribe at once to one topic of `--partitions` (256) partitions.
 * - `stable_ms`: from the first subscribe until every partition is owned by exactly one
 *   member (by the members' own `assignment()`, i.e. after their callbacks and offset reads)
 *   and the coordinator reports the group `stable` with all members.
 * - One member then leaves cleanly (`close()`): `moves_on_leave` counts partitions whose owner
 *   changed (ideal: ceil(partitions / members), only the leaver's); `restable_ms` is the time
 *   until the same conditions hold again for the remaining members.
 *
 * Baseline (same run): the same join sequence driven straight into the pure `GroupCoordinator`
 * in this process (no network, no I/O): every member joins, then heartbeat rounds in which each
 * member acknowledges its last assignment at once, until the group is stable with every
 * partition owned. `baseline_stable_ms` is that CPU time; `stable_ratio` = stable / baseline.
 *
 * The coordinator asks members to heartbeat every `--heartbeat-interval-ms` (250; Kafka's
 * default is 5000, which would make convergence take several 5 s rounds); members heartbeat at
 * once whenever their ownership changes. Options: --members 100, --partitions 256,
 * --heartbeat-interval-ms 250, --session-timeout-ms 30000, --timeout-ms 60000.
 */
import { performance } from "node:perf_hooks";
import { Admin, GroupConsumer } from "@sluice/client";
import { GroupCoordinator } from "../broker/src/group/index.js";
import { removeDataDir, startBrokerProcess } from "../test/e2e/broker-process.js";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { createBenchTopic } from "./support/broker-fixture.js";

const TOPIC = "bench-rebalance";
const GROUP = "bench-rebalance-group";
/** How often the driver looks at the members' assignments while waiting (cheap: in memory). */
const POLL_MS = 5;

/** partition -> owner index, or undefined when some partition is unowned or owned twice. */
function owners(consumers: readonly (GroupConsumer | undefined)[], partitions: number): Map<number, number> | undefined {
  const owner = new Map<number, number>();
  for (const [i, c] of consumers.entries()) {
    if (c === undefined) continue;
    for (const tp of c.assignment()) {
      if (owner.has(tp.partition)) return undefined;
      owner.set(tp.partition, i);
    }
  }
  return owner.size === partitions ? owner : undefined;
}

async function waitStable(consumers: readonly (GroupConsumer | undefined)[], partitions: number, describe: () => Promise<{ state: string; members: number }>, timeoutMs: number): Promise<Map<number, number>> {
  const live = consumers.filter((c) => c !== undefined).length;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const owner = owners(consumers, partitions);
    if (owner !== undefined) {
      const group = await describe();
      if (group.state === "stable" && group.members === live && owners(consumers, partitions) !== undefined) return owner;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`group not stable after ${timeoutMs} ms`);
}

/** The join sequence against the pure coordinator; returns elapsed ms and heartbeat rounds. */
function baseline(members: number, partitions: number): { ms: number; rounds: number } {
  const start = performance.now();
  const coordinator = new GroupCoordinator({ topics: new Map([[TOPIC, partitions]]) });
  let nowMs = 0;
  const epochs: number[] = [];
  const owned: Map<string, number[]>[] = [];
  for (let i = 0; i < members; i++) {
    const response = coordinator.heartbeat({ groupId: GROUP, memberId: `m-${i}`, memberEpoch: 0, subscribedTopicNames: [TOPIC], ownedPartitions: new Map() }, nowMs);
    coordinator.takeRecords();
    epochs.push(response.memberEpoch);
    owned.push(new Map([...response.assignment].map(([t, ps]) => [t, [...ps]])));
  }
  let rounds = 0;
  for (;;) {
    const description = coordinator.describeGroup(GROUP);
    const total = owned.reduce((n, o) => n + (o.get(TOPIC)?.length ?? 0), 0);
    if (description.state === "stable" && total === partitions) break;
    rounds++;
    nowMs += 1;
    for (let i = 0; i < members; i++) {
      const response = coordinator.heartbeat({ groupId: GROUP, memberId: `m-${i}`, memberEpoch: epochs[i]!, ownedPartitions: owned[i]! }, nowMs);
      coordinator.takeRecords();
      epochs[i] = response.memberEpoch;
      owned[i] = new Map([...response.assignment].map(([t, ps]) => [t, [...ps]]));
    }
    if (rounds > 1_000) throw new Error("baseline did not converge");
  }
  return { ms: performance.now() - start, rounds };
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const members = numberOption(options, "members", 100);
  const partitions = numberOption(options, "partitions", 256);
  const heartbeatIntervalMs = numberOption(options, "heartbeat-interval-ms", 250);
  const sessionTimeoutMs = numberOption(options, "session-timeout-ms", 30_000);
  const timeoutMs = numberOption(options, "timeout-ms", 60_000);
  const ideal = Math.ceil(partitions / members);

  // Warm the pure path once (JIT), then measure it.
  baseline(Math.min(members, 10), Math.min(partitions, 32));
  const base = baseline(members, partitions);

  const broker = await startBrokerProcess({
    args: ["--group-consumer-heartbeat-interval-ms", String(heartbeatIntervalMs), "--group-consumer-session-timeout-ms", String(sessionTimeoutMs), "--log-level", "warn"],
  });
  const consumers: (GroupConsumer | undefined)[] = [];
  let stableMs: number;
  let restableMs: number;
  let moves: number;
  try {
    await createBenchTopic(broker.bootstrap, TOPIC, partitions);
    const admin = new Admin({ bootstrap: broker.bootstrap });
    const describe = async (): Promise<{ state: string; members: number }> => {
      const [group] = await admin.describeGroups([GROUP]).catch(() => []);
      return { state: group?.state ?? "dead", members: group?.members.length ?? 0 };
    };
    try {
      const start = performance.now();
      for (let i = 0; i < members; i++) {
        const c = new GroupConsumer({ bootstrap: broker.bootstrap, groupId: GROUP, clientId: `bench-${i}`, sessionTimeoutMs, autoCommit: false });
        consumers.push(c);
        c.subscribe({ topics: [TOPIC] });
      }
      const before = await waitStable(consumers, partitions, describe, timeoutMs);
      stableMs = performance.now() - start;

      const leaver = before.get(0) ?? 0;
      const leaving = consumers[leaver]!;
      const leaveStart = performance.now();
      consumers[leaver] = undefined;
      await leaving.close();
      const after = await waitStable(consumers, partitions, describe, timeoutMs);
      restableMs = performance.now() - leaveStart;
      moves = [...after].filter(([p, owner]) => before.get(p) !== owner).length;
      const leaverHad = [...before.values()].filter((o) => o === leaver).length;
      printTable("rebalance", [
        ["members", members],
        ["partitions", partitions],
        ["heartbeat interval (ms)", heartbeatIntervalMs],
        ["stable (ms)", stableMs],
        ["baseline stable (ms, pure coordinator)", base.ms],
        ["baseline heartbeat rounds", base.rounds],
        ["stable / baseline", stableMs / base.ms],
        ["leaver owned", leaverHad],
        ["moves on leave (ideal)", `${moves} (${ideal})`],
        ["re-stable (ms)", restableMs],
      ]);
    } finally {
      await admin.close();
    }
  } finally {
    await Promise.all(consumers.map((c: GroupConsumer | undefined) => c?.close().catch(() => undefined)));
    await broker.stop();
    await removeDataDir(broker.dataDir);
  }
  return {
    config: { members, partitions, heartbeat_interval_ms: heartbeatIntervalMs, session_timeout_ms: sessionTimeoutMs, consumers: "sdk-group-consumers-one-process" },
    metrics: {
      stable_ms: Math.round(stableMs),
      moves_on_leave: moves,
      moves_ideal: ideal,
      restable_ms: Math.round(restableMs),
      baseline_stable_ms: Number(base.ms.toFixed(2)),
      baseline_rounds: base.rounds,
      stable_ratio: Number((stableMs / base.ms).toFixed(1)),
    },
  };
}
