// Proves __consumer_offsets is compacted by the running broker's log cleaner and that the
// compacted log still replays into the same groups: after hundreds of commits to a few
// partitions, the log holds far fewer records, and a restarted broker serves the latest
// committed offsets and the member's assignment.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { fromErrorInfo, SluiceError, type api } from "@sluice/protocol";
import { openBrokerCore, type BrokerCore } from "../broker.js";
import { resolveBrokerConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { CONSUMER_OFFSETS_TOPIC } from "../metadata/internal-topics.js";
import { handleConsumerGroupHeartbeat } from "../server/handlers/consumer-group-heartbeat.js";
import { handleCreateTopics } from "../server/handlers/create-topics.js";
import { handleOffsetCommit } from "../server/handlers/offset-commit.js";
import { handleOffsetFetch } from "../server/handlers/offset-fetch.js";
import { replayPartition } from "./offsets-log.js";

const COMMITS = 300;
/** The cleaner runs every 50 ms here; a clean of a few KiB takes milliseconds even on a busy machine. */
const COMPACTION_WAIT_MS = 20_000;
let dir: string;
let core: BrokerCore;

function open(): Promise<BrokerCore> {
  const config = resolveBrokerConfig({
    flags: {
      "data-dir": dir,
      "log-level": "silent",
      port: "0",
      "offsets-topic-num-partitions": "1",
      "offsets-topic-segment-bytes": "1024",
      "cleaner-check-interval-ms": "50",
    },
    env: {},
    file: {},
  });
  return openBrokerCore(config, { groupTickIntervalMs: 0 });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-offsets-compaction-"));
  core = await open();
});

afterEach(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

/** Records the partition holds now; a read racing a segment swap is retried (retriable storage error). */
async function recordsInLog(): Promise<number> {
  const partition = core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, 0);
  if (partition instanceof SluiceError) throw partition;
  for (let attempt = 1; ; attempt++) {
    try {
      return (await replayPartition(partition, createLogger({ level: "silent", brokerId: 0 }))).records.length;
    } catch (error) {
      if (!(error instanceof SluiceError) || !error.retriable || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

it("compacts __consumer_offsets and replays the compacted log into the same state", async () => {
  await handleCreateTopics(core.ctx, { topics: [{ name: "t", partitions: 2, replicationFactor: 1, configs: {} }], validateOnly: false });
  const joined = await handleConsumerGroupHeartbeat(core.ctx, {
    groupId: "g", memberId: "m", memberEpoch: 0, instanceId: "", rackId: "", clientId: "", rebalanceTimeoutMs: 0,
    subscribedTopicNames: ["t"], subscribedTopicRegex: "", serverAssignor: "", ownedPartitions: [],
  });
  expect(joined.error ?? null).toBeNull();
  const epoch = Number(joined.memberEpoch);
  for (let i = 1; i <= COMMITS; i++) {
    const r = await handleOffsetCommit(core.ctx, {
      groupId: "g", memberId: "m", memberEpoch: epoch,
      topics: [{ topic: "t", partitions: [{ partition: i % 2, offset: i, leaderEpoch: -1, metadata: "" }] }],
    });
    expect(r.error ?? null).toBeNull();
  }
  // Offsets count every record ever appended; the cleaner may already be at work.
  const offsetsLog = core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, 0);
  if (offsetsLog instanceof SluiceError) throw offsetsLog;
  const written = offsetsLog.highWatermark;
  expect(written).toBeGreaterThanOrEqual(COMMITS);

  const until = Date.now() + COMPACTION_WAIT_MS;
  let remaining = await recordsInLog();
  while (Date.now() < until && remaining >= written / 4) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    remaining = await recordsInLog();
  }
  expect(remaining, `the cleaner left ${remaining} of ${written} records`).toBeLessThan(written / 4);

  await core.close();
  core = await open();
  const fetched = await handleOffsetFetch(core.ctx, { groupId: "g", topics: [] });
  expect(fetched.offsets?.map((o) => [o.partition, Number(o.offset)])).toEqual([
    [0, COMMITS],
    [1, COMMITS - 1],
  ]);
  const again = await handleConsumerGroupHeartbeat(core.ctx, {
    groupId: "g", memberId: "m", memberEpoch: epoch, instanceId: "", rackId: "", clientId: "", rebalanceTimeoutMs: 0,
    subscribedTopicNames: [], subscribedTopicRegex: "", serverAssignor: "", ownedPartitions: [{ topic: "t", partitions: [0, 1] }],
  });
  expect(fromErrorInfo(again.error as api.ErrorInfo | null)).toBeNull();
  expect(again.memberEpoch).toBe(epoch);
  expect(again.assignment?.flatMap((t) => [...(t.partitions ?? [])]).sort()).toEqual([0, 1]);
});
