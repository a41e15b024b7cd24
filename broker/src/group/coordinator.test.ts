// Proves, one scenario at a time, each protocol rule of the group coordinator: revoke-before-assign,
// epoch fencing, session and rebalance timeouts, static membership, regex and metadata changes,
// offset commit fencing, reset/delete/retention, input validation, and that refused requests
// change nothing.
import { describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import {
  GroupCoordinator,
  countPartitions,
  topicPartitionsToObject,
  type GroupDescription,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type TopicPartitions,
} from "./index.js";

const SESSION = 10_000;
const REBALANCE = 5_000;
const RETENTION = 60_000;

function coordinator(topics: Record<string, number> = { orders: 6 }, assignor = "uniform"): GroupCoordinator {
  return new GroupCoordinator({
    config: { sessionTimeoutMs: SESSION, heartbeatIntervalMs: 1_000, offsetsRetentionMs: RETENTION, defaultAssignor: assignor },
    topics: new Map(Object.entries(topics)),
  });
}

function owned(tp: TopicPartitions | Record<string, number[]>): Map<string, number[]> {
  return new Map(tp instanceof Map ? [...tp].map(([t, ps]) => [t, [...ps]]) : Object.entries(tp));
}

function hb(
  c: GroupCoordinator,
  memberId: string,
  memberEpoch: number,
  own: TopicPartitions | Record<string, number[]>,
  nowMs: number,
  extra: Partial<HeartbeatRequest> = {},
): HeartbeatResponse {
  return c.heartbeat(
    {
      groupId: "g",
      memberId,
      memberEpoch,
      ownedPartitions: owned(own),
      rebalanceTimeoutMs: REBALANCE,
      ...(memberEpoch === 0 && extra.subscribedTopicRegex === undefined ? { subscribedTopicNames: ["orders"] } : {}),
      ...extra,
    },
    nowMs,
  );
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SluiceError) return e.errorName;
    throw e;
  }
  return "no error";
}

/** No partition is in two members' assigned+pending sets. */
function expectSingleOwners(d: GroupDescription): void {
  const seen = new Map<string, string>();
  for (const m of d.members) {
    for (const tp of [m.assignment, m.pendingRevocation]) {
      for (const [t, ps] of tp) {
        for (const p of ps) {
          const key = `${t}/${p}`;
          expect(seen.get(key), `${key} owned by ${seen.get(key)} and ${m.memberId}`).toBeUndefined();
          seen.set(key, m.memberId);
        }
      }
    }
  }
}

describe("joining and rebalancing", () => {
  it("a first member gets every partition at epoch 1 and the group is stable", () => {
    const c = coordinator();
    const r = hb(c, "a", 0, {}, 0);
    expect(r.memberEpoch).toBe(1);
    expect(topicPartitionsToObject(r.assignment)).toEqual({ orders: [0, 1, 2, 3, 4, 5] });
    expect(c.describeGroup("g").state).toBe("stable");
    expect(c.takeRecords().map((rec) => rec.type)).toEqual([
      "member-metadata",
      "group-metadata",
      "target-assignment-member",
      "target-assignment-metadata",
      "current-assignment",
    ]);
  });

  it("a second member gets nothing until the first acknowledges the revocation (revoke before assign)", () => {
    const c = coordinator();
    const a1 = hb(c, "a", 0, {}, 0);
    const b1 = hb(c, "b", 0, {}, 10);
    expect(b1.memberEpoch).toBe(2);
    expect(countPartitions(b1.assignment)).toBe(0); // a still holds everything
    expect(c.describeGroup("g").state).toBe("reconciling");
    expect(c.describeGroup("g").members.find((m) => m.memberId === "b")?.state).toBe("unreleased_partitions");

    // a hears it must give up three partitions; it keeps epoch 1 until it does.
    const a2 = hb(c, "a", 1, a1.assignment, 20);
    expect(a2.memberEpoch).toBe(1);
    expect(countPartitions(a2.assignment)).toBe(3);
    const da = c.describeGroup("g").members.find((m) => m.memberId === "a");
    expect(da?.state).toBe("unrevoked_partitions");
    expect(countPartitions(da?.pendingRevocation ?? new Map())).toBe(3);
    // b asks again: still nothing, the partitions are pending revocation at a.
    expect(countPartitions(hb(c, "b", 2, {}, 30).assignment)).toBe(0);
    expectSingleOwners(c.describeGroup("g"));

    // a reports it let them go: epoch 2, and only then can b take them.
    const a3 = hb(c, "a", 1, a2.assignment, 40);
    expect(a3.memberEpoch).toBe(2);
    const b2 = hb(c, "b", 2, {}, 50);
    expect(countPartitions(b2.assignment)).toBe(3);
    expect(c.describeGroup("g").state).toBe("stable");
    expectSingleOwners(c.describeGroup("g"));
  });

  it("a member that reports partitions it does not hold need not be waited for", () => {
    const c = coordinator();
    hb(c, "a", 0, {}, 0); // a never learns its assignment (response lost) and owns nothing
    hb(c, "b", 0, {}, 1);
    const a = hb(c, "a", 1, {}, 2);
    expect(a.memberEpoch).toBe(2); // nothing to revoke from what it holds
    expect(countPartitions(hb(c, "b", 2, {}, 3).assignment)).toBe(3);
  });

  it("serverAssignor picks the assignor; an unknown one is UNSUPPORTED_ASSIGNOR", () => {
    const c = coordinator({ t0: 3, t1: 3 }, "uniform");
    hb(c, "a", 0, {}, 0, { subscribedTopicNames: ["t0", "t1"], serverAssignor: "range" });
    const b = hb(c, "b", 0, {}, 1, { subscribedTopicNames: ["t0", "t1"], serverAssignor: "range" });
    expect(c.describeGroup("g").assignor).toBe("range");
    expect(topicPartitionsToObject(c.describeGroup("g").members.find((m) => m.memberId === "b")?.targetAssignment ?? new Map())).toEqual({ t0: [2], t1: [2] });
    expect(b.memberEpoch).toBe(2);
    expect(errorOf(() => hb(c, "x", 0, {}, 2, { serverAssignor: "magic" }))).toBe("UNSUPPORTED_ASSIGNOR");
  });

  it("refuses joins beyond the group size limit", () => {
    const c = new GroupCoordinator({ config: { maxGroupSize: 2, sessionTimeoutMs: SESSION, heartbeatIntervalMs: 1_000 }, topics: new Map([["orders", 2]]) });
    hb(c, "a", 0, {}, 0);
    hb(c, "b", 0, {}, 0);
    expect(errorOf(() => hb(c, "c", 0, {}, 0))).toBe("GROUP_MAX_SIZE_REACHED");
  });
});

describe("epochs fence zombies", () => {
  it("newer, older, unknown and wrong-group epochs are refused with the right codes", () => {
    const c = coordinator();
    const a = hb(c, "a", 0, {}, 0);
    expect(errorOf(() => hb(c, "a", 7, a.assignment, 1))).toBe("FENCED_MEMBER_EPOCH");
    expect(errorOf(() => hb(c, "ghost", 3, {}, 1))).toBe("UNKNOWN_MEMBER_ID");
    expect(errorOf(() => c.heartbeat({ groupId: "nope", memberId: "a", memberEpoch: 4, ownedPartitions: new Map() }, 1))).toBe("GROUP_ID_NOT_FOUND");
    hb(c, "b", 0, {}, 2);
    const a2 = hb(c, "a", 1, a.assignment, 3); // revocation pending, still epoch 1
    hb(c, "a", 1, a2.assignment, 4); // acknowledged: epoch 2
    // Epoch 1 with a subset of the current assignment: the epoch-2 response was lost; accepted.
    expect(hb(c, "a", 1, a2.assignment, 5).memberEpoch).toBe(2);
    // Epoch 1 claiming more than it has now: a zombie.
    expect(errorOf(() => hb(c, "a", 1, a.assignment, 6))).toBe("FENCED_MEMBER_EPOCH");
    // Current epoch but claiming partitions never given.
    expect(errorOf(() => hb(c, "a", 2, { orders: [0, 1, 2, 3, 4, 5] }, 7))).toBe("FENCED_MEMBER_EPOCH");
  });

  it("a refused request changes nothing and emits no records", () => {
    const c = coordinator();
    const a = hb(c, "a", 0, {}, 0);
    c.takeRecords();
    const before = c.snapshot();
    for (const bad of [
      () => hb(c, "a", 9, a.assignment, 1),
      () => hb(c, "a", 1, { orders: [99] }, 1),
      () => hb(c, "a", 1, { orders: [-1] }, 1),
      () => hb(c, "a", 1, { orders: [0.5] }, 1),
      () => hb(c, "", 0, {}, 1),
      () => hb(c, "a", -3, {}, 1),
      () => hb(c, "z", 0, {}, 1, { subscribedTopicRegex: "(a" }),
      () => hb(c, "z", 0, {}, 1, { subscribedTopicNames: ["x"], subscribedTopicRegex: "x" }),
      () => c.heartbeat({ groupId: "", memberId: "a", memberEpoch: 0, ownedPartitions: new Map(), subscribedTopicNames: [] }, 1),
      () => c.heartbeat({ groupId: "g", memberId: "z", memberEpoch: 0, ownedPartitions: new Map() }, 1),
      () => hb(c, "z", 0, {}, 1, { rebalanceTimeoutMs: -5 }),
      () => hb(c, "z", -2, {}, 1),
    ]) {
      expect(bad).toThrow(SluiceError);
    }
    expect(c.takeRecords()).toEqual([]);
    expect(c.snapshot()).toEqual(before);
  });
});

describe("timeouts", () => {
  it("a silent member is removed at its session timeout and its partitions go to the others", () => {
    const c = coordinator();
    const a = hb(c, "a", 0, {}, 0);
    hb(c, "b", 0, {}, 0);
    const a2 = hb(c, "a", 1, a.assignment, 100);
    const a3 = hb(c, "a", 1, a2.assignment, 200);
    const b = hb(c, "b", 2, {}, 300);
    expect(countPartitions(b.assignment)).toBe(3);
    // b goes silent; a keeps heartbeating.
    hb(c, "a", a3.memberEpoch, a3.assignment, 5_000);
    expect(c.tick(SESSION + 299).removedMembers).toEqual([]);
    const report = c.tick(SESSION + 300);
    expect(report.removedMembers).toEqual([{ groupId: "g", memberId: "b", reason: "session-timeout" }]);
    expect(c.describeGroup("g").state).toBe("assigning");
    const a4 = hb(c, "a", a3.memberEpoch, a3.assignment, SESSION + 400);
    expect(countPartitions(a4.assignment)).toBe(6);
    expect(errorOf(() => hb(c, "b", b.memberEpoch, b.assignment, SESSION + 500))).toBe("UNKNOWN_MEMBER_ID");
  });

  it("a heartbeat after the deadline finds the member already expired, even without a tick", () => {
    const c = coordinator();
    const a = hb(c, "a", 0, {}, 0);
    expect(errorOf(() => hb(c, "a", a.memberEpoch, a.assignment, SESSION))).toBe("UNKNOWN_MEMBER_ID");
    expect(c.takeRecords().some((r) => r.type === "member-metadata" && r.value === null)).toBe(true);
  });

  it("a member that will not revoke is fenced after its rebalance timeout; only then does the other get the partitions", () => {
    const c = coordinator();
    const a = hb(c, "a", 0, {}, 0);
    hb(c, "b", 0, {}, 0);
    hb(c, "a", 1, a.assignment, 100); // told to revoke at t=100
    for (let t = 1_000; t < 100 + REBALANCE; t += 1_000) {
      hb(c, "a", 1, a.assignment, t); // keeps reporting all six
      expect(countPartitions(hb(c, "b", 2, {}, t).assignment)).toBe(0);
    }
    expect(c.tick(100 + REBALANCE).removedMembers).toEqual([{ groupId: "g", memberId: "a", reason: "rebalance-timeout" }]);
    expect(errorOf(() => hb(c, "a", 1, a.assignment, 100 + REBALANCE + 1))).toBe("UNKNOWN_MEMBER_ID");
    const b = hb(c, "b", 2, {}, 100 + REBALANCE + 2);
    expect(countPartitions(b.assignment)).toBe(6);
  });
});

describe("static membership", () => {
  function twoStatic(): { c: GroupCoordinator; a: HeartbeatResponse; b: HeartbeatResponse } {
    const c = coordinator();
    let a = hb(c, "a-1", 0, {}, 0, { instanceId: "host-a" });
    let b = hb(c, "b-1", 0, {}, 0, { instanceId: "host-b" });
    a = hb(c, "a-1", a.memberEpoch, a.assignment, 10);
    a = hb(c, "a-1", a.memberEpoch, a.assignment, 20);
    b = hb(c, "b-1", b.memberEpoch, {}, 30);
    expect(c.describeGroup("g").state).toBe("stable");
    return { c, a, b };
  }

  it("a restart (leave with -2, rejoin with a new member id) gets the same partitions without a rebalance", () => {
    const { c, a } = twoStatic();
    const epochBefore = c.describeGroup("g").groupEpoch;
    expect(hb(c, "a-1", -2, {}, 40, { instanceId: "host-a" }).memberEpoch).toBe(-2);
    const d = c.describeGroup("g");
    expect(d.members.find((m) => m.memberId === "a-1")?.state).toBe("left");
    expect(d.groupEpoch).toBe(epochBefore); // no rebalance: b keeps its partitions, a's stay reserved
    const again = hb(c, "a-2", 0, {}, 50, { instanceId: "host-a" });
    expect(topicPartitionsToObject(again.assignment)).toEqual(topicPartitionsToObject(a.assignment));
    expect(c.describeGroup("g").groupEpoch).toBe(epochBefore);
    expect(c.describeGroup("g").state).toBe("stable");
    expect(c.describeGroup("g").members.map((m) => m.memberId)).toEqual(["a-2", "b-1"]);
    // The old process is fenced by instance.
    expect(errorOf(() => hb(c, "a-1", a.memberEpoch, a.assignment, 60, { instanceId: "host-a" }))).toBe("FENCED_INSTANCE_ID");
  });

  it("a second live member with the same instance id is UNRELEASED_INSTANCE_ID", () => {
    const { c } = twoStatic();
    expect(errorOf(() => hb(c, "a-2", 0, {}, 40, { instanceId: "host-a" }))).toBe("UNRELEASED_INSTANCE_ID");
  });

  it("a static member that left with -2 and never returns is removed at session timeout and its partitions move", () => {
    const { c, b } = twoStatic();
    hb(c, "a-1", -2, {}, 40, { instanceId: "host-a" });
    let bb = hb(c, "b-1", b.memberEpoch, b.assignment, SESSION);
    expect(c.tick(SESSION + 40).removedMembers.map((r) => r.memberId)).toEqual(["a-1"]);
    bb = hb(c, "b-1", bb.memberEpoch, bb.assignment, SESSION + 50);
    expect(countPartitions(bb.assignment)).toBe(6);
  });
});

describe("subscriptions and metadata", () => {
  it("regex subscriptions match whole names, skip internal topics, and pick up new topics", () => {
    const c = coordinator({ "orders.eu": 2, "orders.us": 2, "payments": 2, "__orders.internal": 2 });
    const a = hb(c, "a", 0, {}, 0, { subscribedTopicRegex: "orders\\..*|__orders.*" });
    expect([...a.assignment.keys()]).toEqual(["orders.eu", "orders.us"]);
    const epoch = c.describeGroup("g").groupEpoch;
    c.updateTopics(new Map([["orders.eu", 2], ["orders.us", 2], ["orders.ap", 3], ["payments", 2]]));
    expect(c.describeGroup("g").groupEpoch).toBe(epoch + 1);
    expect(c.describeGroup("g").state).toBe("assigning");
    const a2 = hb(c, "a", a.memberEpoch, a.assignment, 1);
    expect(topicPartitionsToObject(a2.assignment)).toEqual({ "orders.ap": [0, 1, 2], "orders.eu": [0, 1], "orders.us": [0, 1] });
  });

  it("new partitions are picked up and a deleted topic is revoked", () => {
    const c = coordinator({ orders: 2, audit: 1 });
    let a = hb(c, "a", 0, {}, 0, { subscribedTopicNames: ["orders", "audit"] });
    c.updateTopics(new Map([["orders", 4]]));
    a = hb(c, "a", a.memberEpoch, a.assignment, 1); // audit must be revoked first
    expect(topicPartitionsToObject(a.assignment)).toEqual({ orders: [0, 1] });
    a = hb(c, "a", a.memberEpoch, a.assignment, 2);
    expect(topicPartitionsToObject(a.assignment)).toEqual({ orders: [0, 1, 2, 3] });
  });

  it("changing the subscription bumps the epoch; an unchanged heartbeat does not", () => {
    const c = coordinator({ orders: 2, audit: 2 });
    let a = hb(c, "a", 0, {}, 0);
    const e = c.describeGroup("g").groupEpoch;
    a = hb(c, "a", a.memberEpoch, a.assignment, 1);
    expect(c.describeGroup("g").groupEpoch).toBe(e);
    c.takeRecords();
    hb(c, "a", a.memberEpoch, a.assignment, 2);
    expect(c.takeRecords()).toEqual([]); // a plain heartbeat writes nothing
    a = hb(c, "a", a.memberEpoch, a.assignment, 3, { subscribedTopicNames: ["audit"] });
    expect(c.describeGroup("g").groupEpoch).toBe(e + 1);
  });
});

describe("committed offsets", () => {
  function member(): { c: GroupCoordinator; a: HeartbeatResponse } {
    const c = coordinator({ orders: 2 });
    return { c, a: hb(c, "a", 0, {}, 0) };
  }

  it("commit and fetch, with metadata and leader epoch", () => {
    const { c, a } = member();
    const res = c.commitOffsets(
      { groupId: "g", memberId: "a", memberEpoch: a.memberEpoch, offsets: [{ topic: "orders", partition: 0, offset: 42, leaderEpoch: 3, metadata: "m" }] },
      100,
    );
    expect(res).toEqual([{ topic: "orders", partition: 0, error: undefined }]);
    expect(c.fetchOffsets("g", [{ topic: "orders", partition: 0 }, { topic: "orders", partition: 1 }])).toEqual([
      { topic: "orders", partition: 0, offset: 42, leaderEpoch: 3, metadata: "m", commitTimestampMs: 100 },
      { topic: "orders", partition: 1, offset: -1, leaderEpoch: -1, metadata: "", commitTimestampMs: -1 },
    ]);
  });

  it("fences commits by epoch and by ownership, per partition where it can", () => {
    const { c, a } = member();
    const commit = (memberId: string, memberEpoch: number, partition = 0, extra = {}): string =>
      errorOf(() => {
        const r = c.commitOffsets({ groupId: "g", memberId, memberEpoch, offsets: [{ topic: "orders", partition, offset: 1, ...extra }] }, 1);
        if (r[0]?.error !== undefined) throw new SluiceError(r[0].error);
      });
    expect(commit("a", a.memberEpoch + 1)).toBe("FENCED_MEMBER_EPOCH");
    expect(commit("zz", a.memberEpoch)).toBe("UNKNOWN_MEMBER_ID");
    expect(commit("a", -1)).toBe("UNKNOWN_MEMBER_ID"); // standalone commit into a live group
    expect(commit("a", a.memberEpoch, 7)).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    expect(commit("a", a.memberEpoch, 0, { metadata: "x".repeat(5000) })).toBe("OFFSET_METADATA_TOO_LARGE");
    expect(commit("a", a.memberEpoch, 0, { offset: -4 })).toBe("INVALID_COMMIT_OFFSET_SIZE");
    // b joins: a is at epoch 1 with partition 1 pending revocation, so it can still commit it.
    hb(c, "b", 0, {}, 2);
    const a2 = hb(c, "a", 1, a.assignment, 3);
    expect(a2.memberEpoch).toBe(1);
    expect(commit("a", 1, 1)).toBe("no error");
    hb(c, "a", 1, a2.assignment, 4); // revocation acknowledged, epoch 2
    expect(commit("a", 1, 0)).toBe("STALE_MEMBER_EPOCH");
    expect(commit("a", 2, 1)).toBe("STALE_MEMBER_EPOCH"); // partition 1 is no longer a's
    expect(commit("a", 2, 0)).toBe("no error");
  });

  it("admin reset needs an empty group; then it may move offsets backwards", () => {
    const { c, a } = member();
    c.commitOffsets({ groupId: "g", memberId: "a", memberEpoch: a.memberEpoch, offsets: [{ topic: "orders", partition: 0, offset: 50 }] }, 1);
    expect(errorOf(() => c.resetOffsets("g", [{ topic: "orders", partition: 0, offset: 0 }], 2))).toBe("NON_EMPTY_GROUP");
    hb(c, "a", -1, {}, 3);
    expect(c.describeGroup("g").state).toBe("empty");
    expect(c.resetOffsets("g", [{ topic: "orders", partition: 0, offset: 5 }], 4)).toEqual([{ topic: "orders", partition: 0, error: undefined }]);
    expect(c.fetchOffsets("g", [{ topic: "orders", partition: 0 }])[0]?.offset).toBe(5);
  });

  it("a static member that left with -2 still counts: no reset until it is gone", () => {
    const c = coordinator({ orders: 2 });
    hb(c, "a", 0, {}, 0, { instanceId: "i" });
    hb(c, "a", -2, {}, 1, { instanceId: "i" });
    expect(errorOf(() => c.resetOffsets("g", [{ topic: "orders", partition: 0, offset: 0 }], 2))).toBe("NON_EMPTY_GROUP");
    expect(c.resetOffsets("g", [{ topic: "orders", partition: 0, offset: 0 }], 1 + SESSION)).toEqual([{ topic: "orders", partition: 0, error: undefined }]);
  });

  it("delete offsets is refused for subscribed topics; delete group needs an empty group", () => {
    const { c, a } = member();
    c.commitOffsets({ groupId: "g", memberId: "a", memberEpoch: a.memberEpoch, offsets: [{ topic: "orders", partition: 0, offset: 50 }] }, 1);
    expect(c.deleteOffsets("g", [{ topic: "orders", partition: 0 }], 2)).toEqual([{ topic: "orders", partition: 0, error: "GROUP_SUBSCRIBED_TO_TOPIC" }]);
    expect(errorOf(() => c.deleteGroup("g", 2))).toBe("NON_EMPTY_GROUP");
    hb(c, "a", -1, {}, 3);
    expect(c.deleteOffsets("g", [{ topic: "orders", partition: 0 }], 4)).toEqual([{ topic: "orders", partition: 0, error: undefined }]);
    expect(c.fetchOffsets("g")).toEqual([]);
    c.deleteGroup("g", 5);
    expect(errorOf(() => c.describeGroup("g"))).toBe("GROUP_ID_NOT_FOUND");
    expect(c.listGroups()).toEqual([]);
  });

  it("offsets of an empty group expire offsets.retention.ms after it became empty; never while it has members", () => {
    const { c, a } = member();
    c.commitOffsets({ groupId: "g", memberId: "a", memberEpoch: a.memberEpoch, offsets: [{ topic: "orders", partition: 0, offset: 9 }] }, 0);
    let keep = hb(c, "a", a.memberEpoch, a.assignment, 5_000);
    for (let t = 5_000; t < 3 * RETENTION; t += 5_000) keep = hb(c, "a", keep.memberEpoch, keep.assignment, t);
    expect(c.tick(3 * RETENTION).expiredOffsets).toBe(0); // members: never
    const emptiedAt = 3 * RETENTION + 1;
    hb(c, "a", -1, {}, emptiedAt);
    expect(c.tick(emptiedAt + RETENTION - 1).expiredOffsets).toBe(0);
    expect(c.describeGroup("g").state).toBe("empty");
    const report = c.tick(emptiedAt + RETENTION);
    expect(report.expiredOffsets).toBe(1);
    expect(report.deletedGroups).toEqual(["g"]); // empty and offset-less: forgotten
    expect(c.listGroups()).toEqual([]);
  });

  it("standalone commits (epoch -1) work on groups without members and count retention from commit time", () => {
    const c = coordinator({ orders: 2 });
    c.commitOffsets({ groupId: "solo", memberEpoch: -1, offsets: [{ topic: "orders", partition: 1, offset: 3 }] }, 1_000);
    expect(c.listGroups()).toEqual([{ groupId: "solo", state: "empty", memberCount: 0 }]);
    expect(c.describeGroup("solo")).toMatchObject({ state: "empty", members: [] });
    expect(c.tick(1_000 + RETENTION - 1).expiredOffsets).toBe(0);
    expect(c.tick(1_000 + RETENTION).expiredOffsets).toBe(1);
  });
});

describe("replay", () => {
  it("load(records) rebuilds the same state, and the rebuilt coordinator answers the same way", () => {
    const c = coordinator();
    const records = [];
    const a = hb(c, "a", 0, {}, 0, { instanceId: "ia" });
    hb(c, "b", 0, {}, 1);
    const a2 = hb(c, "a", a.memberEpoch, a.assignment, 2);
    c.commitOffsets({ groupId: "g", memberId: "a", memberEpoch: a2.memberEpoch, offsets: [{ topic: "orders", partition: 0, offset: 7, metadata: "ü" }] }, 3);
    records.push(...c.takeRecords());
    const loaded = GroupCoordinator.load(records, 4, { config: c.config, topics: new Map([["orders", 6]]) });
    expect(loaded.snapshot()).toEqual(c.snapshot());
    expect(loaded.takeRecords()).toEqual([]);
    const next = (x: GroupCoordinator): unknown => hb(x, "a", a2.memberEpoch, a2.assignment, 5);
    expect(next(loaded)).toEqual(next(c));
    expect(loaded.takeRecords()).toEqual(c.takeRecords());
  });
});

describe("failover", () => {
  it("a coordinator loaded under a newer topic image bumps the epoch on the next heartbeat and assigns the new partitions", () => {
    const c = coordinator({ orders: 2 });
    const a = hb(c, "a", 0, {}, 0);
    const loaded = GroupCoordinator.load(c.takeRecords(), 10, { config: c.config, topics: new Map([["orders", 4]]) });
    expect(loaded.describeGroup("g").groupEpoch).toBe(1);
    const a2 = hb(loaded, "a", a.memberEpoch, a.assignment, 11);
    expect(loaded.describeGroup("g").groupEpoch).toBe(2);
    expect(topicPartitionsToObject(a2.assignment)).toEqual({ orders: [0, 1, 2, 3] });
  });

  it("members get a fresh session on load (deadlines are not durable)", () => {
    const c = coordinator();
    hb(c, "a", 0, {}, 0);
    const loaded = GroupCoordinator.load(c.takeRecords(), 5_000, { config: c.config, topics: new Map([["orders", 6]]) });
    expect(loaded.sessionDeadlineMs("g", "a")).toBe(5_000 + SESSION);
    expect(loaded.tick(5_000 + SESSION - 1).removedMembers).toEqual([]);
    expect(loaded.tick(5_000 + SESSION).removedMembers.map((r) => r.memberId)).toEqual(["a"]);
  });
});

describe("configuration", () => {
  it("rejects nonsense with INVALID_CONFIG", () => {
    for (const config of [{ sessionTimeoutMs: 0 }, { heartbeatIntervalMs: 50_000 }, { defaultAssignor: "x" }, { maxGroupSize: 1e9 }, { offsetMetadataMaxBytes: 1e6 }]) {
      expect(errorOf(() => new GroupCoordinator({ config }))).toBe("INVALID_CONFIG");
    }
  });
});
