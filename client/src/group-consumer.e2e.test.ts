// Proves the SDK's consumer groups against the real broker process: members join and leave
// and partitions move with onRevoked finishing before onAssigned elsewhere; auto-commit
// persists positions and a restarted consumer resumes there; a static member that restarts
// keeps its partitions without disturbing others; a regex subscription picks up a matching
// topic created later; explicit commits; and Admin's group operations with their typed errors.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { Admin } from "./admin.js";
import type { ConsumerRecord, TopicPartition } from "./consumer.js";
import { GroupConsumer, type GroupConsumerOptions } from "./group-consumer.js";
import { Producer } from "./producer.js";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "../../test/e2e/broker-process.js";

const SESSION_TIMEOUT_MS = 6_000;

let broker: BrokerProcess;
let admin: Admin;
let producer: Producer;
const open: GroupConsumer[] = [];

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ["--group-consumer-session-timeout-ms", String(SESSION_TIMEOUT_MS), "--group-consumer-heartbeat-interval-ms", "300", "--log-level", "warn"] });
  admin = new Admin({ bootstrap: broker.bootstrap });
  producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 1 });
});

afterAll(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  await producer?.close();
  await admin?.close();
  await broker?.stop();
  if (broker !== undefined) await removeDataDir(broker.dataDir);
});

function consumer(options: Omit<GroupConsumerOptions, "bootstrap">): GroupConsumer {
  const c = new GroupConsumer({ bootstrap: broker.bootstrap, sessionTimeoutMs: SESSION_TIMEOUT_MS, autoOffsetReset: "earliest", maxWaitMs: 100, ...options });
  open.push(c);
  return c;
}

const names = (list: readonly TopicPartition[]): string[] => list.map((tp) => `${tp.topic}-${tp.partition}`);

async function produce(topic: string, partition: number, count: number, from = 0): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => producer.send({ topic, partition, value: `v${from + i}` })));
}

/** Reads records in the background until `stop()`; `records` grows as they arrive. */
function drain(c: GroupConsumer): { records: ConsumerRecord[]; done: Promise<void> } {
  const records: ConsumerRecord[] = [];
  const done = (async () => {
    for await (const record of c) records.push(record);
  })();
  return { records, done };
}

async function errorOf(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe("GroupConsumer against the real broker", () => {
  it("shares partitions as members join and leave; onRevoked ends before the partition is assigned elsewhere", async () => {
    await admin.createTopics([{ name: "g-share", partitions: 4 }]);
    const log: string[] = [];
    const callbacks = (who: string): Pick<GroupConsumerOptions, "onAssigned" | "onRevoked"> => ({
      onAssigned: (ps) => void log.push(...names(ps).map((p) => `${who} assigned ${p}`)),
      onRevoked: async (ps) => {
        await new Promise((resolve) => setTimeout(resolve, 50)); // slow callback: nobody may take them meanwhile
        log.push(...names(ps).map((p) => `${who} revoked ${p}`));
      },
    });
    const a = consumer({ groupId: "share", ...callbacks("a") });
    a.subscribe({ topics: ["g-share"] });
    const aReading = drain(a);
    await vi.waitFor(() => expect(a.assignment()).toHaveLength(4), { timeout: 20_000 });

    const b = consumer({ groupId: "share", ...callbacks("b") });
    b.subscribe({ topics: ["g-share"] });
    const bReading = drain(b);
    await vi.waitFor(() => {
      expect(a.assignment()).toHaveLength(2);
      expect(b.assignment()).toHaveLength(2);
    }, { timeout: 20_000 });
    expect(new Set([...names(a.assignment()), ...names(b.assignment())]).size).toBe(4);
    for (const p of names(b.assignment())) {
      const revoked = log.indexOf(`a revoked ${p}`);
      expect(revoked, p).toBeGreaterThanOrEqual(0);
      expect(revoked).toBeLessThan(log.indexOf(`b assigned ${p}`));
    }
    const [described] = await admin.describeGroups(["share"]);
    expect(described?.state).toBe("stable");
    expect(described?.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());

    // Records of b's partitions now reach b only.
    const bPartition = b.assignment()[0]!;
    await produce("g-share", bPartition.partition, 5);
    await vi.waitFor(() => expect(bReading.records.filter((r) => r.partition === bPartition.partition)).toHaveLength(5), { timeout: 10_000 });
    expect(aReading.records.filter((r) => r.partition === bPartition.partition)).toHaveLength(0);

    // b leaves cleanly: its partitions go back to a, after b's onRevoked.
    await b.close();
    await bReading.done;
    expect(log.filter((l) => l.startsWith("b revoked"))).toHaveLength(2);
    await vi.waitFor(() => expect(a.assignment()).toHaveLength(4), { timeout: 20_000 });
    await a.close();
    await aReading.done;
    const [after] = await admin.describeGroups(["share"]);
    expect(after?.state).toBe("empty");
  });

  it("auto-commits processed positions; a restarted consumer resumes from the commit", async () => {
    await admin.createTopics([{ name: "g-resume", partitions: 1 }]);
    await produce("g-resume", 0, 50);
    const first = consumer({ groupId: "resume", autoCommitIntervalMs: 200 });
    first.subscribe({ topics: ["g-resume"] });
    const seen: number[] = [];
    for await (const record of first) {
      seen.push(record.offset);
      if (seen.length === 20) break;
    }
    // The periodic commit lands without close().
    await vi.waitFor(async () => expect((await admin.fetchOffsets("resume"))[0]?.offset).toBe(20), { timeout: 10_000 });
    expect(first.position({ topic: "g-resume", partition: 0 })).toBe(20);
    await first.close();

    const second = consumer({ groupId: "resume" });
    second.subscribe({ topics: ["g-resume"] });
    const resumed: number[] = [];
    for await (const record of second) {
      resumed.push(record.offset);
      if (resumed.length === 30) break;
    }
    expect(resumed).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
    await second.close();
    expect((await admin.fetchOffsets("resume"))[0]?.offset).toBe(50);
  });

  it("a static member that restarts within its session keeps its partitions; the others see no rebalance", async () => {
    await admin.createTopics([{ name: "g-static", partitions: 4 }]);
    const events: string[] = [];
    const s1 = consumer({ groupId: "static", instanceId: "worker-1" });
    const s2 = consumer({ groupId: "static", instanceId: "worker-2", onAssigned: (ps) => void events.push(`assigned ${names(ps).join(",")}`), onRevoked: (ps) => void events.push(`revoked ${names(ps).join(",")}`) });
    s1.subscribe({ topics: ["g-static"] });
    s2.subscribe({ topics: ["g-static"] });
    const r1 = drain(s1);
    const r2 = drain(s2);
    await vi.waitFor(() => {
      expect(s1.assignment()).toHaveLength(2);
      expect(s2.assignment()).toHaveLength(2);
    }, { timeout: 20_000 });
    const before = names(s1.assignment());
    const s2Events = events.length;

    await s1.close(); // epoch -2: the partitions wait for worker-1
    await r1.done;
    const [left] = await admin.describeGroups(["static"]);
    expect(left?.members.find((m) => m.instanceId === "worker-1")?.state).toBe("left");

    const restarted = consumer({ groupId: "static", instanceId: "worker-1" });
    restarted.subscribe({ topics: ["g-static"] });
    const r3 = drain(restarted);
    await vi.waitFor(() => expect(names(restarted.assignment())).toEqual(before), { timeout: 20_000 });
    expect(restarted.memberId).not.toBe(s1.memberId);
    expect(events.slice(s2Events)).toEqual([]); // worker-2 was never disturbed
    await restarted.close();
    await s2.close();
    await Promise.all([r2.done, r3.done]);
  });

  it("a regex subscription picks up a matching topic created later", async () => {
    await admin.createTopics([{ name: "rx-first", partitions: 1 }, { name: "other-topic", partitions: 1 }]);
    const c = consumer({ groupId: "regex" });
    c.subscribe({ topicRegex: "rx-.*" });
    const reading = drain(c);
    await vi.waitFor(() => expect(names(c.assignment())).toEqual(["rx-first-0"]), { timeout: 20_000 });
    await admin.createTopics([{ name: "rx-second", partitions: 2 }]);
    await vi.waitFor(() => expect(names(c.assignment())).toEqual(["rx-first-0", "rx-second-0", "rx-second-1"]), { timeout: 20_000 });
    await produce("rx-second", 1, 3);
    await produce("other-topic", 0, 3);
    await vi.waitFor(() => expect(reading.records.map((r) => `${r.topic}:${r.offset}`)).toEqual(["rx-second:0", "rx-second:1", "rx-second:2"]), { timeout: 10_000 });
    await c.close();
    await reading.done;
  });

  it("commits explicitly with commitOffsets() and commit() when auto-commit is off", async () => {
    await admin.createTopics([{ name: "g-explicit", partitions: 1 }]);
    await produce("g-explicit", 0, 10);
    const c = consumer({ groupId: "explicit", autoCommit: false });
    c.subscribe({ topics: ["g-explicit"] });
    let n = 0;
    for await (const record of c) {
      n++;
      if (record.offset === 4) await c.commitOffsets([{ topic: "g-explicit", partition: 0, offset: 5, metadata: "half" }]);
      if (n === 10) break;
    }
    const [half] = await admin.fetchOffsets("explicit");
    expect(half).toMatchObject({ topic: "g-explicit", partition: 0, offset: 5, metadata: "half" });
    expect(await c.committed()).toEqual([{ topic: "g-explicit", partition: 0, offset: 5, metadata: "half" }]);
    await c.commit();
    expect((await admin.fetchOffsets("explicit"))[0]?.offset).toBe(10);
    expect(c.lag({ topic: "g-explicit", partition: 0 })).toBe(0);

    // Admin refuses changes to a group with an active member.
    expect((await errorOf(admin.resetOffsets("explicit", [{ topic: "g-explicit", partition: 0, offset: 0 }]))).errorName).toBe("NON_EMPTY_GROUP");
    expect((await errorOf(admin.deleteGroups(["explicit"]))).errorName).toBe("NON_EMPTY_GROUP");
    await c.close();
    // close() without auto-commit commits nothing more.
    expect((await admin.fetchOffsets("explicit"))[0]?.offset).toBe(10);
  });

  it("Admin lists, describes with lag, resets, deletes offsets and groups, with typed errors", async () => {
    await admin.createTopics([{ name: "g-admin", partitions: 2 }]);
    await produce("g-admin", 0, 8);
    await produce("g-admin", 1, 4);
    await admin.resetOffsets("admin-group", [
      { topic: "g-admin", partition: 0, offset: 3 },
      { topic: "g-admin", partition: 1, offset: 4 },
    ]);
    const coordinator = await admin.findCoordinator("admin-group");
    expect(coordinator).toMatchObject({ groupId: "admin-group", brokerId: 0, host: "127.0.0.1", port: broker.port });
    expect((await admin.listGroups()).find((g) => g.groupId === "admin-group")).toMatchObject({ state: "empty", memberCount: 0 });
    const [described] = await admin.describeGroups(["admin-group"], { includeOffsets: true });
    expect(described?.offsets.map((o) => [o.partition, o.committedOffset, o.logEndOffset, o.lag])).toEqual([
      [0, 3, 8, 5],
      [1, 4, 4, 0],
    ]);

    const plan = await admin.planOffsetReset("admin-group", [{ topic: "g-admin" }], { offset: 100 });
    expect(plan.map((p) => [p.partition, p.currentOffset, p.newOffset])).toEqual([
      [0, 3, 8],
      [1, 4, 4],
    ]);
    await admin.resetOffsets("admin-group", [{ topic: "g-admin", partition: 0, offset: 0 }], { validateOnly: true });
    expect((await admin.fetchOffsets("admin-group", [{ topic: "g-admin", partitions: [0] }]))[0]?.offset).toBe(3);
    expect((await errorOf(admin.resetOffsets("admin-group", [{ topic: "g-admin", partition: 9, offset: 0 }]))).errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");

    await admin.deleteOffsets("admin-group", [{ topic: "g-admin", partitions: [1] }]);
    expect((await admin.fetchOffsets("admin-group")).map((o) => o.partition)).toEqual([0]);
    await admin.deleteGroups(["admin-group"]);
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain("admin-group");
    expect((await errorOf(admin.deleteGroups(["admin-group"]))).errorName).toBe("GROUP_ID_NOT_FOUND");
    expect((await errorOf(admin.describeGroups([""]))).errorName).toBe("INVALID_GROUP_ID");
  });

  it("rejects bad options and subscriptions with typed errors", async () => {
    expect(() => new GroupConsumer({ bootstrap: broker.bootstrap, groupId: "" })).toThrow(/groupId/);
    expect(() => new GroupConsumer({ bootstrap: broker.bootstrap, groupId: "g", serverAssignor: "sticky" as "uniform" })).toThrow(/serverAssignor/);
    const c = consumer({ groupId: "bad-regex" });
    expect(() => c.subscribe({ topics: [] })).toThrow(SluiceError);
    c.subscribe({ topicRegex: "(a" });
    const error = await errorOf((async () => {
      for await (const _ of c) break;
    })());
    expect(error.errorName).toBe("INVALID_REGULAR_EXPRESSION");
    await c.close();
  });
});
