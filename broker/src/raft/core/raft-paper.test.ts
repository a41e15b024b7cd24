// Proves the core does what the Raft paper (and Ongaro's dissertation) says, one quoted sentence per test.
import { describe, expect, it } from "vitest";
import { CommitPriorTermMutant } from "../sim/mutants.js";
import { append, bytes, cluster, dataEntry, drain, elect, lone, n, o, ofType, t, type Lone } from "../sim/testing/helpers.js";
import { Raft } from "./raft.js";
import type { Message } from "./messages.js";
import { SeededRandom } from "./random.js";
import { MemoryStorage } from "./storage.js";

const noPreVote = { preVote: false, checkQuorum: false };

describe("Raft paper, section 5.1: server states and terms", () => {
  it("Current terms are exchanged whenever servers communicate; if one server's current term is smaller than the other's, then it updates its current term to the larger value.", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step({ type: "heartbeat", from: n(1), to: n(2), term: t(3), commit: o(-1), readSeq: 0 });
    expect(node.raft.term).toBe(3);
    expect(node.raft.lead).toBe(1);
  });

  it("If a candidate or leader discovers that its term is out of date, it immediately reverts to follower state.", () => {
    const env = cluster(3);
    elect(env, 1);
    const leader = env.raft(n(1));
    leader.step({ type: "append-resp", from: n(2), to: n(1), term: t(5), reject: true, matchOffset: o(-1), rejectHint: o(-1), hintTerm: t(0) });
    expect(leader.role).toBe("follower");
    expect(leader.term).toBe(5);

    const candidate = lone(3, [1, 2, 3], noPreVote);
    candidate.raft.campaign();
    expect(candidate.raft.role).toBe("candidate");
    candidate.raft.step({ type: "vote-resp", from: n(1), to: n(3), term: t(4), reject: true });
    expect(candidate.raft.role).toBe("follower");
    expect(candidate.raft.term).toBe(4);
  });

  it("If a server receives a request with a stale term number, it rejects the request.", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step({ type: "heartbeat", from: n(3), to: n(2), term: t(4), commit: o(-1), readSeq: 0 });
    drain(node);
    node.raft.step(append(1, 2, 2, -1, 0, [dataEntry(2, 0)]));
    const out = drain(node);
    expect(node.raft.lastOffset()).toBe(-1); // nothing appended
    const resp = ofType(out, "append-resp");
    expect(resp).toHaveLength(1);
    expect(resp[0]?.term).toBe(4); // the stale leader learns the newer term and steps down
  });
});

describe("Raft paper, section 5.2: leader election", () => {
  it("Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all followers in order to maintain their authority.", () => {
    const env = cluster(3);
    elect(env, 1);
    env.tick(n(1), 1);
    env.processReady(n(1));
    const beats = ofType(env.mailbox, "heartbeat");
    expect(beats.map((m) => m.to).sort()).toEqual([2, 3]);
  });

  it("If a follower receives no communication over a period of time called the election timeout, then it assumes there is no viable leader and begins an election to choose a new leader.", () => {
    const node = lone(1, [1, 2, 3]);
    let ticks = 0;
    while (node.raft.role === "follower" && ticks < 100) {
      node.raft.tick();
      ticks++;
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(ticks).toBeLessThan(20);
    expect(node.raft.role).toBe("pre-candidate"); // with pre-vote, the election starts with a pre-vote round
    // Communication from a leader resets the timer: a follower hearing heartbeats never campaigns.
    const follower = lone(2, [1, 2, 3]);
    for (let i = 0; i < 100; i++) {
      follower.raft.tick();
      follower.raft.step({ type: "heartbeat", from: n(1), to: n(2), term: t(1), commit: o(-1), readSeq: 0 });
    }
    expect(follower.raft.role).toBe("follower");
  });

  it("To begin an election, a follower increments its current term and transitions to candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of the other servers in the cluster.", () => {
    const node = lone(1, [1, 2, 3], noPreVote);
    node.raft.campaign();
    expect(node.raft.role).toBe("candidate");
    expect(node.raft.term).toBe(1);
    expect(node.raft.vote).toBe(1);
    const votes = ofType(drain(node), "vote");
    expect(votes.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(votes.every((m) => m.term === 1)).toBe(true);
  });

  it("A candidate wins an election if it receives votes from a majority of the servers in the full cluster for the same term.", () => {
    const node = lone(1, [1, 2, 3, 4, 5], noPreVote);
    node.raft.campaign();
    drain(node);
    node.raft.step({ type: "vote-resp", from: n(2), to: n(1), term: t(1), reject: false });
    expect(node.raft.role).toBe("candidate"); // 2 of 5
    node.raft.step({ type: "vote-resp", from: n(2), to: n(1), term: t(1), reject: false });
    expect(node.raft.role).toBe("candidate"); // the same voter twice still counts once
    node.raft.step({ type: "vote-resp", from: n(3), to: n(1), term: t(1), reject: false });
    expect(node.raft.role).toBe("leader"); // 3 of 5
  });

  it("Each server will vote for at most one candidate in a given term, on a first-come-first-served basis.", () => {
    const node = lone(1, [1, 2, 3], noPreVote);
    const vote = (from: number): Message => ({ type: "vote", from: n(from), to: n(1), term: t(1), lastOffset: o(-1), lastTerm: t(0), transfer: false });
    node.raft.step(vote(2));
    node.raft.step(vote(3));
    node.raft.step(vote(2)); // a retried request from the same candidate is granted again
    const resps = ofType(drain(node), "vote-resp");
    expect(resps.map((m) => [m.to, m.reject])).toEqual([
      [2, false],
      [3, true],
      [2, false],
    ]);
    expect(node.raft.vote).toBe(2);
  });

  it("While waiting for votes, a candidate may receive an AppendEntries RPC from another server claiming to be leader. If the leader's term is at least as large as the candidate's current term, then the candidate recognizes the leader as legitimate and returns to follower state.", () => {
    const node = lone(1, [1, 2, 3], noPreVote);
    node.raft.campaign();
    drain(node);
    node.raft.step(append(2, 1, 1, -1, 0, []));
    expect(node.raft.role).toBe("follower");
    expect(node.raft.lead).toBe(2);
  });

  it("If many followers become candidates at the same time, votes could be split so that no candidate obtains a majority. When this happens, each candidate will time out and start a new election by incrementing its term.", () => {
    const env = cluster(3, noPreVote);
    for (const id of [1, 2, 3]) env.raft(n(id)).campaign();
    env.stabilize();
    for (const id of [1, 2, 3]) {
      expect(env.raft(n(id)).term).toBe(1);
      expect(env.raft(n(id)).role).not.toBe("leader"); // each voted for itself: nobody has a majority
    }
    const node = env.raft(n(2));
    for (let i = 0; i < 40 && node.term === 1; i++) node.tick();
    expect(node.term).toBe(2);
    expect(node.role).toBe("candidate");
  });

  it("Raft uses randomized election timeouts to ensure that split votes are rare and that they are resolved quickly.", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const raft = new Raft({ id: n(1), storage: new MemoryStorage({ voters: [n(1), n(2), n(3)], learners: [] }), random: new SeededRandom(seed), electionTimeoutTicks: 10, heartbeatTicks: 1 });
      let ticks = 0;
      while (raft.role === "follower") {
        raft.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBe(10); // every timeout in [10, 20) occurs
  });
});

describe("Raft paper, section 5.3: log replication", () => {
  it("Once a leader has been elected, it begins servicing client requests. The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel to each of the other servers to replicate the entry.", () => {
    const env = cluster(3);
    elect(env, 1);
    const entry = env.raft(n(1)).propose(bytes("x"), 3);
    expect([entry.baseOffset, entry.lastOffset, entry.term]).toEqual([1, 3, 1]);
    env.processReady(n(1));
    const appends = ofType(env.mailbox, "append");
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of appends) expect(m.entries).toEqual([entry]);
  });

  it("A log entry is committed once the leader that created the entry has replicated it on a majority of the servers.", () => {
    const env = cluster(5);
    elect(env, 1);
    env.raft(n(1)).propose(bytes("x"), 1);
    env.processReady(n(1));
    env.deliver({ to: n(2) });
    env.deliver({ to: n(3) });
    env.deliver({ to: n(4), drop: true });
    env.deliver({ to: n(5), drop: true });
    env.processReady(n(2));
    env.deliver({ to: n(1) });
    expect(env.raft(n(1)).committed).toBe(0); // leader + 1 follower of 5
    env.processReady(n(3));
    env.deliver({ to: n(1) });
    expect(env.raft(n(1)).committed).toBe(1); // leader + 2 followers of 5
  });

  it("The leader keeps track of the highest index it knows to be committed, and it includes that index in future AppendEntries RPCs (including heartbeats) so that the other servers eventually find out. Once a follower learns that a log entry is committed, it applies the entry to its local state machine (in log order).", () => {
    const env = cluster(3);
    elect(env, 1);
    env.raft(n(1)).propose(bytes("x"), 2);
    env.stabilize();
    expect(env.raft(n(2)).committed).toBe(0); // it holds the entry, not yet knowing it is committed
    env.tick(n(1), 1);
    env.stabilize();
    expect(env.raft(n(2)).committed).toBe(2);
    expect(env.node(n(2)).applied.map((e) => [e.kind, e.lastOffset])).toEqual([
      ["noop", 0],
      ["data", 2],
    ]);
  });

  it("When sending an AppendEntries RPC, the leader includes the index and term of the entry in its log that immediately precedes the new entries. If the follower does not find an entry in its log with the same index and term, then it refuses the new entries.", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step(append(1, 2, 1, -1, 0, [dataEntry(1, 0, 2)]));
    drain(node);
    node.raft.step(append(1, 2, 1, 1, 1, [dataEntry(1, 2)])); // offset 1 is inside an entry, not one's end
    node.raft.step(append(1, 2, 2, 2, 2, [dataEntry(2, 3)])); // right offset, wrong term
    const resps = ofType(drain(node), "append-resp");
    expect(resps.map((m) => m.reject)).toEqual([true, true]);
    expect(node.raft.lastOffset()).toBe(2);
  });

  it("In Raft, the leader handles inconsistencies by forcing the followers' logs to duplicate its own. This means that conflicting entries in follower logs will be overwritten with entries from the leader's log.", () => {
    const env = cluster(3);
    elect(env, 1);
    env.partition([[n(1)], [n(2), n(3)]]);
    env.raft(n(1)).propose(bytes("lost"), 2); // only on node 1
    env.stabilize();
    env.mailbox = [];
    for (let i = 0; i < 30; i++) env.tick(n(1), 1); // check-quorum: node 1 steps down
    env.processReady(n(1));
    env.mailbox = [];
    env.tick(n(3), 20);
    env.stabilize([n(2), n(3)]);
    env.tickElection(n(2));
    env.stabilize([n(2), n(3)]);
    expect(env.raft(n(2)).role).toBe("leader");
    env.raft(n(2)).propose(bytes("kept"), 1);
    env.stabilize([n(2), n(3)]);
    env.heal();
    env.mailbox = [];
    env.tick(n(2), 1);
    env.stabilize();
    const logOf = (id: number) => env.node(n(id)).storage.allEntries().map((e) => `${e.term}:${e.baseOffset}-${e.lastOffset}`);
    expect(logOf(1)).toEqual(logOf(2));
    expect(logOf(1)).not.toContain("1:1-2");
  });

  it("If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it, and append any new entries not already in the log.", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step(append(1, 2, 1, -1, 0, [dataEntry(1, 0), dataEntry(1, 1, 3), dataEntry(1, 4)]));
    drain(node);
    node.raft.step(append(3, 2, 2, 0, 1, [dataEntry(1, 1, 3), dataEntry(2, 4, 5)]));
    drain(node);
    expect(node.storage.allEntries().map((e) => [e.term, e.baseOffset, e.lastOffset])).toEqual([
      [1, 0, 0],
      [1, 1, 3],
      [2, 4, 5],
    ]);
  });

  it("When a leader first comes to power, it initializes all nextIndex values to the index just after the last one in its log.", () => {
    const node = lone(1, [1, 2, 3], noPreVote);
    node.raft.step(append(2, 1, 1, -1, 0, [dataEntry(1, 0), dataEntry(1, 1, 4)]));
    drain(node);
    node.raft.campaign();
    node.raft.step({ type: "vote-resp", from: n(2), to: n(1), term: t(2), reject: false });
    expect(node.raft.role).toBe("leader");
    const progress = node.raft.status().progress;
    expect(progress?.get(n(2))?.next).toBe(5);
    expect(progress?.get(n(3))?.next).toBe(5);
    // The new leader's first append therefore starts with its no-op, after (4, term 1).
    const first = ofType(drain(node), "append").find((m) => m.to === 2);
    expect([first?.prevOffset, first?.prevTerm, first?.entries.map((e) => e.kind)]).toEqual([4, 1, ["noop"]]);
  });
});

describe("Raft paper, section 5.4: safety", () => {
  it("The voter denies its vote if its own log is more up-to-date than that of the candidate. If the logs have last entries with different terms, then the log with the later term is more up-to-date. If the logs end with the same term, then whichever log is longer is more up-to-date.", () => {
    const voter = lone(1, [1, 2, 3], noPreVote);
    voter.raft.step(append(2, 1, 2, -1, 0, [dataEntry(1, 0), dataEntry(2, 1, 4)]));
    drain(voter);
    const ask = (from: number, term: number, lastOffset: number, lastTerm: number) => {
      voter.raft.step({ type: "vote", from: n(from), to: n(1), term: t(term), lastOffset: o(lastOffset), lastTerm: t(lastTerm), transfer: false });
      const resp = ofType(drain(voter), "vote-resp")[0];
      return resp?.reject === false;
    };
    expect(ask(3, 3, 9, 1)).toBe(false); // longer, but older last term
    expect(ask(3, 4, 3, 2)).toBe(false); // same last term, shorter
    expect(ask(3, 5, 4, 2)).toBe(true); // same last term, as long
    expect(ask(3, 6, 0, 3)).toBe(true); // later last term, however short
  });

  it("Raft never commits log entries from previous terms by counting replicas. Only log entries from the leader's current term are committed by counting replicas; once an entry from the current term has been committed in this way, then all prior entries are committed indirectly.", () => {
    // Figure 8, reduced: node 1 holds an uncommitted term-1 entry at offset 1, becomes leader
    // of term 2, and node 3 acknowledges offset 1 (a majority holds it) before the no-op.
    const run = (make: () => Lone) => {
      const node = make();
      node.raft.step(append(2, 1, 1, -1, 0, [dataEntry(1, 0), dataEntry(1, 1)], 0));
      drain(node);
      node.raft.campaign();
      node.raft.step({ type: "vote-resp", from: n(2), to: n(1), term: t(2), reject: false });
      drain(node);
      node.raft.step({ type: "append-resp", from: n(3), to: n(1), term: t(2), reject: false, matchOffset: o(1), rejectHint: o(-1), hintTerm: t(0) });
      return node;
    };
    const correct = run(() => lone(1, [1, 2, 3], noPreVote));
    expect(correct.raft.committed).toBe(0); // offset 1 is on a majority, but of term 1
    correct.raft.step({ type: "append-resp", from: n(3), to: n(1), term: t(2), reject: false, matchOffset: o(2), rejectHint: o(-1), hintTerm: t(0) });
    expect(correct.raft.committed).toBe(2); // the no-op of term 2 commits, and offset 1 with it
    expect(correct.raft.termAtBoundary(2)).toBe(2);

    // The mutant the simulator must catch does commit it by counting: this test can fail.
    const mutant = run(() => {
      const storage = new MemoryStorage({ voters: [n(1), n(2), n(3)], learners: [] });
      return { storage, raft: new CommitPriorTermMutant({ id: n(1), storage, random: new SeededRandom(1), ...noPreVote }) };
    });
    expect(mutant.raft.committed).toBe(1);
  });
});

describe("Raft paper, section 5.5: follower and candidate crashes", () => {
  it("If a follower or candidate crashes, then future RequestVote and AppendEntries RPCs sent to it will fail. Raft handles these failures by retrying indefinitely; if the crashed server restarts, then the RPC will complete successfully.", () => {
    const env = cluster(3);
    elect(env, 1);
    env.crash(n(3));
    env.raft(n(1)).propose(bytes("while-down"), 1);
    env.stabilize();
    expect(env.node(n(3)).storage.lastOffset()).toBe(0);
    env.restart(n(3));
    for (let i = 0; i < 3; i++) {
      env.tick(n(1), 1);
      env.stabilize();
    }
    expect(env.node(n(3)).storage.lastOffset()).toBe(1);
    expect(env.raft(n(3)).committed).toBe(1);
  });

  it("Raft RPCs are idempotent, so this causes no harm: if a follower receives an AppendEntries request that includes log entries already present in its log, it ignores those entries in the new request.", () => {
    const node = lone(2, [1, 2, 3]);
    const m = append(1, 2, 1, -1, 0, [dataEntry(1, 0), dataEntry(1, 1, 2)]);
    node.raft.step(m);
    const first = drain(node);
    const stored = node.storage.allEntries().slice();
    node.raft.step(m);
    const second = drain(node);
    expect(node.storage.allEntries()).toEqual(stored);
    expect(ofType(second, "append-resp")).toEqual(ofType(first, "append-resp"));
    expect(ofType(second, "append-resp")[0]?.matchOffset).toBe(2);
  });
});

describe("Dissertation: membership, reads, transfer, pre-vote, disruptive servers", () => {
  it("A server always uses the latest configuration in its log, regardless of whether the entry is committed (4.1).", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step(
      append(1, 2, 1, -1, 0, [
        { kind: "config", term: t(1), baseOffset: o(0), lastOffset: o(0), sizeBytes: 1, change: { type: "add-learner", node: n(4) }, config: { voters: [n(1), n(2), n(3)], learners: [n(4)] } },
      ]),
    );
    expect(node.raft.committed).toBe(-1);
    expect(node.raft.config.learners).toEqual([4]);
    // Truncating the entry reverts to the previous configuration.
    node.raft.step(append(3, 2, 2, -1, 0, [dataEntry(2, 0)]));
    expect(node.raft.config.learners).toEqual([]);
  });

  it("The leader must check whether it has been deposed before processing a read-only request: it exchanges heartbeats with a majority of the cluster (6.4).", () => {
    const env = cluster(3);
    elect(env, 1);
    env.stabilize();
    env.raft(n(1)).readIndex(7);
    env.processReady(n(1));
    expect(env.node(n(1)).readStates).toEqual([]); // not before a quorum answers
    env.partition([[n(1)], [n(2), n(3)]]);
    env.stabilize();
    expect(env.node(n(1)).readStates).toEqual([]); // a deposed or isolated leader never answers
    env.heal();
    env.tick(n(1), 1);
    env.stabilize();
    expect(env.node(n(1)).readStates).toEqual([{ ctx: 7, index: 0 }]);
  });

  it("The prior leader sends a TimeoutNow request to the target server; the target starts an election immediately, and it is likely to win (3.10).", () => {
    const env = cluster(3);
    elect(env, 1);
    env.raft(n(1)).transferLeadership(n(3));
    env.processReady(n(1));
    expect(ofType(env.mailbox, "timeout-now").map((m) => m.to)).toEqual([3]);
    env.stabilize();
    expect(env.raft(n(3)).role).toBe("leader");
    expect(env.raft(n(3)).term).toBe(2);
  });

  it("Only if the candidate believes it can get votes from a majority of the cluster would it increment its term and start a normal election (9.6, pre-vote).", () => {
    const node = lone(1, [1, 2, 3]);
    node.raft.campaign();
    expect(node.raft.role).toBe("pre-candidate");
    expect(node.raft.term).toBe(0);
    const pre = ofType(drain(node), "pre-vote");
    expect(pre.every((m) => m.term === 1)).toBe(true);
    node.raft.step({ type: "pre-vote-resp", from: n(2), to: n(1), term: t(1), reject: false });
    expect(node.raft.role).toBe("candidate");
    expect(node.raft.term).toBe(1);
  });

  it("If a server receives a RequestVote request within the minimum election timeout of hearing from a current leader, it does not update its term or grant its vote (4.2.3).", () => {
    const node = lone(2, [1, 2, 3]);
    node.raft.step({ type: "heartbeat", from: n(1), to: n(2), term: t(1), commit: o(-1), readSeq: 0 });
    drain(node);
    node.raft.step({ type: "vote", from: n(3), to: n(2), term: t(5), lastOffset: o(10), lastTerm: t(1), transfer: false });
    expect(node.raft.term).toBe(1);
    expect(drain(node)).toEqual([]);
    // A leadership transfer is the exception: it may break the lease.
    node.raft.step({ type: "vote", from: n(3), to: n(2), term: t(5), lastOffset: o(10), lastTerm: t(1), transfer: true });
    expect(node.raft.term).toBe(5);
    expect(ofType(drain(node), "vote-resp")[0]?.reject).toBe(false);
  });
});
