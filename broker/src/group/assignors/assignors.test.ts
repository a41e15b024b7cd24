// Proves the three assignors hand out every subscribed partition exactly once, deterministically,
// with their stated balance, and that uniform-sticky moves exactly the minimum number of partitions
// (checked against a closed-form lower bound and against brute force on small mixed groups).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import {
  ASSIGNORS,
  assignRange,
  assignRoundRobin,
  assignUniformSticky,
  assignorByName,
  countPartitions,
  topicPartitionsOf,
  topicPartitionsToObject,
  type AssignorInput,
  type AssignorMember,
  type GroupAssignment,
} from "./index.js";

const TOPIC_POOL = ["alpha", "beta", "gamma", "delta"] as const;

interface Scenario {
  readonly input: AssignorInput;
  readonly uniform: boolean;
}

/** owned: one random owner (or none) per partition slot, so owned sets are disjoint, and some slots are junk. */
function scenarioArb(opts: { uniform: boolean; maxPartitions: number; maxMembers: number; maxTopics?: number }): fc.Arbitrary<Scenario> {
  const maxTopics = opts.maxTopics ?? TOPIC_POOL.length;
  return fc
    .record({
      counts: fc.array(fc.nat({ max: opts.maxPartitions }), { minLength: 1, maxLength: maxTopics }),
      ids: fc.uniqueArray(fc.nat({ max: 99 }), { minLength: 1, maxLength: opts.maxMembers }),
      sharedSubs: fc.array(fc.boolean(), { minLength: maxTopics + 1, maxLength: maxTopics + 1 }),
      subs: fc.array(fc.array(fc.boolean(), { minLength: maxTopics + 1, maxLength: maxTopics + 1 }), {
        minLength: opts.maxMembers,
        maxLength: opts.maxMembers,
      }),
      owners: fc.array(fc.integer({ min: -1, max: opts.maxMembers - 1 }), { minLength: 80, maxLength: 80 }),
      staticIds: fc.array(fc.option(fc.nat({ max: 9 }), { nil: undefined }), { minLength: opts.maxMembers, maxLength: opts.maxMembers }),
    })
    .map(({ counts, ids, sharedSubs, subs, owners, staticIds }) => {
      const topics = new Map<string, number>(counts.map((c, i) => [TOPIC_POOL[i] as string, c]));
      // "gone" is subscribable and ownable but does not exist: a deleted topic.
      const names = [...topics.keys(), "gone"];
      const slots: Array<[string, number]> = [];
      for (const t of names) for (let p = 0; p < opts.maxPartitions + 2; p++) slots.push([t, p]);
      const usedStatic = new Set<number>();
      const members: AssignorMember[] = ids.map((id, i) => {
        const flags = opts.uniform ? sharedSubs : (subs[i] as boolean[]);
        const subscribed = names.filter((_, t) => flags[t] === true);
        const owned = topicPartitionsOf(slots.filter((_, s) => owners[s] === i).map(([t, p]) => [t, p] as const));
        const sid = staticIds[i];
        const instanceId = sid !== undefined && !usedStatic.has(sid) ? (usedStatic.add(sid), `inst-${sid}`) : undefined;
        return { memberId: `m${id}`, subscribedTopics: subscribed, owned, instanceId };
      });
      return { input: { members, topics }, uniform: opts.uniform };
    });
}

const small = { maxPartitions: 12, maxMembers: 7 };

function subscribersOf(input: AssignorInput, topic: string): AssignorMember[] {
  return input.members.filter((m) => m.subscribedTopics.includes(topic));
}

/** Every existing partition of a subscribed topic is assigned exactly once, to a subscriber; nothing else is. */
function expectValid(input: AssignorInput, out: GroupAssignment): void {
  expect([...out.keys()].sort()).toEqual(input.members.map((m) => m.memberId).sort());
  const seen = new Map<string, string>();
  for (const [memberId, tp] of out) {
    const member = input.members.find((m) => m.memberId === memberId) as AssignorMember;
    for (const [topic, partitions] of tp) {
      expect(member.subscribedTopics).toContain(topic);
      for (const p of partitions) {
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(input.topics.get(topic) ?? -1);
        const key = `${topic}/${p}`;
        expect(seen.has(key), `${key} assigned twice`).toBe(false);
        seen.set(key, memberId);
      }
    }
  }
  let expected = 0;
  for (const [topic, count] of input.topics) if (subscribersOf(input, topic).length > 0) expected += count;
  expect(seen.size).toBe(expected);
}

function loads(out: GroupAssignment): Map<string, number> {
  return new Map([...out].map(([m, tp]) => [m, countPartitions(tp)]));
}

function asObject(out: GroupAssignment): Record<string, Record<string, number[]>> {
  const o: Record<string, Record<string, number[]>> = {};
  for (const [m, tp] of [...out].sort((a, b) => (a[0] < b[0] ? -1 : 1))) o[m] = topicPartitionsToObject(tp);
  return o;
}

/** The same input with members and topic-map entries in another order. */
function permuted(input: AssignorInput, seed: number): AssignorInput {
  const rot = <T,>(xs: readonly T[]): T[] => (xs.length === 0 ? [] : [...xs.slice(seed % xs.length), ...xs.slice(0, seed % xs.length)].reverse());
  return {
    members: rot(input.members).map((m) => ({ ...m, subscribedTopics: rot(m.subscribedTopics) })),
    topics: new Map(rot([...input.topics])),
  };
}

/** Owner before (validly: the topic exists, the member subscribes, partition in range) per partition. */
function originalOwners(input: AssignorInput): Map<string, string> {
  const owners = new Map<string, string>();
  for (const m of [...input.members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
    for (const [topic, partitions] of m.owned) {
      if (!m.subscribedTopics.includes(topic)) continue;
      for (const p of partitions) {
        if (p < (input.topics.get(topic) ?? 0) && !owners.has(`${topic}/${p}`)) owners.set(`${topic}/${p}`, m.memberId);
      }
    }
  }
  return owners;
}

function ownerMap(out: GroupAssignment): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [m, tp] of out) for (const [t, ps] of tp) for (const p of ps) owners.set(`${t}/${p}`, m);
  return owners;
}

function movesOf(input: AssignorInput, out: GroupAssignment): number {
  const after = ownerMap(out);
  let moves = 0;
  for (const [key, before] of originalOwners(input)) if (after.get(key) !== before) moves++;
  return moves;
}

/**
 * Naive balance check, independent of the assignor's code: for every pair (u, v) with
 * load(u) >= load(v) + 2, v must be unreachable from u by hand-offs (x holds a partition of a
 * topic y subscribes to). Reachability by plain DFS.
 */
function hasCostReducingPath(input: AssignorInput, out: GroupAssignment): boolean {
  const load = loads(out);
  const subs = new Map(input.members.map((m) => [m.memberId, new Set(m.subscribedTopics)]));
  const next = (x: string): string[] => {
    const topics = [...(out.get(x) ?? new Map()).keys()];
    return input.members.map((m) => m.memberId).filter((y) => y !== x && topics.some((t) => subs.get(y)?.has(t)));
  };
  for (const u of out.keys()) {
    const reached = new Set([u]);
    const stack = [u];
    while (stack.length > 0) {
      const x = stack.pop() as string;
      for (const y of next(x)) {
        if (reached.has(y)) continue;
        reached.add(y);
        stack.push(y);
      }
    }
    for (const v of reached) if ((load.get(u) ?? 0) >= (load.get(v) ?? 0) + 2) return true;
  }
  return false;
}

/** Lower bound on moves for identical subscriptions (see uniform-sticky.ts for the derivation). */
function uniformMovesLowerBound(input: AssignorInput): number {
  const active = input.members.filter((m) => m.subscribedTopics.some((t) => (input.topics.get(t) ?? 0) > 0));
  if (active.length === 0) return 0;
  let total = 0;
  for (const [topic, count] of input.topics) if (subscribersOf(input, topic).length > 0) total += count;
  const q = Math.floor(total / active.length);
  const r = total % active.length;
  const owners = originalOwners(input);
  const owned = active.map((m) => [...owners.values()].filter((o) => o === m.memberId).length);
  return owned.reduce((s, k) => s + Math.max(0, k - q - 1), 0) + Math.max(0, owned.filter((k) => k > q).length - r);
}

/** Brute force over every assignment: the least sum of squared loads, then the fewest moves at that sum. */
function bruteForceOptimum(input: AssignorInput): { sumSquares: number; moves: number } {
  const parts: Array<{ key: string; subs: string[] }> = [];
  for (const [topic, count] of [...input.topics].sort()) {
    const subs = subscribersOf(input, topic).map((m) => m.memberId);
    if (subs.length === 0) continue;
    for (let p = 0; p < count; p++) parts.push({ key: `${topic}/${p}`, subs });
  }
  const before = originalOwners(input);
  let best = { sumSquares: Infinity, moves: Infinity };
  const load = new Map(input.members.map((m) => [m.memberId, 0]));
  const walk = (i: number, moves: number): void => {
    if (i === parts.length) {
      let sq = 0;
      for (const l of load.values()) sq += l * l;
      if (sq < best.sumSquares || (sq === best.sumSquares && moves < best.moves)) best = { sumSquares: sq, moves };
      return;
    }
    const part = parts[i] as { key: string; subs: string[] };
    const owner = before.get(part.key);
    for (const m of part.subs) {
      load.set(m, (load.get(m) ?? 0) + 1);
      walk(i + 1, moves + (owner !== undefined && owner !== m ? 1 : 0));
      load.set(m, (load.get(m) ?? 0) - 1);
    }
  };
  walk(0, 0);
  return best;
}

function sumSquares(out: GroupAssignment): number {
  let s = 0;
  for (const l of loads(out).values()) s += l * l;
  return s;
}

const NUM_RUNS = 200;

describe("every assignor", () => {
  for (const [name, assignor] of ASSIGNORS) {
    it(`${name}: assigns every subscribed partition exactly once, to a subscriber, for any subscriptions`, () => {
      fc.assert(
        fc.property(fc.boolean().chain((uniform) => scenarioArb({ uniform, ...small })), ({ input }) => {
          expectValid(input, assignor.assign(input));
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it(`${name}: is deterministic, whatever order members, subscriptions and topics come in`, () => {
      fc.assert(
        fc.property(fc.boolean().chain((uniform) => scenarioArb({ uniform, ...small })), fc.nat(20), ({ input }, seed) => {
          expect(asObject(assignor.assign(permuted(input, seed)))).toEqual(asObject(assignor.assign(input)));
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }

  it("registry: unknown names get UNSUPPORTED_ASSIGNOR, duplicate member ids get INVALID_REQUEST", () => {
    expect(() => assignorByName("sticky-ish")).toThrow(SluiceError);
    try {
      assignorByName("nope");
    } catch (e) {
      expect((e as SluiceError).errorName).toBe("UNSUPPORTED_ASSIGNOR");
    }
    const dup = { memberId: "a", subscribedTopics: ["t"], owned: new Map() };
    for (const assignor of ASSIGNORS.values()) {
      expect(() => assignor.assign({ members: [dup, dup], topics: new Map([["t", 3]]) })).toThrow(/twice/);
      expect(() => assignor.assign({ members: [dup], topics: new Map([["t", -1]]) })).toThrow(/partition count/);
    }
  });
});

describe("range", () => {
  it("splits each topic into consecutive ranges, extras to the first members", () => {
    const members = ["c2", "c1"].map((memberId) => ({ memberId, subscribedTopics: ["t0", "t1"], owned: new Map() }));
    const out = assignRange({ members, topics: new Map([["t0", 3], ["t1", 3]]) });
    expect(asObject(out)).toEqual({ c1: { t0: [0, 1], t1: [0, 1] }, c2: { t0: [2], t1: [2] } });
  });

  it("static members are ordered by instance id, so a restarted one (new member id) keeps its ranges", () => {
    const before = assignRange({
      members: [
        { memberId: "zz-1", instanceId: "a", subscribedTopics: ["t"], owned: new Map() },
        { memberId: "aa-1", instanceId: "b", subscribedTopics: ["t"], owned: new Map() },
      ],
      topics: new Map([["t", 4]]),
    });
    const after = assignRange({
      members: [
        { memberId: "00-restarted", instanceId: "a", subscribedTopics: ["t"], owned: new Map() },
        { memberId: "aa-1", instanceId: "b", subscribedTopics: ["t"], owned: new Map() },
      ],
      topics: new Map([["t", 4]]),
    });
    expect(topicPartitionsToObject(after.get("00-restarted") ?? new Map())).toEqual(topicPartitionsToObject(before.get("zz-1") ?? new Map()));
  });

  it("per topic, subscribers' counts differ by at most one", () => {
    fc.assert(
      fc.property(fc.boolean().chain((uniform) => scenarioArb({ uniform, ...small })), ({ input }) => {
        const out = assignRange(input);
        for (const topic of input.topics.keys()) {
          const counts = subscribersOf(input, topic).map((m) => out.get(m.memberId)?.get(topic)?.length ?? 0);
          if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("round-robin", () => {
  it("deals partitions in (topic, partition) order over the member cycle", () => {
    const members = ["b", "a"].map((memberId) => ({ memberId, subscribedTopics: ["t0", "t1"], owned: new Map() }));
    const out = assignRoundRobin({ members, topics: new Map([["t0", 3], ["t1", 2]]) });
    expect(asObject(out)).toEqual({ a: { t0: [0, 2], t1: [1] }, b: { t0: [1], t1: [0] } });
  });

  it("with identical subscriptions, total counts differ by at most one", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: true, ...small }), ({ input }) => {
        const counts = [...loads(assignRoundRobin(input)).values()];
        const active = input.members.some((m) => m.subscribedTopics.some((t) => (input.topics.get(t) ?? 0) > 0));
        if (active) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("uniform sticky", () => {
  it("identical subscriptions: counts within one, and moves exactly the lower bound", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: true, ...small }), ({ input }) => {
        const out = assignUniformSticky(input);
        const active = input.members.filter((m) => m.subscribedTopics.some((t) => (input.topics.get(t) ?? 0) > 0));
        const counts = active.map((m) => countPartitions(out.get(m.memberId) ?? new Map()));
        if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        expect(movesOf(input, out)).toBe(uniformMovesLowerBound(input));
      }),
      { numRuns: 400 },
    );
  });

  it("mixed subscriptions: no cost-reducing path is left (balanced in the semi-matching sense)", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: false, ...small }), ({ input }) => {
        expect(hasCostReducingPath(input, assignUniformSticky(input))).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it("mixed subscriptions, small groups: matches brute force on balance (sum of squares) and on moves", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: false, maxPartitions: 3, maxMembers: 4, maxTopics: 3 }), ({ input }) => {
        let total = 0;
        for (const [t, c] of input.topics) if (subscribersOf(input, t).length > 0) total += c;
        fc.pre(total <= 8);
        const out = assignUniformSticky(input);
        const best = bruteForceOptimum(input);
        expect(sumSquares(out)).toBe(best.sumSquares);
        expect(movesOf(input, out)).toBe(best.moves);
      }),
      { numRuns: 300 },
    );
  });

  it("the mixed-subscription algorithm agrees with the uniform fast path on uniform input (balance and moves)", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: true, ...small }), ({ input }) => {
        const fast = assignUniformSticky(input);
        const general = assignUniformSticky(input, { forceGeneral: true });
        expectValid(input, general);
        expect([...loads(general).values()].sort()).toEqual([...loads(fast).values()].sort());
        expect(movesOf(input, general)).toBe(movesOf(input, fast));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("without the refinement budget the result is still complete and balanced (only moves may grow)", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: false, ...small }), ({ input }) => {
        const out = assignUniformSticky(input, { refineRelaxationsMax: 0 });
        expectValid(input, out);
        expect(hasCostReducingPath(input, out)).toBe(false);
        expect(sumSquares(out)).toBe(sumSquares(assignUniformSticky(input)));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("is a fixed point: feeding its output back as ownership moves nothing", () => {
    fc.assert(
      fc.property(fc.boolean().chain((uniform) => scenarioArb({ uniform, ...small })), ({ input }) => {
        const first = assignUniformSticky(input);
        const again = assignUniformSticky({
          ...input,
          members: input.members.map((m) => ({ ...m, owned: first.get(m.memberId) ?? new Map() })),
        });
        expect(asObject(again)).toEqual(asObject(first));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("when a member leaves a balanced group with identical subscriptions, only its partitions move", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: true, ...small }), fc.nat(), ({ input }, pick) => {
        fc.pre(input.members.length >= 2);
        const before = assignUniformSticky(input);
        const leaver = input.members[pick % input.members.length] as AssignorMember;
        const rest = input.members.filter((m) => m !== leaver).map((m) => ({ ...m, owned: before.get(m.memberId) ?? new Map() }));
        const after = assignUniformSticky({ members: rest, topics: input.topics });
        const ownersBefore = ownerMap(before);
        for (const [key, owner] of ownerMap(after)) {
          if (ownersBefore.get(key) !== owner) expect(ownersBefore.get(key)).toBe(leaver.memberId);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("when a member joins, moves are the minimum: exactly what the newcomer needs for balance", () => {
    fc.assert(
      fc.property(scenarioArb({ uniform: true, ...small }), ({ input }) => {
        const before = assignUniformSticky(input);
        const subscribed = input.members[0]?.subscribedTopics ?? [];
        const members = [
          ...input.members.map((m) => ({ ...m, owned: before.get(m.memberId) ?? new Map() })),
          { memberId: "zz-new", subscribedTopics: subscribed, owned: new Map() },
        ];
        const after = assignUniformSticky({ members, topics: input.topics });
        let total = 0;
        for (const [t, c] of input.topics) if (subscribed.includes(t)) total += c;
        const active = subscribed.some((t) => (input.topics.get(t) ?? 0) > 0);
        // A newcomer to a balanced group takes floor(P/M') partitions and nothing else moves.
        const newcomer = countPartitions(after.get("zz-new") ?? new Map());
        if (active) expect(newcomer).toBe(Math.floor(total / members.length));
        expect(movesOf({ members, topics: input.topics }, after)).toBe(newcomer);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("new partitions and deleted topics: the old ones stay put, new ones are spread", () => {
    const members = ["a", "b", "c"].map((memberId) => ({ memberId, subscribedTopics: ["t", "u"], owned: new Map() }));
    const first = assignUniformSticky({ members, topics: new Map([["t", 6], ["u", 3]]) });
    const grown = assignUniformSticky({
      members: members.map((m) => ({ ...m, owned: first.get(m.memberId) ?? new Map() })),
      topics: new Map([["t", 9]]), // u deleted, t grew from 6 to 9
    });
    expect([...loads(grown).values()]).toEqual([3, 3, 3]);
    for (const [m, tp] of first) {
      for (const p of tp.get("t") ?? []) expect(grown.get(m)?.get("t")).toContain(p);
    }
  });
});
