// Proves the Groups service of a real broker process: a member's assignment and committed offsets
// survive a clean restart and a kill -9 (replayed from __consumer_offsets) and its next heartbeat
// after the restart works; bad input gets typed errors, the broker stays up and stored offsets
// stay as they were; clients cannot write to __consumer_offsets.
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRecordBatch, fromErrorInfo, type api } from "@sluice/protocol";
import { freePort, removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { GroupsClient } from "./groups-client.js";
import { RawClient } from "./raw-client.js";

const TOPIC = "orders";

describe("consumer groups on a real broker", () => {
  let broker: BrokerProcess;
  let port: number;
  let admin: RawClient;
  let groups: GroupsClient;

  const connect = (): void => {
    admin = new RawClient(broker.bootstrap);
    groups = new GroupsClient(broker.bootstrap);
  };
  const disconnect = (): void => {
    admin.close();
    groups.close();
  };
  const restart = async (how: "stop" | "kill9"): Promise<void> => {
    disconnect();
    const exit = how === "stop" ? await broker.stop() : await broker.kill9();
    expect(how === "stop" ? exit.code : exit.signal).toBe(how === "stop" ? 0 : "SIGKILL");
    broker = await startBrokerProcess({ dataDir: broker.dataDir, port });
    connect();
  };

  beforeAll(async () => {
    port = await freePort();
    broker = await startBrokerProcess({ port, args: ["--offsets-topic-num-partitions", "3"] });
    connect();
    const created = await admin.createTopics({ topics: [{ name: TOPIC, partitions: 3, replicationFactor: 1, configs: {} }] });
    expect(fromErrorInfo(created.topics[0]?.error)).toBeNull();
  }, 120_000);

  afterAll(async () => {
    disconnect();
    await broker.stop();
    await removeDataDir(broker.dataDir);
  });

  const join = (memberId: string, memberEpoch: number, owned: api.TopicPartitions[] = []): Promise<api.ConsumerGroupHeartbeatResponse> =>
    groups.heartbeat({ groupId: "billing", memberId, memberEpoch, subscribedTopicNames: memberEpoch === 0 ? [TOPIC] : [], ownedPartitions: owned });
  const committed = async (groupId = "billing"): Promise<Array<[number, number]>> => {
    const r = await groups.offsetFetch({ groupId, topics: [] });
    expect(fromErrorInfo(r.error)).toBeNull();
    return r.offsets.map((o) => [o.partition, o.offset]);
  };

  it("finds this broker as coordinator", async () => {
    const r = await groups.findCoordinator({ groupIds: ["billing"] });
    expect(r.coordinators[0]).toMatchObject({ groupId: "billing", broker: { brokerId: 0, host: "127.0.0.1", port } });
    expect(r.coordinators[0]?.partition).toBeGreaterThanOrEqual(0);
    expect(r.coordinators[0]?.partition).toBeLessThan(3);
  });

  it("keeps the assignment and committed offsets across a clean restart and a kill -9", async () => {
    const joined = await join("member-a", 0);
    expect(fromErrorInfo(joined.error)).toBeNull();
    expect(joined.assignment.flatMap((t) => t.partitions).sort()).toEqual([0, 1, 2]);
    const epoch = joined.memberEpoch;
    const commit = await groups.offsetCommit({
      groupId: "billing",
      memberId: "member-a",
      memberEpoch: epoch,
      topics: [{ topic: TOPIC, partitions: [0, 1, 2].map((partition) => ({ partition, offset: 100 + partition, leaderEpoch: -1, metadata: "" })) }],
    });
    expect(fromErrorInfo(commit.error)).toBeNull();
    expect(commit.topics[0]?.partitions.every((p) => fromErrorInfo(p.error) === null)).toBe(true);

    await restart("stop");
    expect(await committed()).toEqual([[0, 100], [1, 101], [2, 102]]);
    const afterStop = await join("member-a", epoch, joined.assignment);
    expect(fromErrorInfo(afterStop.error)).toBeNull();
    expect(afterStop.memberEpoch).toBe(epoch);
    expect(afterStop.assignment.flatMap((t) => t.partitions).sort()).toEqual([0, 1, 2]);

    await groups.offsetCommit({ groupId: "billing", memberId: "member-a", memberEpoch: epoch, topics: [{ topic: TOPIC, partitions: [{ partition: 1, offset: 555, leaderEpoch: -1, metadata: "" }] }] });
    await restart("kill9");
    expect(broker.ready["recoveredUncleanly"]).toBe(true);
    expect(await committed()).toEqual([[0, 100], [1, 555], [2, 102]]);
    const afterKill = await join("member-a", epoch, joined.assignment);
    expect(fromErrorInfo(afterKill.error)).toBeNull();
    expect(afterKill.memberEpoch).toBe(epoch);
    const described = await groups.describeGroups({ groupIds: ["billing"], includeOffsets: true });
    expect(described.groups[0]?.members.map((m) => m.memberId)).toEqual(["member-a"]);
    expect(described.groups[0]?.offsets.map((o) => [o.partition, o.committedOffset, o.ownerMemberId])).toEqual([
      [0, 100, "member-a"],
      [1, 555, "member-a"],
      [2, 102, "member-a"],
    ]);
  }, 180_000);

  it("answers bad input with typed errors, stays up and keeps stored offsets", async () => {
    const before = await committed();
    const errorOf = (info: api.ErrorInfo | null): string | undefined => fromErrorInfo(info)?.errorName;

    expect(errorOf((await groups.heartbeat({ groupId: "", memberId: "m", memberEpoch: 0, subscribedTopicNames: [TOPIC] })).error)).toBe("INVALID_GROUP_ID");
    expect(errorOf((await groups.heartbeat({ groupId: "g".repeat(300), memberId: "m", memberEpoch: 0, subscribedTopicNames: [TOPIC] })).error)).toBe("INVALID_GROUP_ID");
    expect(errorOf((await groups.heartbeat({ groupId: "x", memberId: "m", memberEpoch: 0, subscribedTopicRegex: "((a" })).error)).toBe("INVALID_REGULAR_EXPRESSION");
    expect(errorOf((await groups.heartbeat({ groupId: "x", memberId: "m", memberEpoch: 0, subscribedTopicNames: [TOPIC], serverAssignor: "sticky-ish" })).error)).toBe("UNSUPPORTED_ASSIGNOR");
    expect(errorOf((await groups.heartbeat({ groupId: "x", memberId: "m", memberEpoch: -7 })).error)).toBe("INVALID_REQUEST");
    expect(errorOf((await groups.heartbeat({ groupId: "billing", memberId: "member-a", memberEpoch: 999, ownedPartitions: [] })).error)).toBe("FENCED_MEMBER_EPOCH");

    const bad = await groups.offsetCommit({
      groupId: "billing",
      memberId: "",
      memberEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition: -2, offset: 1, leaderEpoch: -1, metadata: "" }] }],
    });
    // The group has a member, so a standalone commit is refused as a whole.
    expect(errorOf(bad.error)).toBe("UNKNOWN_MEMBER_ID");
    const negatives = await groups.offsetCommit({
      groupId: "billing",
      memberId: "member-a",
      memberEpoch: (await groups.describeGroups({ groupIds: ["billing"], includeOffsets: false })).groups[0]?.members[0]?.memberEpoch ?? 0,
      topics: [{ topic: TOPIC, partitions: [{ partition: -2, offset: 1, leaderEpoch: -1, metadata: "" }, { partition: 0, offset: -9, leaderEpoch: -1, metadata: "" }, { partition: 99, offset: 1, leaderEpoch: -1, metadata: "" }] }],
    });
    expect(fromErrorInfo(negatives.error)).toBeNull();
    expect(negatives.topics[0]?.partitions.map((p) => errorOf(p.error))).toEqual(["INVALID_REQUEST", "INVALID_COMMIT_OFFSET_SIZE", "UNKNOWN_TOPIC_OR_PARTITION"]);

    const tooMany = groups.offsetFetch({ groupId: "billing", topics: [{ topic: TOPIC, partitions: Array.from({ length: 70_000 }, (_, i) => i) }] });
    await expect(tooMany).rejects.toMatchObject({ code: 3 satisfies grpc.status.INVALID_ARGUMENT });
    await expect(groups.listGroups({ states: ["zombie"] })).rejects.toMatchObject({ code: 3 satisfies grpc.status.INVALID_ARGUMENT });

    const produced = await admin.produce({
      acks: -1,
      timeoutMs: 5_000,
      topics: [{ topic: "__consumer_offsets", partitions: [{ partition: 0, records: encodeRecordBatch({ records: [{ key: Buffer.from("k"), value: Buffer.from("v"), timestamp: Date.now() }] }) }] }],
    });
    expect(errorOf(produced.topics[0]?.partitions[0]?.error ?? null)).toBe("INVALID_TOPIC_EXCEPTION");
    const deleted = await admin.deleteTopics({ names: ["__consumer_offsets"] });
    expect(errorOf(deleted.topics[0]?.error ?? null)).toBe("INVALID_REQUEST");

    expect((await admin.healthCheck()).status).toBe("SERVING");
    expect(await committed()).toEqual(before);
  }, 60_000);
});
