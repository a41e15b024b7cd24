// Proves a real Prometheus scraping a real broker sees the exact consumer lag of a group that
// has committed offsets but no members: 1,000 records over 3 partitions, a standalone commit of
// known offsets, and `sum(sluice_consumer_group_lag{group=...})` must equal the backlog left.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRecordBatch, fromErrorInfo } from "@sluice/protocol";
import { freePort, removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { GroupsClient } from "./groups-client.js";
import { RawClient } from "./raw-client.js";

/** Debian's prometheus package (scripts/install-test-tools.sh installs it). */
const PROMETHEUS = "/usr/bin/prometheus";
const GROUP = "lag-watchers";
const TOPIC = "backlog";
const RECORDS_PER_PARTITION = [400, 350, 250];
const COMMITTED = [100, 350, 50];
/** 300 + 0 + 200 records not yet consumed. */
const EXPECTED_LAG = RECORDS_PER_PARTITION.reduce((sum, n, p) => sum + n - (COMMITTED[p] ?? 0), 0);
/** Prometheus scrapes every second; start-up, first scrape and query evaluation fit well inside this on a busy machine. */
const QUERY_DEADLINE_MS = 60_000;

async function waitForQuery(url: string, expected: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = "no answer yet";
  while (Date.now() < until) {
    try {
      const response = await fetch(url);
      const body = (await response.json()) as { status: string; data?: { result?: Array<{ value: [number, string] }> } };
      const value = body.data?.result?.[0]?.value[1];
      last = `HTTP ${response.status}, status ${body.status}, value ${value ?? "(no series)"}`;
      if (value !== undefined && Number(value) === expected) return;
    } catch (error) {
      last = `request failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`Prometheus never answered ${expected} within ${deadlineMs} ms for ${url}; last: ${last}`);
}

describe("consumer lag in a real Prometheus", () => {
  let broker: BrokerProcess;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = "";
  let promDir: string;
  let promPort: number;

  beforeAll(async () => {
    expect(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: apt-get install -y prometheus`).toBe(true);
    broker = await startBrokerProcess();
    promDir = await mkdtemp(join(tmpdir(), "sluice-prometheus-"));
    promPort = await freePort();
    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: sluice-broker",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${broker.metricsPort}"]`,
      "",
    ].join("\n");
    await writeFile(join(promDir, "prometheus.yml"), config);
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(promDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(promDir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr?.on("data", (chunk: Buffer) => (prometheusLog += chunk.toString()));
  }, 120_000);

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once("exit", resolve));
      prometheus.kill("SIGKILL");
      await exited;
    }
    await broker?.stop();
    if (broker !== undefined) await removeDataDir(broker.dataDir);
    if (promDir !== undefined) await rm(promDir, { recursive: true, force: true });
  });

  it("reports the exact lag of a group with no members", async () => {
    const admin = new RawClient(broker.bootstrap);
    const groups = new GroupsClient(broker.bootstrap);
    try {
      const created = await admin.createTopics({ topics: [{ name: TOPIC, partitions: 3, replicationFactor: 1, configs: {} }] });
      expect(fromErrorInfo(created.topics[0]?.error)).toBeNull();
      const now = Date.now();
      for (const [partition, count] of RECORDS_PER_PARTITION.entries()) {
        const records = encodeRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`record-${partition}-${i}`), timestamp: now })) });
        const produced = await admin.produce({ acks: -1, timeoutMs: 10_000, topics: [{ topic: TOPIC, partitions: [{ partition, records }] }] });
        expect(fromErrorInfo(produced.topics[0]?.partitions[0]?.error ?? null)).toBeNull();
      }
      const commit = await groups.offsetCommit({
        groupId: GROUP,
        memberId: "",
        memberEpoch: -1,
        topics: [{ topic: TOPIC, partitions: COMMITTED.map((offset, partition) => ({ partition, offset, leaderEpoch: -1, metadata: "" })) }],
      });
      expect(fromErrorInfo(commit.error)).toBeNull();
      expect(commit.topics[0]?.partitions.map((p) => fromErrorInfo(p.error))).toEqual([null, null, null]);

      const query = encodeURIComponent(`sum(sluice_consumer_group_lag{group="${GROUP}"})`);
      try {
        await waitForQuery(`http://127.0.0.1:${promPort}/api/v1/query?query=${query}`, EXPECTED_LAG, QUERY_DEADLINE_MS);
      } catch (error) {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\nprometheus output:\n${prometheusLog.slice(-4000)}`);
      }
      const members = encodeURIComponent(`sluice_consumer_group_members{group="${GROUP}"}`);
      await waitForQuery(`http://127.0.0.1:${promPort}/api/v1/query?query=${members}`, 0, QUERY_DEADLINE_MS);
    } finally {
      admin.close();
      groups.close();
    }
  }, 180_000);
});
