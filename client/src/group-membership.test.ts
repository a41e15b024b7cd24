// Proves the group member's pure state: what heartbeats carry (epoch, owned partitions, the
// subscription only when joining or changed), revoke-before-assign ordering, that partitions
// withdrawn while being prepared are never taken, fencing drops everything and rejoins at epoch
// 0, and how each heartbeat error is handled.
import { describe, expect, it } from "vitest";
import type { api, ErrorName } from "@sluice/protocol";
import { errorTable } from "@sluice/protocol";
import { GroupMembership, heartbeatFailureAction, partitionSet, sortedPartitions, toWire, fromWire, type MembershipStep } from "./group-membership.js";

function member(options: { instanceId?: string } = {}): GroupMembership {
  return new GroupMembership({ groupId: "g", memberId: "m-1", rebalanceTimeoutMs: 30_000, ...options });
}

function answer(epoch: number, assignment: Record<string, number[]>): api.ConsumerGroupHeartbeatResponse {
  return {
    error: null,
    memberId: "m-1",
    memberEpoch: epoch,
    heartbeatIntervalMs: 1_000,
    assignment: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })),
  };
}

function tps(...names: string[]) {
  return partitionSet(names.map((n) => ({ topic: n.split("-")[0]!, partition: Number(n.split("-")[1]) })));
}

function stepNames(step: MembershipStep | undefined): string {
  if (step === undefined) return "none";
  return `${step.kind} ${sortedPartitions(step.partitions).map((tp) => `${tp.topic}-${tp.partition}`).join(",")}`;
}

describe("GroupMembership", () => {
  it("joins with epoch 0 and the subscription, then sends the subscription only after it changes", () => {
    const m = member();
    m.subscribe({ topics: ["a", "b"] });
    const join = m.heartbeatFields();
    expect(join.carriesSubscription).toBe(true);
    expect(join.request).toMatchObject({ groupId: "g", memberId: "m-1", memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ["a", "b"], ownedPartitions: [] });

    m.onResponse(answer(3, {}), join.carriesSubscription);
    const next = m.heartbeatFields();
    expect(next.carriesSubscription).toBe(false);
    expect(next.request.memberEpoch).toBe(3);
    expect(next.request.subscribedTopicNames).toBeUndefined();

    m.subscribe({ topicRegex: "orders-.*" });
    const changed = m.heartbeatFields();
    expect(changed.carriesSubscription).toBe(true);
    expect(changed.request).toMatchObject({ memberEpoch: 3, subscribedTopicRegex: "orders-.*" });
    expect(changed.request.subscribedTopicNames).toBeUndefined();
    // An answer to a heartbeat sent before the change does not clear it.
    m.onResponse(answer(3, {}), false);
    expect(m.heartbeatFields().carriesSubscription).toBe(true);
    m.onResponse(answer(4, {}), true);
    expect(m.heartbeatFields().carriesSubscription).toBe(false);
  });

  it("takes assigned partitions, reports them owned, and revokes before it assigns more", () => {
    const m = member();
    m.subscribe({ topics: ["a"] });
    expect(m.nextStep()).toBeUndefined(); // nothing known before the first answer
    m.onResponse(answer(1, { a: [0, 1, 2] }), true);
    expect(stepNames(m.nextStep())).toBe("assign a-0,a-1,a-2");
    const { taken, withdrawn } = m.acquired(tps("a-0", "a-1", "a-2"));
    expect(taken.size).toBe(3);
    expect(withdrawn.size).toBe(0);
    expect(m.heartbeatFields().request.ownedPartitions).toEqual([{ topic: "a", partitions: [0, 1, 2] }]);
    expect(m.reconciled).toBe(true);

    // The coordinator moves a-2 away and (in the same answer) hands over a-3: revoke comes first.
    m.onResponse(answer(2, { a: [0, 1, 3] }), false);
    expect(stepNames(m.nextStep())).toBe("revoke a-2");
    // Until released, a-2 is still reported (that is how the revocation is acknowledged later).
    expect(m.heartbeatFields().request.ownedPartitions).toEqual([{ topic: "a", partitions: [0, 1, 2] }]);
    m.released(tps("a-2"));
    expect(stepNames(m.nextStep())).toBe("assign a-3");
    m.acquired(tps("a-3"));
    expect(m.heartbeatFields().request.ownedPartitions).toEqual([{ topic: "a", partitions: [0, 1, 3] }]);
  });

  it("never takes a partition the latest answer withdrew while it was being prepared", () => {
    const m = member();
    m.subscribe({ topics: ["a"] });
    m.onResponse(answer(1, { a: [0, 1] }), true);
    const step = m.nextStep();
    expect(stepNames(step)).toBe("assign a-0,a-1");
    // While the consumer read offsets and ran onAssigned, a-1 went to someone else.
    m.onResponse(answer(2, { a: [0] }), false);
    const { taken, withdrawn } = m.acquired(step!.partitions);
    expect(sortedPartitions(taken)).toEqual([{ topic: "a", partition: 0 }]);
    expect(sortedPartitions(withdrawn)).toEqual([{ topic: "a", partition: 1 }]);
    expect(m.heartbeatFields().request.ownedPartitions).toEqual([{ topic: "a", partitions: [0] }]);
  });

  it("after fencing, drops every partition and rejoins with epoch 0 and the subscription", () => {
    const m = member();
    m.subscribe({ topics: ["a"] });
    m.onResponse(answer(5, { a: [0, 1] }), true);
    m.acquired(tps("a-0", "a-1"));
    const lost = m.fence();
    expect(sortedPartitions(lost).map((tp) => tp.partition)).toEqual([0, 1]);
    expect(m.owned.size).toBe(0);
    expect(m.target).toBeUndefined();
    expect(m.nextStep()).toBeUndefined();
    const rejoin = m.heartbeatFields();
    expect(rejoin.request).toMatchObject({ memberEpoch: 0, ownedPartitions: [], subscribedTopicNames: ["a"] });
    // A partition prepared before the fence is withdrawn, not taken.
    expect(m.acquired(tps("a-0")).withdrawn.size).toBe(1);
  });

  it("leaves with epoch -1, or -2 for a static member (which keeps its instance id on every heartbeat)", () => {
    expect(member().leaveFields()).toMatchObject({ memberEpoch: -1, instanceId: "" });
    const s = member({ instanceId: "worker-1" });
    s.subscribe({ topics: ["a"] });
    expect(s.heartbeatFields().request.instanceId).toBe("worker-1");
    expect(s.leaveFields()).toMatchObject({ memberEpoch: -2, instanceId: "worker-1", ownedPartitions: [] });
  });

  it("maps heartbeat errors to find-coordinator, rejoin, retry-join or fatal", () => {
    const action = (name: ErrorName) => heartbeatFailureAction(name, errorTable[name].retriable);
    for (const name of ["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS", "NETWORK_EXCEPTION", "REQUEST_TIMED_OUT"] as const) {
      expect(action(name), name).toBe("find-coordinator");
    }
    for (const name of ["FENCED_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID", "GROUP_ID_NOT_FOUND"] as const) expect(action(name), name).toBe("rejoin");
    expect(action("UNRELEASED_INSTANCE_ID")).toBe("retry-join");
    for (const name of ["FENCED_INSTANCE_ID", "INVALID_REGULAR_EXPRESSION", "UNSUPPORTED_ASSIGNOR", "GROUP_MAX_SIZE_REACHED", "INVALID_REQUEST", "INVALID_GROUP_ID"] as const) {
      expect(action(name), name).toBe("fatal");
    }
  });

  it("converts partition sets to and from the wire shape, sorted", () => {
    const set = tps("b-2", "a-1", "b-0", "a-0");
    const wire = toWire(set);
    expect(wire).toEqual([
      { topic: "a", partitions: [0, 1] },
      { topic: "b", partitions: [0, 2] },
    ]);
    expect(sortedPartitions(fromWire(wire.map((w) => ({ topic: w.topic ?? "", partitions: w.partitions ?? [] }))))).toEqual(sortedPartitions(set));
  });
});
