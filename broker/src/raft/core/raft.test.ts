// Proves each feature of the Raft core (options, the Ready contract, pre-vote, check-quorum, pipelining bounds, fast backtracking, transfer, learners, membership rules, snapshots, read index) in isolation.
import { AssertionError, StorageError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { append, bytes, cluster, dataEntry, drain, elect, lone, n, o, ofType, t, type Lone } from "../sim/testing/helpers.js";
import {
  ConfigChangeBusyError,
  InvalidConfigChangeError,
  InvalidRaftMessageError,
  InvalidRaftOptionsError,
  InvalidRaftRequestError,
  LeadershipTransferInProgressError,
  NotLeaderError,
  UncommittedBytesLimitError,
} from "./errors.js";
import type { Message } from "./messages.js";
import { Raft } from "./raft.js";
import { SeededRandom } from "./random.js";
import { MemoryStorage } from "./storage.js";
import type { Entry } from "./types.js";

/** Delivers messages between lone nodes until none are left (or a round limit). */
function exchange(nodes: ReadonlyMap<number, Lone>, initial: Message[], onMessage?: (m: Message) => void): void {
  let queue = initial;
  for (let round = 0; round < 200 && queue.length > 0; round++) {
    const next: Message[] = [];
    for (const m of queue) {
      onMessage?.(m);
      const target = nodes.get(m.to);
      if (target === undefined) continue;
      target.raft.step(m);
      next.push(...drain(target));
    }
    queue = next;
  }
}

describe("options and inputs", () => {
  it("rejects invalid options with a typed error", () => {
    const storage = new MemoryStorage();
    const random = new SeededRandom(1);
    expect(() => new Raft({ id: n(-2), storage, random })).toThrow(InvalidRaftOptionsError);
    expect(() => new Raft({ id: n(1), storage, random, electionTimeoutTicks: 0 })).toThrow(InvalidRaftOptionsError);
    expect(() => new Raft({ id: n(1), storage, random, electionTimeoutTicks: 5, heartbeatTicks: 5 })).toThrow(InvalidRaftOptionsError);
    expect(() => new Raft({ id: n(1), storage, random, inflightBytesMax: 1.5 })).toThrow(InvalidRaftOptionsError);
  });

  it("refuses proposals on a follower, naming the leader it knows", () => {
    const env = cluster(3);
    elect(env, 2);
    const err = (() => {
      try {
        env.raft(n(1)).propose(bytes("x"), 1);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderHint).toBe(2);
    expect((err as NotLeaderError).retriable).toBe(true);
  });

  it("rejects malformed proposals without touching the log", () => {
    const env = cluster(1);
    elect(env, 1);
    const raft = env.raft(n(1));
    const last = raft.lastOffset();
    expect(() => raft.propose(bytes("x"), 0)).toThrow(InvalidRaftRequestError);
    expect(() => raft.propose(bytes("x"), 1.5)).toThrow(InvalidRaftRequestError);
    expect(() => raft.propose(bytes("x"), 2 ** 31)).toThrow(InvalidRaftRequestError);
    expect(() => raft.propose(bytes("x"), 1, -1)).toThrow(InvalidRaftRequestError);
    expect(raft.lastOffset()).toBe(last);
  });

  it("applies back-pressure when the uncommitted tail reaches its byte limit", () => {
    const env = cluster(3, { uncommittedBytesMax: 1000 });
    elect(env, 1);
    env.partition([[n(1)], [n(2), n(3)]]);
    const raft = env.raft(n(1));
    raft.propose(bytes("a"), 1, 600);
    expect(() => raft.propose(bytes("b"), 1, 600)).toThrow(UncommittedBytesLimitError);
    env.heal();
    env.stabilize();
    env.tick(n(1), 1);
    env.stabilize();
    expect(() => raft.propose(bytes("b"), 1, 600)).not.toThrow(); // committed bytes no longer count
  });
});

describe("malformed input from peers and disks", () => {
  it("rejects a malformed message with a typed error, changing nothing", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step(append(1, 2, 1, -1, 0, [dataEntry(1, 0, 1)]));
    drain(node);
    const before = JSON.stringify(node.raft.status());
    const bad: Message[] = [
      append(1, 2, 1, 1, 1, [dataEntry(1, 3)]), // gap after prevOffset
      append(1, 2, 1, 1, 1, [dataEntry(1, 2, 1)]), // lastOffset < baseOffset
      append(1, 2, 1, 1, 1, [dataEntry(5, 2)]), // entry of a future term
      append(1, 2, 1, 1, 1, [dataEntry(1, 2), dataEntry(1, 2)]), // overlapping entries
      append(1, 3, 1, 1, 1, []), // addressed to another node
      { ...append(1, 2, 1, 1, 1, []), term: t(-1) },
      { type: "snapshot", from: n(1), to: n(2), term: t(1), snapshot: { meta: { offset: o(4), term: t(9), config: node.raft.config }, data: bytes("") } },
      { type: "heartbeat", from: n(1), to: n(2), term: t(1), commit: o(0.5), readSeq: 0 },
      { type: "vote", from: n(3), to: n(2), term: t(2), lastOffset: o(-7), lastTerm: t(1), transfer: false },
    ];
    for (const m of bad) expect(() => node.raft.step(m), JSON.stringify(m)).toThrow(InvalidRaftMessageError);
    expect(JSON.stringify(node.raft.status())).toBe(before);
    expect(node.raft.hasReady()).toBe(false);
  });

  it("a leader rejects an acknowledgement of an offset that ends none of its entries", () => {
    const env = cluster(3);
    elect(env, 1);
    env.raft(n(1)).propose(bytes("x"), 5); // offsets 1..5
    env.stabilize();
    const ack = (matchOffset: number): Message => ({ type: "append-resp", from: n(2), to: n(1), term: t(1), reject: false, matchOffset: o(matchOffset), rejectHint: o(-1), hintTerm: t(0) });
    expect(() => env.raft(n(1)).step(ack(3))).toThrow(InvalidRaftMessageError);
    expect(() => env.raft(n(1)).step(ack(9))).toThrow(InvalidRaftMessageError);
    expect(() => env.raft(n(1)).step(ack(5))).not.toThrow();
  });

  it("refuses to start on storage whose commit point lies beyond its log (synced data was lost)", () => {
    const storage = new MemoryStorage({ voters: [n(1)], learners: [] });
    storage.append([dataEntry(1, 0)]);
    storage.setHardState({ term: t(1), vote: n(1), commit: o(5) });
    expect(() => new Raft({ id: n(1), storage, random: new SeededRandom(1) })).toThrow(StorageError);
  });
});

describe("the Ready contract", () => {
  it("hands out one Ready at a time and counts the leader's own log only once persisted", () => {
    const node = lone(1, [1]);
    node.raft.campaign();
    expect(node.raft.role).toBe("leader");
    const rd = node.raft.ready();
    expect(rd.entries.map((e) => e.kind)).toEqual(["noop"]);
    expect(rd.mustSync).toBe(true);
    expect(node.raft.hasReady()).toBe(false); // until advance()
    expect(() => node.raft.ready()).toThrow(AssertionError);
    expect(node.raft.committed).toBe(-1); // the no-op is not durable yet, so not committed
    node.storage.append(rd.entries);
    node.raft.advance();
    expect(node.raft.committed).toBe(0);
    const next = node.raft.ready();
    expect(next.committedEntries.map((e) => e.lastOffset)).toEqual([0]);
    expect(next.hardState?.commit).toBe(0);
    expect(next.mustSync).toBe(false); // a commit-only change needs no fsync
  });

  it("lets messages be stepped while a Ready is being handled", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step(append(1, 2, 1, -1, 0, [dataEntry(1, 0)]));
    const rd = node.raft.ready();
    node.raft.step(append(1, 2, 1, 0, 1, [dataEntry(1, 1)]));
    node.storage.append(rd.entries);
    if (rd.hardState !== null) node.storage.setHardState(rd.hardState);
    node.raft.advance();
    const rd2 = node.raft.ready();
    expect(rd2.entries.map((e) => e.baseOffset)).toEqual([1]);
    expect(ofType(rd2.messages, "append-resp").map((m) => m.matchOffset)).toEqual([1]);
  });
});

describe("pre-vote and check-quorum", () => {
  it("a node cut off from everyone never raises its term with pre-vote, and does without it", () => {
    for (const preVote of [true, false]) {
      const node = lone(1, [1, 2, 3], { preVote });
      for (let i = 0; i < 200; i++) {
        node.raft.tick();
        drain(node); // every message is lost
      }
      if (preVote) expect(node.raft.term).toBe(0);
      else expect(node.raft.term).toBeGreaterThan(5);
    }
  });

  it("a leader that cannot hear from a quorum steps down within two election timeouts (only with check-quorum)", () => {
    for (const checkQuorum of [true, false]) {
      const env = cluster(3, { checkQuorum });
      elect(env, 1);
      env.partition([[n(1)], [n(2), n(3)]]);
      for (let i = 0; i < 20; i++) {
        env.tick(n(1), 1);
        env.stabilize([n(1)]);
      }
      expect(env.raft(n(1)).role).toBe(checkQuorum ? "follower" : "leader");
    }
  });
});

describe("replication", () => {
  it("pipelines appends up to the in-flight message bound, then waits for acknowledgements", () => {
    const leader = lone(1, [1, 2], { inflightMessagesMax: 3, preVote: false, checkQuorum: false, appendEntriesMax: 1 });
    leader.raft.campaign();
    leader.raft.step({ type: "vote-resp", from: n(2), to: n(1), term: t(1), reject: false });
    drain(leader);
    leader.raft.step({ type: "append-resp", from: n(2), to: n(1), term: t(1), reject: false, matchOffset: o(0), rejectHint: o(-1), hintTerm: t(0) });
    drain(leader);
    for (let i = 0; i < 10; i++) leader.raft.propose(bytes(`p${i}`), 1);
    const sent = ofType(drain(leader), "append").filter((m) => m.entries.length > 0);
    expect(sent).toHaveLength(3);
    expect(leader.raft.status().progress?.get(n(2))?.inflightMessages).toBe(3);
    leader.raft.step({ type: "append-resp", from: n(2), to: n(1), term: t(1), reject: false, matchOffset: o(2), rejectHint: o(-1), hintTerm: t(0) });
    const more = ofType(drain(leader), "append").filter((m) => m.entries.length > 0);
    expect(more.map((m) => m.entries[0]?.baseOffset)).toEqual([4, 5]);
  });

  it("never has more entry bytes in flight to a follower than its bound (a larger entry goes alone)", () => {
    const inflightBytesMax = 1000;
    const leader = lone(1, [1, 2], { inflightBytesMax, preVote: false, checkQuorum: false, appendBytesMax: 100_000 });
    leader.raft.campaign();
    leader.raft.step({ type: "vote-resp", from: n(2), to: n(1), term: t(1), reject: false });
    drain(leader);
    leader.raft.step({ type: "append-resp", from: n(2), to: n(1), term: t(1), reject: false, matchOffset: o(0), rejectHint: o(-1), hintTerm: t(0) });
    drain(leader);
    const sizes = [300, 300, 300, 300, 2500, 300];
    let proposed = 0;
    let acked = 0;
    const inFlight: Entry[][] = [];
    for (let step = 0; step < 40 && acked < sizes.length; step++) {
      if (proposed < sizes.length) leader.raft.propose(bytes("x"), 1, sizes[proposed++]);
      for (const m of ofType(drain(leader), "append")) if (m.to === 2 && m.entries.length > 0) inFlight.push([...m.entries]);
      const bytesInFlight = inFlight.flat().reduce((sum, e) => sum + e.sizeBytes, 0);
      const alone = inFlight.length === 1;
      expect(alone || bytesInFlight <= inflightBytesMax).toBe(true);
      if (step % 3 === 2 && inFlight.length > 0) {
        const batch = inFlight.shift() as Entry[];
        const last = batch[batch.length - 1] as Entry;
        acked += batch.filter((e) => e.kind === "data").length;
        leader.raft.step({ type: "append-resp", from: n(2), to: n(1), term: t(1), reject: false, matchOffset: last.lastOffset, rejectHint: o(-1), hintTerm: t(0) });
      }
    }
    expect(acked).toBe(sizes.length);
  });

  it("recovers when pipelined appends are lost (the window frees on heartbeats, the gap is found)", () => {
    const env = cluster(3, { inflightMessagesMax: 2, appendEntriesMax: 1 });
    elect(env, 1);
    for (let i = 0; i < 6; i++) env.raft(n(1)).propose(bytes(`p${i}`), 1);
    env.processReady(n(1));
    env.deliver({ to: n(3), drop: true }); // node 3 loses everything in flight
    env.stabilize();
    for (let i = 0; i < 10; i++) {
      env.tick(n(1), 1);
      env.stabilize();
    }
    expect(env.node(n(3)).storage.lastOffset()).toBe(env.raft(n(1)).lastOffset());
  });

  it("backtracks a divergent follower by term, not entry by entry", () => {
    const leaderStorage = new MemoryStorage({ voters: [n(1), n(2)], learners: [] });
    const followerStorage = new MemoryStorage({ voters: [n(1), n(2)], learners: [] });
    const common = Array.from({ length: 10 }, (_, i) => dataEntry(1, i));
    leaderStorage.append([...common, ...Array.from({ length: 40 }, (_, i) => dataEntry(3, 10 + i))]);
    followerStorage.append([...common, ...Array.from({ length: 100 }, (_, i) => dataEntry(2, 10 + 2 * i, 11 + 2 * i))]);
    leaderStorage.setHardState({ term: t(3), vote: n(1), commit: o(9) });
    followerStorage.setHardState({ term: t(3), vote: n(1), commit: o(9) });
    const options = { electionTimeoutTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: false, random: new SeededRandom(3) };
    const leader: Lone = { storage: leaderStorage, raft: new Raft({ ...options, id: n(1), storage: leaderStorage }) };
    const follower: Lone = { storage: followerStorage, raft: new Raft({ ...options, id: n(2), storage: followerStorage }) };
    leader.raft.campaign();
    let rejections = 0;
    exchange(new Map([[1, leader], [2, follower]]), drain(leader), (m) => {
      if (m.type === "append-resp" && m.reject) rejections++;
    });
    expect(leader.raft.role).toBe("leader");
    expect(rejections).toBeLessThanOrEqual(2);
    expect(followerStorage.allEntries().map((e) => `${e.term}:${e.lastOffset}`)).toEqual(leaderStorage.allEntries().map((e) => `${e.term}:${e.lastOffset}`));
  });

  it("tells a follower to commit no further than what it is known to hold", () => {
    const env = cluster(3);
    elect(env, 1);
    env.partition([[n(1), n(2)], [n(3)]]);
    env.raft(n(1)).propose(bytes("x"), 1);
    env.stabilize();
    env.mailbox = [];
    env.tick(n(1), 1);
    env.processReady(n(1));
    const beats = ofType(env.mailbox, "heartbeat");
    expect(beats.find((m) => m.to === 2)?.commit).toBe(1);
    expect(beats.find((m) => m.to === 3)?.commit).toBe(0);
  });
});

describe("leadership transfer", () => {
  it("is refused on a follower and towards a non-voter", () => {
    const env = cluster(3);
    elect(env, 1);
    expect(() => env.raft(n(2)).transferLeadership(n(3))).toThrow(NotLeaderError);
    expect(() => env.raft(n(1)).transferLeadership(n(9))).toThrow(InvalidRaftRequestError);
  });

  it("is abandoned after an election timeout when the target never catches up, and proposals resume", () => {
    const env = cluster(3);
    elect(env, 1);
    env.partition([[n(1), n(2)], [n(3)]]);
    env.raft(n(1)).propose(bytes("x"), 1);
    env.stabilize();
    env.raft(n(1)).transferLeadership(n(3));
    expect(() => env.raft(n(1)).propose(bytes("y"), 1)).toThrow(LeadershipTransferInProgressError);
    for (let i = 0; i < 10; i++) {
      env.tick(n(1), 1);
      env.stabilize();
    }
    expect(env.raft(n(1)).role).toBe("leader");
    expect(env.raft(n(1)).transferee).toBe(-1);
    expect(() => env.raft(n(1)).propose(bytes("y"), 1)).not.toThrow();
  });
});

describe("learners", () => {
  it("receive the log but never campaign and never count toward commit", () => {
    const learnerEnv = cluster(0);
    learnerEnv.addNodes([n(1), n(2), n(3)], { voters: [n(1), n(2)], learners: [n(3)] });
    elect(learnerEnv, 1);
    learnerEnv.crash(n(2));
    learnerEnv.raft(n(1)).propose(bytes("x"), 1);
    learnerEnv.stabilize();
    expect(learnerEnv.node(n(3)).storage.lastOffset()).toBe(1); // replicated to the learner
    expect(learnerEnv.raft(n(1)).committed).toBe(0); // but the learner's copy does not commit it
    const learner = learnerEnv.raft(n(3));
    for (let i = 0; i < 100; i++) learner.tick();
    expect(learner.role).toBe("follower");
    expect(learner.term).toBe(1);
  });
});

describe("membership changes", () => {
  it("a new leader proposes no change before it has committed an entry of its own term (the safety fix)", () => {
    const fresh = cluster(3);
    fresh.raft(n(1)).campaign();
    // Drive the election but hold back the no-op's acknowledgements.
    for (let i = 0; i < 6; i++) {
      for (const id of [1, 2, 3]) fresh.processReady(n(id));
      fresh.mailbox = fresh.mailbox.filter((m) => m.type !== "append-resp");
      fresh.deliver();
    }
    const leader = fresh.raft(n(1));
    expect(leader.role).toBe("leader");
    expect(leader.committed).toBe(-1);
    let err: unknown = null;
    try {
      leader.proposeConfigChange({ type: "add-learner", node: n(4) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigChangeBusyError);
    expect((err as ConfigChangeBusyError).reason).toBe("leader-not-committed-in-term");
    fresh.tick(n(1), 1); // the next heartbeat round re-sends the no-op; now it commits
    fresh.stabilize();
    expect(leader.committed).toBe(0);
    expect(() => leader.proposeConfigChange({ type: "add-learner", node: n(4) })).not.toThrow();
  });

  it("rejects invalid changes and a second change while one is pending", () => {
    const env = cluster(3);
    elect(env, 1);
    const leader = env.raft(n(1));
    expect(() => leader.proposeConfigChange({ type: "add-learner", node: n(2) })).toThrow(InvalidConfigChangeError);
    expect(() => leader.proposeConfigChange({ type: "promote-learner", node: n(2) })).toThrow(InvalidConfigChangeError);
    expect(() => leader.proposeConfigChange({ type: "remove-node", node: n(7) })).toThrow(InvalidConfigChangeError);
    leader.proposeConfigChange({ type: "add-learner", node: n(4) });
    let err: unknown = null;
    try {
      leader.proposeConfigChange({ type: "add-learner", node: n(5) });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigChangeBusyError).reason).toBe("change-pending");
    const single = cluster(1);
    elect(single, 1);
    expect(() => single.raft(n(1)).proposeConfigChange({ type: "remove-node", node: n(1) })).toThrow(InvalidConfigChangeError);
  });

  it("a leader that removes itself leads until the change commits, then steps down", () => {
    const env = cluster(3);
    elect(env, 1);
    env.raft(n(1)).proposeConfigChange({ type: "remove-node", node: n(1) });
    env.processReady(n(1));
    expect(env.raft(n(1)).role).toBe("leader");
    env.stabilize();
    expect(env.raft(n(1)).role).toBe("follower");
    expect(env.raft(n(1)).config.voters).toEqual([2, 3]);
    for (let i = 0; i < 100; i++) env.raft(n(1)).tick();
    expect(env.raft(n(1)).role).toBe("follower"); // not a voter: it never campaigns again
  });

  it("stays live when a leader steps down while its own removal is uncommitted and only it holds it", () => {
    // Two voters; leader 1 removes itself while cut off from 2, then check-quorum deposes it.
    // Node 2 needs node 1's vote, which node 1 refuses (its log is longer); node 1 must be able
    // to campaign, win with node 2's vote, commit its removal and hand over.
    const env = cluster(2);
    elect(env, 1);
    env.partition([[n(1)], [n(2)]]);
    env.raft(n(1)).proposeConfigChange({ type: "remove-node", node: n(1) });
    for (let i = 0; i < 25; i++) {
      env.tick(n(1), 1);
      env.stabilize([n(1)]);
    }
    expect(env.raft(n(1)).role).not.toBe("leader");
    env.mailbox = [];
    env.heal();
    for (let i = 0; i < 200 && !(env.raft(n(2)).role === "leader" && env.raft(n(2)).committed >= 2); i++) {
      env.tick(n(1), 1);
      env.tick(n(2), 1);
      env.stabilize();
    }
    expect(env.raft(n(2)).role).toBe("leader");
    expect(env.raft(n(2)).config.voters).toEqual([2]);
  });

  it("refuses to promote a learner that has not caught up", () => {
    const env = cluster(3);
    env.addNodes([n(4)], null);
    elect(env, 1);
    env.crash(n(4));
    env.raft(n(1)).proposeConfigChange({ type: "add-learner", node: n(4) });
    env.stabilize();
    let err: unknown = null;
    try {
      env.raft(n(1)).proposeConfigChange({ type: "promote-learner", node: n(4) });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigChangeBusyError).reason).toBe("learner-lagging");
    env.restart(n(4));
    env.tick(n(1), 1);
    env.stabilize();
    expect(() => env.raft(n(1)).proposeConfigChange({ type: "promote-learner", node: n(4) })).not.toThrow();
  });
});

describe("snapshots", () => {
  it("resends a snapshot that was lost", () => {
    const env = cluster(3);
    env.addNodes([n(4)], null);
    elect(env, 1);
    env.raft(n(1)).propose(bytes("a"), 3);
    env.stabilize();
    env.compact(n(1), o(3));
    env.raft(n(1)).proposeConfigChange({ type: "add-learner", node: n(4) });
    let snapshots = 0;
    for (let i = 0; i < 60; i++) {
      for (const id of [1, 2, 3, 4]) env.processReady(n(id));
      for (const m of env.mailbox) if (m.type === "snapshot") snapshots++;
      if (snapshots === 1) env.mailbox = env.mailbox.filter((m) => m.type !== "snapshot"); // lose the first one
      env.deliver();
      env.tick(n(1), 1);
    }
    env.stabilize();
    expect(snapshots).toBeGreaterThanOrEqual(2);
    expect(env.raft(n(4)).committed).toBe(env.raft(n(1)).committed);
    expect(env.node(n(4)).storage.snapshotMeta().offset).toBe(3);
  });

  it("ignores a snapshot that is not ahead of its commit point", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step(append(1, 2, 1, -1, 0, [dataEntry(1, 0), dataEntry(1, 1, 4)], 4));
    drain(node);
    node.raft.step({ type: "snapshot", from: n(1), to: n(2), term: t(1), snapshot: { meta: { offset: o(2), term: t(1), config: node.raft.config }, data: bytes("old") } });
    const out = drain(node);
    expect(node.storage.snapshotMeta().offset).toBe(-1);
    expect(ofType(out, "append-resp")[0]?.matchOffset).toBe(4);
  });
});

describe("read index", () => {
  it("serves a follower's read through the leader", () => {
    const env = cluster(3);
    elect(env, 1);
    env.tick(n(1), 1);
    env.stabilize();
    env.raft(n(2)).readIndex(42);
    env.processReady(n(2));
    expect(ofType(env.mailbox, "read-index").map((m) => [m.to, m.ctx])).toEqual([[1, 42]]);
    env.deliver();
    env.processReady(n(1));
    // The leader confirms its leadership with a heartbeat round tagged with the read.
    expect(ofType(env.mailbox, "heartbeat").every((m) => m.readSeq > 0)).toBe(true);
    expect(env.node(n(2)).readStates).toEqual([]);
    env.stabilize();
    expect(env.node(n(2)).readStates).toEqual([{ ctx: 42, index: 0 }]);
  });

  it("waits until the leader has committed an entry of its term", () => {
    const env = cluster(1);
    env.raft(n(1)).campaign();
    env.raft(n(1)).readIndex(5); // the no-op is not committed yet
    env.stabilize();
    expect(env.node(n(1)).readStates).toEqual([{ ctx: 5, index: 0 }]);
  });

  it("refuses when no leader is known", () => {
    const node = lone(1, [1, 2, 3]);
    expect(() => node.raft.readIndex(1)).toThrow(NotLeaderError);
  });
});

describe("driver reports", () => {
  it("reportUnreachable moves a pipelining follower back to probing", () => {
    const env = cluster(3);
    elect(env, 1);
    env.raft(n(1)).propose(bytes("x"), 1);
    env.stabilize();
    expect(env.raft(n(1)).status().progress?.get(n(2))?.state).toBe("replicate");
    env.raft(n(1)).reportUnreachable(n(2));
    expect(env.raft(n(1)).status().progress?.get(n(2))?.state).toBe("probe");
  });
});
