// Proves the Groups RPC handlers and the coordinator runtime, run against a real broker core
// (metadata store, storage engine and __consumer_offsets in a temp dir, clock under test
// control): membership, commits, fencing, leaving, session expiry by tick, replay after a
// restart, typed errors for bad input with stored offsets unchanged, the internal topic's
// protection, and lag numbers equal in DescribeGroups and the metrics.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CompressionCodec, encodeRecordBatch, fromErrorInfo, SluiceError, type api } from "@sluice/protocol";
import { openBrokerCore, type BrokerCore } from "../broker.js";
import { resolveBrokerConfig } from "../config.js";
import { CONSUMER_OFFSETS_TOPIC } from "../metadata/internal-topics.js";
import { handleAlterConfigs } from "../server/handlers/alter-configs.js";
import { handleConsumerGroupHeartbeat } from "../server/handlers/consumer-group-heartbeat.js";
import { handleCreatePartitions } from "../server/handlers/create-partitions.js";
import { handleCreateTopics } from "../server/handlers/create-topics.js";
import { handleDeleteGroups } from "../server/handlers/delete-groups.js";
import { handleDeleteOffsets } from "../server/handlers/delete-offsets.js";
import { handleDeleteTopics } from "../server/handlers/delete-topics.js";
import { handleDescribeGroups } from "../server/handlers/describe-groups.js";
import { handleFindCoordinator } from "../server/handlers/find-coordinator.js";
import { handleListGroups } from "../server/handlers/list-groups.js";
import { handleOffsetCommit } from "../server/handlers/offset-commit.js";
import { handleOffsetFetch } from "../server/handlers/offset-fetch.js";
import { handleProduce } from "../server/handlers/produce.js";
import { handleResetOffsets } from "../server/handlers/reset-offsets.js";
import { groupPartition } from "../group/index.js";

const START = 1_700_000_000_000;
const SESSION_MS = 10_000;
let clock = START;
let dir: string;
let core: BrokerCore;

async function open(): Promise<BrokerCore> {
  const config = resolveBrokerConfig({
    flags: {
      "data-dir": dir,
      "log-level": "silent",
      port: "0",
      "offsets-topic-num-partitions": "4",
      "group-consumer-session-timeout-ms": String(SESSION_MS),
      "group-consumer-heartbeat-interval-ms": "1000",
    },
    env: {},
    file: {},
  });
  return openBrokerCore(config, { nowMs: () => clock, groupTickIntervalMs: 0 });
}

beforeEach(async () => {
  clock = START;
  dir = await mkdtemp(join(tmpdir(), "sluice-groups-"));
  core = await open();
});

afterEach(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await handleCreateTopics(core.ctx, { topics: [{ name, partitions, replicationFactor: 1, configs: {} }], validateOnly: false });
  expect(r.topics?.[0]?.error ?? null).toBeNull();
}

async function produce(topic: string, partition: number, count: number, timestamp: number): Promise<void> {
  const records = encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`v${i}`), timestamp: timestamp + i })),
    compression: CompressionCodec.none,
  });
  const r = await handleProduce(core.ctx, { correlationId: 1, acks: -1, timeoutMs: 0, topics: [{ topic, partitions: [{ partition, records }] }] });
  expect(r.topics?.[0]?.partitions?.[0]?.error ?? null).toBeNull();
}

function heartbeatRequest(fields: Partial<api.ConsumerGroupHeartbeatRequest>): api.ConsumerGroupHeartbeatRequest {
  return {
    groupId: "g",
    memberId: "m1",
    memberEpoch: 0,
    instanceId: "",
    rackId: "",
    clientId: "test",
    rebalanceTimeoutMs: 0,
    subscribedTopicNames: [],
    subscribedTopicRegex: "",
    serverAssignor: "",
    ownedPartitions: [],
    ...fields,
  };
}

interface Beat {
  readonly error: string | undefined;
  readonly epoch: number;
  readonly assignment: Record<string, number[]>;
}

async function beat(fields: Partial<api.ConsumerGroupHeartbeatRequest>): Promise<Beat> {
  const r = await handleConsumerGroupHeartbeat(core.ctx, heartbeatRequest(fields));
  const assignment: Record<string, number[]> = {};
  for (const tp of r.assignment ?? []) assignment[tp.topic ?? ""] = [...(tp.partitions ?? [])].sort((a, b) => a - b);
  return { error: fromErrorInfo(r.error as api.ErrorInfo | null)?.errorName, epoch: Number(r.memberEpoch), assignment };
}

function owned(assignment: Record<string, number[]>): api.TopicPartitions[] {
  return Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
}

async function commit(fields: Partial<api.OffsetCommitRequest>): Promise<{ error: string | undefined; partitions: Array<[string, number, string | undefined]> }> {
  const r = await handleOffsetCommit(core.ctx, { groupId: "g", memberId: "", memberEpoch: -1, topics: [], ...fields });
  return {
    error: fromErrorInfo(r.error as api.ErrorInfo | null)?.errorName,
    partitions: (r.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p): [string, number, string | undefined] => [t.topic ?? "", Number(p.partition), fromErrorInfo(p.error as api.ErrorInfo | null)?.errorName])),
  };
}

async function fetched(groupId = "g"): Promise<Array<[string, number, number]>> {
  const r = await handleOffsetFetch(core.ctx, { groupId, topics: [] });
  expect(r.error ?? null).toBeNull();
  return (r.offsets ?? []).map((o) => [o.topic ?? "", Number(o.partition), Number(o.offset)]);
}

describe("membership", () => {
  it("assigns every partition to a joining member and splits them when a second one joins", async () => {
    await createTopic("t", 4);
    const first = await beat({ subscribedTopicNames: ["t"] });
    expect(first).toEqual({ error: undefined, epoch: 1, assignment: { t: [0, 1, 2, 3] } });

    const second = await beat({ memberId: "m2", subscribedTopicNames: ["t"] });
    expect(second.error).toBeUndefined();
    // m2 gets nothing until m1 revokes half of its partitions.
    expect(second.assignment).toEqual({});
    const revoking = await beat({ memberEpoch: first.epoch, ownedPartitions: owned(first.assignment) });
    expect(Object.values(revoking.assignment).flat()).toHaveLength(2);
    const m1 = await beat({ memberEpoch: revoking.epoch, ownedPartitions: owned(revoking.assignment) });
    const m2 = await beat({ memberId: "m2", memberEpoch: second.epoch, ownedPartitions: [] });
    expect([...(m1.assignment["t"] ?? []), ...(m2.assignment["t"] ?? [])].sort()).toEqual([0, 1, 2, 3]);
    expect(m2.assignment["t"]).toHaveLength(2);

    const described = await handleDescribeGroups(core.ctx, { groupIds: ["g"], includeOffsets: false });
    expect(described.groups?.[0]).toMatchObject({ groupId: "g", state: "stable", coordinatorId: 0 });
    expect(described.groups?.[0]?.members?.map((m) => m.memberId).sort()).toEqual(["m1", "m2"]);
  });

  it("fences a wrong epoch, refuses unknown members and removes a member that leaves", async () => {
    await createTopic("t", 2);
    const joined = await beat({ subscribedTopicNames: ["t"] });
    expect((await beat({ memberEpoch: joined.epoch + 5, ownedPartitions: owned(joined.assignment) })).error).toBe("FENCED_MEMBER_EPOCH");
    expect((await beat({ memberId: "stranger", memberEpoch: 3 })).error).toBe("UNKNOWN_MEMBER_ID");
    expect((await beat({ groupId: "nope", memberEpoch: 1 })).error).toBe("GROUP_ID_NOT_FOUND");

    const left = await beat({ memberEpoch: -1 });
    expect(left).toMatchObject({ error: undefined, epoch: -1 });
    const listed = await handleListGroups(core.ctx, { states: [] });
    expect(listed.groups).toEqual([{ groupId: "g", state: "empty", memberCount: 0, coordinatorId: 0 }]);
  });

  it("expires a silent member on tick (controlled clock) and hands its partitions to the live one", async () => {
    await createTopic("t", 2);
    const a = await beat({ memberId: "a", subscribedTopicNames: ["t"] });
    const b = await beat({ memberId: "b", subscribedTopicNames: ["t"] });
    let aState = await beat({ memberId: "a", memberEpoch: a.epoch, ownedPartitions: owned(a.assignment) });
    aState = await beat({ memberId: "a", memberEpoch: aState.epoch, ownedPartitions: owned(aState.assignment) });
    expect(aState.assignment["t"]).toHaveLength(1);

    // b goes silent; a keeps heartbeating just inside its session.
    clock += SESSION_MS - 1;
    aState = await beat({ memberId: "a", memberEpoch: aState.epoch, ownedPartitions: owned(aState.assignment) });
    await core.ctx.groups.tick();
    expect((await handleDescribeGroups(core.ctx, { groupIds: ["g"], includeOffsets: false })).groups?.[0]?.members).toHaveLength(2);
    clock += 2;
    await core.ctx.groups.tick();
    const members = (await handleDescribeGroups(core.ctx, { groupIds: ["g"], includeOffsets: false })).groups?.[0]?.members;
    expect(members?.map((m) => m.memberId)).toEqual(["a"]);
    const after = await beat({ memberId: "a", memberEpoch: aState.epoch, ownedPartitions: owned(aState.assignment) });
    expect(after.assignment).toEqual({ t: [0, 1] });
    expect((await beat({ memberId: "b", memberEpoch: b.epoch })).error).toBe("UNKNOWN_MEMBER_ID");
  });

  it("reassigns when a subscribed topic grows", async () => {
    await createTopic("t", 1);
    const j = await beat({ subscribedTopicNames: ["t"] });
    expect(j.assignment).toEqual({ t: [0] });
    expect((await handleCreatePartitions(core.ctx, { topics: [{ name: "t", count: 3 }], validateOnly: false })).topics?.[0]?.error ?? null).toBeNull();
    // The topic hook hands the new image to the coordinator through its queue; the next heartbeat sees it.
    const next = await beat({ memberEpoch: j.epoch, ownedPartitions: owned(j.assignment) });
    expect(next.assignment).toEqual({ t: [0, 1, 2] });
    expect(next.epoch).toBeGreaterThan(j.epoch);
  });
});

describe("offsets", () => {
  it("commits as a member, fetches, refuses stale epochs and partitions the member does not hold", async () => {
    await createTopic("t", 2);
    await createTopic("u", 1);
    const a = await beat({ subscribedTopicNames: ["t"] });
    expect(await commit({ memberId: "m1", memberEpoch: a.epoch, topics: [{ topic: "t", partitions: [{ partition: 0, offset: 5, leaderEpoch: -1, metadata: "x" }] }] })).toEqual({
      error: undefined,
      partitions: [["t", 0, undefined]],
    });
    expect((await commit({ memberId: "m1", memberEpoch: a.epoch + 1, topics: [{ topic: "t", partitions: [{ partition: 1, offset: 1, leaderEpoch: -1, metadata: "" }] }] })).error).toBe("FENCED_MEMBER_EPOCH");
    expect(
      (await commit({ memberId: "m1", memberEpoch: a.epoch, topics: [{ topic: "u", partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }] }] })).partitions,
    ).toEqual([["u", 0, "STALE_MEMBER_EPOCH"]]);
    // A standalone commit is refused while the group has members.
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 1, offset: 9, leaderEpoch: -1, metadata: "" }] }] })).error).toBe("UNKNOWN_MEMBER_ID");
    expect(await fetched()).toEqual([["t", 0, 5]]);
    const one = await handleOffsetFetch(core.ctx, { groupId: "g", topics: [{ topic: "t", partitions: [0, 1] }] });
    expect(one.offsets?.map((o) => [o.partition, o.offset, o.metadata])).toEqual([
      [0, 5, "x"],
      [1, -1, ""],
    ]);
  });

  it("takes standalone commits and resets for an empty group, deletes offsets and the group", async () => {
    await createTopic("t", 2);
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 3, leaderEpoch: -1, metadata: "" }, { partition: 1, offset: 4, leaderEpoch: -1, metadata: "" }] }] })).error).toBeUndefined();
    const dry = await handleResetOffsets(core.ctx, { groupId: "g", validateOnly: true, topics: [{ topic: "t", partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }, { partition: 7, offset: 1, leaderEpoch: -1, metadata: "" }] }] });
    expect(dry.topics?.[0]?.partitions?.map((p) => fromErrorInfo(p.error as api.ErrorInfo | null)?.errorName)).toEqual([undefined, "UNKNOWN_TOPIC_OR_PARTITION"]);
    expect(await fetched()).toEqual([["t", 0, 3], ["t", 1, 4]]);
    const reset = await handleResetOffsets(core.ctx, { groupId: "g", validateOnly: false, topics: [{ topic: "t", partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "" }] }] });
    expect(reset.error ?? null).toBeNull();
    expect(await fetched()).toEqual([["t", 0, 1], ["t", 1, 4]]);
    const deleted = await handleDeleteOffsets(core.ctx, { groupId: "g", topics: [{ topic: "t", partitions: [1] }] });
    expect(deleted.error ?? null).toBeNull();
    expect(await fetched()).toEqual([["t", 0, 1]]);
    expect((await handleDeleteGroups(core.ctx, { groupIds: ["g", "missing"] })).groups?.map((g) => [g.groupId, fromErrorInfo(g.error as api.ErrorInfo | null)?.errorName])).toEqual([
      ["g", undefined],
      ["missing", "GROUP_ID_NOT_FOUND"],
    ]);
    expect(await fetched()).toEqual([]);
  });

  it("answers bad input with typed errors and leaves stored offsets unchanged", async () => {
    await createTopic("t", 1);
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 10, leaderEpoch: -1, metadata: "" }] }] })).error).toBeUndefined();
    expect((await commit({ groupId: "", topics: [] })).error).toBe("INVALID_GROUP_ID");
    expect((await commit({ groupId: "x".repeat(256), topics: [] })).error).toBe("INVALID_GROUP_ID");
    expect(
      (await commit({ topics: [{ topic: "t", partitions: [{ partition: -1, offset: 1, leaderEpoch: -1, metadata: "" }, { partition: 0, offset: -5, leaderEpoch: -1, metadata: "" }] }] })).partitions,
    ).toEqual([
      ["t", -1, "INVALID_REQUEST"],
      ["t", 0, "INVALID_COMMIT_OFFSET_SIZE"],
    ]);
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: "m".repeat(5000) }] }] })).partitions).toEqual([["t", 0, "OFFSET_METADATA_TOO_LARGE"]]);
    expect((await beat({ groupId: "h", subscribedTopicRegex: "(a" })).error).toBe("INVALID_REGULAR_EXPRESSION");
    expect((await beat({ groupId: "h", subscribedTopicRegex: "(a)\\1" })).error).toBe("INVALID_REGULAR_EXPRESSION");
    expect((await beat({ groupId: "h", subscribedTopicNames: ["t"], serverAssignor: "magic" })).error).toBe("UNSUPPORTED_ASSIGNOR");
    expect((await beat({ groupId: "h" })).error).toBe("INVALID_REQUEST");
    expect((await beat({ groupId: "h", memberId: "", subscribedTopicNames: ["t"] })).error).toBe("INVALID_REQUEST");
    expect((await beat({ groupId: "h", subscribedTopicNames: ["t"], ownedPartitions: [{ topic: "t", partitions: [-3] }] })).error).toBe("INVALID_REQUEST");
    await expect(handleListGroups(core.ctx, { states: ["bogus"] })).rejects.toMatchObject({ errorName: "INVALID_REQUEST" });
    const find = await handleFindCoordinator(core.ctx, { groupIds: ["", "g"] });
    expect(fromErrorInfo(find.coordinators?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("INVALID_GROUP_ID");
    expect(find.coordinators?.[1]).toMatchObject({ groupId: "g", partition: groupPartition("g", 4), broker: { brokerId: 0, host: "127.0.0.1" } });
    expect(await fetched()).toEqual([["t", 0, 10]]);
  });
});

describe("__consumer_offsets", () => {
  it("exists, is compacted and internal, and refuses produce, delete, alter and growth", async () => {
    const topic = core.ctx.topics.topic(CONSUMER_OFFSETS_TOPIC);
    expect(topic).toMatchObject({ partitionCount: 4, configs: { "cleanup.policy": "compact" } });
    const records = encodeRecordBatch({ records: [{ key: Buffer.from("k"), value: Buffer.from("v"), timestamp: START }], compression: CompressionCodec.none });
    const produced = await handleProduce(core.ctx, { correlationId: 1, acks: -1, timeoutMs: 0, topics: [{ topic: CONSUMER_OFFSETS_TOPIC, partitions: [{ partition: 0, records }] }] });
    expect(fromErrorInfo(produced.topics?.[0]?.partitions?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("INVALID_TOPIC_EXCEPTION");
    const del = await handleDeleteTopics(core.ctx, { names: [CONSUMER_OFFSETS_TOPIC] });
    expect(fromErrorInfo(del.topics?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("INVALID_REQUEST");
    const grow = await handleCreatePartitions(core.ctx, { topics: [{ name: CONSUMER_OFFSETS_TOPIC, count: 10 }], validateOnly: false });
    expect(fromErrorInfo(grow.topics?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("INVALID_REQUEST");
    const alter = await handleAlterConfigs(core.ctx, { validateOnly: false, topics: [{ topic: CONSUMER_OFFSETS_TOPIC, alterations: [{ name: "cleanup.policy", value: "delete", op: "SET" }] }] });
    expect(fromErrorInfo(alter.topics?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("INVALID_REQUEST");
    const create = await handleCreateTopics(core.ctx, { topics: [{ name: CONSUMER_OFFSETS_TOPIC, partitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false });
    expect(fromErrorInfo(create.topics?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("TOPIC_ALREADY_EXISTS");
    expect(core.ctx.topics.topic(CONSUMER_OFFSETS_TOPIC)).toMatchObject({ partitionCount: 4, configs: { "cleanup.policy": "compact" } });
    expect(core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, 0)).toMatchObject({ highWatermark: 0 });
  });

  it("replays members, assignments and offsets after a restart; the member's next heartbeat works", async () => {
    await createTopic("t", 2);
    const a = await beat({ subscribedTopicNames: ["t"] });
    expect((await commit({ memberId: "m1", memberEpoch: a.epoch, topics: [{ topic: "t", partitions: [{ partition: 1, offset: 42, leaderEpoch: -1, metadata: "" }] }] })).error).toBeUndefined();
    await commit({ groupId: "solo", topics: [{ topic: "t", partitions: [{ partition: 0, offset: 7, leaderEpoch: -1, metadata: "" }] }] });
    const p = groupPartition("g", 4);
    expect(core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, p)).toMatchObject({ highWatermark: expect.any(Number) as number });

    await core.close();
    clock += 1_000;
    core = await open();
    expect(await fetched()).toEqual([["t", 1, 42]]);
    expect(await fetched("solo")).toEqual([["t", 0, 7]]);
    const again = await beat({ memberEpoch: a.epoch, ownedPartitions: owned(a.assignment) });
    expect(again).toEqual({ error: undefined, epoch: a.epoch, assignment: { t: [0, 1] } });
  });
});

describe("durability", () => {
  it("rebuilds the coordinator from the log when a write fails: the unwritten commit is gone, the written one stays", async () => {
    await createTopic("t", 1);
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 10, leaderEpoch: -1, metadata: "" }] }] })).error).toBeUndefined();
    const log = core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, groupPartition("g", 4));
    if (log instanceof SluiceError) throw log;
    // Failure injection on the real partition: its next append fails as a full disk would.
    const append = log.append.bind(log);
    let failNext = true;
    log.append = (records, acks) => {
      if (!failNext) return append(records, acks);
      failNext = false;
      return Promise.reject(new SluiceError("KAFKA_STORAGE_ERROR", "injected: disk full"));
    };
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 77, leaderEpoch: -1, metadata: "" }] }] })).error).toBe("COORDINATOR_NOT_AVAILABLE");
    // The core had applied 77 before the write failed; rebuilt from the log it is back at 10.
    expect(await fetched()).toEqual([["t", 0, 10]]);
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 78, leaderEpoch: -1, metadata: "" }] }] })).error).toBeUndefined();
    expect(await fetched()).toEqual([["t", 0, 78]]);
  });

  it("group commit: operations that run while an append is in flight share the next append, and each answers once durable", async () => {
    await createTopic("t", 1);
    const log = core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, groupPartition("g", 4));
    if (log instanceof SluiceError) throw log;
    const append = log.append.bind(log);
    const appendSizes: number[] = [];
    log.append = async (records, acks) => {
      appendSizes.push(records.length);
      return append(records, acks);
    };
    // 20 standalone commits of one group, all in flight at once: the first goes out alone, the
    // other 19 queue behind it and go out together.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: i + 1, leaderEpoch: -1, metadata: "" }] }] })),
    );
    expect(answers.map((a) => a.error)).toEqual(Array.from({ length: 20 }, () => undefined));
    expect(appendSizes).toHaveLength(2);
    expect(await fetched()).toEqual([["t", 0, 20]]);
    await core.close();
    core = await open();
    expect(await fetched()).toEqual([["t", 0, 20]]);
  });

  it("a failed append fails the operations queued behind it too, and none of their records reach the log", async () => {
    await createTopic("t", 1);
    expect((await commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 10, leaderEpoch: -1, metadata: "" }] }] })).error).toBeUndefined();
    const log = core.ctx.partitions.get(CONSUMER_OFFSETS_TOPIC, groupPartition("g", 4));
    if (log instanceof SluiceError) throw log;
    const append = log.append.bind(log);
    let failFirst: ((error: Error) => void) | undefined;
    let calls = 0;
    log.append = (records, acks) => {
      calls++;
      if (calls > 1) return append(records, acks);
      // The first append stays in flight until the test fails it.
      return new Promise((_, reject) => {
        failFirst = reject;
      });
    };
    const first = commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 77, leaderEpoch: -1, metadata: "" }] }] });
    const second = commit({ topics: [{ topic: "t", partitions: [{ partition: 0, offset: 88, leaderEpoch: -1, metadata: "" }] }] });
    const read = handleOffsetFetch(core.ctx, { groupId: "g", topics: [] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(failFirst).toBeDefined();
    failFirst?.(new SluiceError("KAFKA_STORAGE_ERROR", "injected: disk full"));
    expect((await first).error).toBe("COORDINATOR_NOT_AVAILABLE");
    expect((await second).error).toBe("COORDINATOR_NOT_AVAILABLE");
    // The read ran on the core that had 77 and 88: it is refused rather than answered from them.
    expect(fromErrorInfo((await read).error as api.ErrorInfo | null)?.errorName).toBe("COORDINATOR_NOT_AVAILABLE");
    expect(calls).toBe(1); // the queued commit's record was never appended
    expect(await fetched()).toEqual([["t", 0, 10]]);
    await core.close();
    core = await open();
    expect(await fetched()).toEqual([["t", 0, 10]]);
  });

  it("finishes in-flight group writes on close, before the logs close", async () => {
    await createTopic("t", 1);
    const pending = [1, 2, 3].map((i) => commit({ groupId: `g${i}`, topics: [{ topic: "t", partitions: [{ partition: 0, offset: i, leaderEpoch: -1, metadata: "" }] }] }));
    await core.close();
    expect((await Promise.all(pending)).map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    core = await open();
    expect([await fetched("g1"), await fetched("g2"), await fetched("g3")]).toEqual([[["t", 0, 1]], [["t", 0, 2]], [["t", 0, 3]]]);
  });
});

describe("lag", () => {
  it("reports the same lag in DescribeGroups and in the metrics, also for a group with no members", async () => {
    await createTopic("t", 2);
    await produce("t", 0, 10, START - 60_000);
    await produce("t", 1, 4, START - 30_000);
    await commit({ groupId: "idle", topics: [{ topic: "t", partitions: [{ partition: 0, offset: 4, leaderEpoch: -1, metadata: "" }, { partition: 1, offset: 4, leaderEpoch: -1, metadata: "" }] }] });
    clock = START + 1_000;

    const d = await handleDescribeGroups(core.ctx, { groupIds: ["idle", "ghost"], includeOffsets: true });
    expect(d.groups?.[0]?.state).toBe("empty");
    expect(d.groups?.[0]?.offsets?.map((o) => [o.partition, o.committedOffset, o.logEndOffset, o.lag, o.timeLagSeconds])).toEqual([
      [0, 4, 10, 6, 61 - 0.004],
      [1, 4, 4, 0, 0],
    ]);
    expect(d.groups?.[1]).toMatchObject({ groupId: "ghost", state: "dead" });
    expect(fromErrorInfo(d.groups?.[1]?.error as api.ErrorInfo | null)?.errorName).toBe("GROUP_ID_NOT_FOUND");

    const text = await core.ctx.metrics.registry.metrics();
    const sample = (name: string, labels: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
      if (line === undefined) throw new Error(`no ${name}{${labels}} in:\n${text}`);
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    expect(sample("sluice_consumer_group_lag", 'group="idle",topic="t",partition="0"')).toBe(6);
    expect(sample("sluice_consumer_group_lag", 'group="idle",topic="t",partition="1"')).toBe(0);
    expect(sample("sluice_consumer_group_committed_offset", 'group="idle",topic="t",partition="0"')).toBe(4);
    expect(sample("sluice_consumer_group_log_end_offset", 'group="idle",topic="t",partition="0"')).toBe(10);
    expect(sample("sluice_consumer_group_lag_seconds", 'group="idle",topic="t",partition="0"')).toBeCloseTo(60.996, 6);
    expect(sample("sluice_consumer_group_members", 'group="idle"')).toBe(0);
    expect(sample("sluice_consumer_group_state", 'group="idle",state="empty"')).toBe(1);
    expect(sample("sluice_consumer_group_state", 'group="idle",state="stable"')).toBe(0);
  });
});
