/**
 * Uniform sticky assignor: balanced, and moves as few partitions as it can relative to what
 * members own now (the coordinator passes each member's previous target as `owned`).
 *
 * What "balanced" means. Members and topics form a bipartite graph (member -- topic it
 * subscribes to). An assignment is balanced when no *cost-reducing path* exists: no chain of
 * single-partition hand-offs m0 -> m1 -> ... -> mk (each mi holds a partition of a topic m(i+1)
 * subscribes to) from a member holding L partitions to one holding L-2 or fewer. That is the
 * optimal "semi-matching" of Harvey, Ladner, Lovász and Tamir (2003): it minimizes the sum of
 * squared loads, hence the maximum load, over every assignment that respects subscriptions.
 * When all members subscribe to the same topics it reduces to "every count within one of every
 * other". With mixed subscriptions counts can differ by more than one only where no subscriber
 * of the heavy member's topics is lighter (e.g. a topic only one member subscribes to).
 *
 * What "sticky" means: among balanced assignments it picks one that keeps the most currently
 * owned partitions where they are (moves = owned partitions that end elsewhere; partitions of
 * deleted or unsubscribed topics always leave). Exact in both paths below:
 *
 * - Components (members connected through shared topics) whose members all subscribe to the
 *   same topics use a direct quota fill: counts floor(P/M) or +1, the +1s going to the members
 *   that own the most, each keeping min(owned, quota). This meets the lower bound
 *   sum(max(0, owned - q - 1)) + max(0, #(owned > q) - (P mod M)) with q = floor(P/M).
 * - Mixed components: keep owned, hand free partitions to the least loaded eligible member,
 *   cancel cost-reducing paths (shortest first) until balanced, then cancel negative cycles of
 *   the min-cost-flow formulation (cost = W * sum(load^2) + moves, W > P) until none is left,
 *   which is the optimality condition of min-cost flow: fewest moves among balanced
 *   assignments. Cycle cancelling costs O(M^3) per cycle, so it stops after
 *   STICKY_REFINE_RELAXATIONS_MAX edge relaxations; past that the result is still balanced and
 *   complete but may move a few more partitions than the minimum.
 *
 * Deterministic: members are processed by member id, topics by name, partitions ascending;
 * ties break on those orders, never on map iteration order. Pure (lint-enforced folder).
 */
import { asPartitionId, assert, type PartitionId } from "@sluice/protocol";
import {
  compareStrings,
  existingSubscriptions,
  pairsOf,
  topicPartitionsOf,
  type Assignor,
  type AssignorInput,
  type GroupAssignment,
} from "./assignment.js";
import { validateAssignorInput } from "./validate.js";

/**
 * Edge relaxations the move-minimizing refinement may spend per assignment. 20 M relaxations
 * is roughly 50-100 ms of JavaScript: enough for exact results on mixed-subscription groups of
 * a few dozen members (the common size for them), and a hard cap on how long one heartbeat can
 * stall the coordinator with a pathological group.
 */
export const STICKY_REFINE_RELAXATIONS_MAX = 20_000_000;

export interface UniformStickyOptions {
  /** Override of STICKY_REFINE_RELAXATIONS_MAX (tests use it to force the heuristic path). */
  readonly refineRelaxationsMax?: number;
  /** Use the mixed-subscription algorithm even for uniform components (tests compare both). */
  readonly forceGeneral?: boolean;
}

/** Dense-index view of the problem: partitions and members become small integers. */
interface Problem {
  readonly memberIds: readonly string[];
  readonly subscribes: ReadonlyArray<ReadonlySet<number>>; // member -> topic indexes
  readonly topicNames: readonly string[];
  readonly subscribersOfTopic: ReadonlyArray<readonly number[]>; // topic -> members, ascending
  readonly topicOf: Int32Array; // partition -> topic index
  readonly partitionNumber: Int32Array; // partition -> partition id within its topic
  readonly topicFirst: readonly number[]; // topic -> first partition index
  readonly topicCount: readonly number[]; // topic -> partition count
  readonly origOwner: Int32Array; // partition -> member that validly owns it now, or -1
  readonly holder: Int32Array; // partition -> member in the result being built, or -1
}

export function assignUniformSticky(input: AssignorInput, options: UniformStickyOptions = {}): GroupAssignment {
  validateAssignorInput(input);
  const problem = buildProblem(input);
  const budget = { relaxationsLeft: options.refineRelaxationsMax ?? STICKY_REFINE_RELAXATIONS_MAX };
  for (const component of components(problem)) {
    if (options.forceGeneral !== true && isUniform(problem, component.members)) {
      assignUniformComponent(problem, component.members, component.partitions);
    } else {
      assignMixedComponent(problem, component.members, component.partitions, budget);
    }
  }
  const pairs: Array<Array<[string, PartitionId]>> = problem.memberIds.map(() => []);
  for (let p = 0; p < problem.holder.length; p++) {
    const m = problem.holder[p] as number;
    if (m < 0) continue; // only partitions of topics nobody subscribes to; buildProblem skips those
    pairs[m]?.push([problem.topicNames[problem.topicOf[p] as number] as string, asPartitionId(problem.partitionNumber[p] as number)]);
  }
  return new Map(problem.memberIds.map((id, m) => [id, topicPartitionsOf(pairs[m] ?? [])]));
}

export const uniformStickyAssignor: Assignor = { name: "uniform", assign: (input) => assignUniformSticky(input) };

function buildProblem(input: AssignorInput): Problem {
  const members = [...input.members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  const subsByName = members.map((m) => existingSubscriptions(m, input.topics));
  const topicNames = [...new Set(subsByName.flat())].sort(compareStrings);
  const topicIndex = new Map(topicNames.map((t, i) => [t, i]));
  const subscribes = subsByName.map((names) => new Set(names.map((t) => topicIndex.get(t) as number)));
  const subscribersOfTopic: number[][] = topicNames.map(() => []);
  subscribes.forEach((set, m) => {
    for (const t of [...set].sort((a, b) => a - b)) subscribersOfTopic[t]?.push(m);
  });
  const topicCount = topicNames.map((t) => input.topics.get(t) ?? 0);
  const topicFirst: number[] = [];
  let total = 0;
  for (const count of topicCount) {
    topicFirst.push(total);
    total += count;
  }
  const topicOf = new Int32Array(total);
  const partitionNumber = new Int32Array(total);
  topicCount.forEach((count, t) => {
    const first = topicFirst[t] as number;
    for (let p = 0; p < count; p++) {
      topicOf[first + p] = t;
      partitionNumber[first + p] = p;
    }
  });
  // Keep what members own, if it still exists and they still subscribe to it. A partition two
  // members both claim (never produced by the coordinator) stays with the first by member id.
  const origOwner = new Int32Array(total).fill(-1);
  members.forEach((member, m) => {
    for (const [topic, partition] of pairsOf(member.owned)) {
      const t = topicIndex.get(topic);
      if (t === undefined || !(subscribes[m] as Set<number>).has(t)) continue;
      if (!Number.isInteger(partition) || partition < 0 || partition >= (topicCount[t] as number)) continue;
      const p = (topicFirst[t] as number) + partition;
      if (origOwner[p] === -1) origOwner[p] = m;
    }
  });
  return {
    memberIds: members.map((m) => m.memberId),
    subscribes,
    topicNames,
    subscribersOfTopic,
    topicOf,
    partitionNumber,
    topicFirst,
    topicCount,
    origOwner,
    holder: Int32Array.from(origOwner),
  };
}

interface Component {
  readonly members: number[]; // ascending
  readonly partitions: number[]; // ascending
}

/** Members connected through shared topics; members without (existing) subscriptions get nothing. */
function components(problem: Problem): Component[] {
  const parent = problem.memberIds.map((_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      const up = parent[x] as number;
      parent[x] = parent[up] as number;
      x = up;
    }
    return x;
  };
  for (const subs of problem.subscribersOfTopic) {
    for (let i = 1; i < subs.length; i++) {
      const a = find(subs[0] as number);
      const b = find(subs[i] as number);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  const byRoot = new Map<number, Component>();
  problem.memberIds.forEach((_, m) => {
    if ((problem.subscribes[m] as Set<number>).size === 0) return;
    const root = find(m);
    let c = byRoot.get(root);
    if (c === undefined) byRoot.set(root, (c = { members: [], partitions: [] }));
    c.members.push(m);
  });
  problem.subscribersOfTopic.forEach((subs, t) => {
    if (subs.length === 0) return;
    const c = byRoot.get(find(subs[0] as number));
    const first = problem.topicFirst[t] as number;
    for (let p = 0; p < (problem.topicCount[t] as number); p++) c?.partitions.push(first + p);
  });
  for (const c of byRoot.values()) c.partitions.sort((a, b) => a - b);
  return [...byRoot.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
}

function isUniform(problem: Problem, members: readonly number[]): boolean {
  const key = (m: number): string => [...(problem.subscribes[m] as Set<number>)].sort((a, b) => a - b).join(",");
  const first = key(members[0] as number);
  return members.every((m) => key(m) === first);
}

/** Same subscriptions everywhere: quota fill, exact (see the module comment). */
function assignUniformComponent(problem: Problem, members: readonly number[], partitions: readonly number[]): void {
  const { holder } = problem;
  const kept = new Map<number, number[]>(members.map((m) => [m, []]));
  for (const p of partitions) {
    const m = holder[p] as number;
    if (m >= 0) kept.get(m)?.push(p);
  }
  const base = Math.floor(partitions.length / members.length);
  const extra = partitions.length % members.length;
  const byOwnedDesc = [...members].sort((a, b) => (kept.get(b)?.length ?? 0) - (kept.get(a)?.length ?? 0) || a - b);
  const quota = new Map<number, number>();
  byOwnedDesc.forEach((m, i) => quota.set(m, base + (i < extra ? 1 : 0)));
  for (const m of members) {
    const mine = kept.get(m) ?? [];
    const q = quota.get(m) ?? 0;
    for (const p of mine.slice(q)) holder[p] = -1; // release the highest-numbered surplus
  }
  const free = partitions.filter((p) => holder[p] === -1);
  const deficit = members.map((m) => ({ m, need: (quota.get(m) ?? 0) - Math.min(kept.get(m)?.length ?? 0, quota.get(m) ?? 0) }));
  // Deal free partitions round-robin over members that still need some, so each topic's free
  // partitions spread across members instead of filling one member at a time.
  let cursor = 0;
  for (const p of free) {
    for (let step = 0; step < deficit.length; step++) {
      const slot = deficit[(cursor + step) % deficit.length] as { m: number; need: number };
      if (slot.need > 0) {
        holder[p] = slot.m;
        slot.need--;
        cursor = (cursor + step + 1) % deficit.length;
        break;
      }
    }
  }
}

/** Mixed subscriptions: greedy fill, cost-reducing paths, then move-minimizing cycle cancelling. */
function assignMixedComponent(
  problem: Problem,
  members: readonly number[],
  partitions: readonly number[],
  budget: { relaxationsLeft: number },
): void {
  const { holder, topicOf, subscribersOfTopic } = problem;
  const load = new Map<number, number>(members.map((m) => [m, 0]));
  const held = new Map<number, Set<number>>(members.map((m) => [m, new Set()]));
  const give = (p: number, to: number): void => {
    const from = holder[p] as number;
    if (from >= 0) {
      held.get(from)?.delete(p);
      load.set(from, (load.get(from) ?? 0) - 1);
    }
    holder[p] = to;
    held.get(to)?.add(p);
    load.set(to, (load.get(to) ?? 0) + 1);
  };
  for (const p of partitions) {
    const m = holder[p] as number;
    if (m >= 0) {
      held.get(m)?.add(p);
      load.set(m, (load.get(m) ?? 0) + 1);
    }
  }
  // 1. Free partitions to the least loaded subscriber, most constrained topics first.
  const free = partitions
    .filter((p) => holder[p] === -1)
    .sort((a, b) => (subscribersOfTopic[topicOf[a] as number]?.length ?? 0) - (subscribersOfTopic[topicOf[b] as number]?.length ?? 0) || a - b);
  for (const p of free) {
    let best = -1;
    for (const m of subscribersOfTopic[topicOf[p] as number] ?? []) {
      if (best === -1 || (load.get(m) ?? 0) < (load.get(best) ?? 0)) best = m;
    }
    give(p, best);
  }
  // 2. Cancel cost-reducing paths: each one lowers sum(load^2) by at least 2, so this ends.
  const pick = (from: number, to: number): number => choosePartition(problem, held.get(from) ?? new Set(), from, to);
  for (;;) {
    const path = findCostReducingPath(problem, members, load, held);
    if (path === undefined) break;
    for (let i = path.length - 1; i > 0; i--) give(pick(path[i - 1] as number, path[i] as number), path[i] as number);
  }
  // 3. Cancel negative cycles of the move cost at unchanged balance.
  refineMoves(problem, members, partitions.length, load, held, give, budget);
}

/**
 * Which partition `from` should hand to `to`: one `to` subscribes to, preferring one `to` owned
 * before (a hand-back removes a move), then one `from` did not own (no new move), lowest index.
 */
function choosePartition(problem: Problem, fromHeld: ReadonlySet<number>, from: number, to: number): number {
  const subs = problem.subscribes[to] as Set<number>;
  let best = -1;
  let bestRank = 3;
  for (const p of fromHeld) {
    if (!subs.has(problem.topicOf[p] as number)) continue;
    const o = problem.origOwner[p] as number;
    const rank = o === to ? 0 : o !== from ? 1 : 2;
    if (rank < bestRank || (rank === bestRank && p < best)) {
      best = p;
      bestRank = rank;
    }
  }
  assert(best >= 0, `member ${from} holds nothing member ${to} subscribes to`);
  return best;
}

/** BFS from the heaviest members for a chain ending at a member at least two lighter. */
function findCostReducingPath(
  problem: Problem,
  members: readonly number[],
  load: ReadonlyMap<number, number>,
  held: ReadonlyMap<number, ReadonlySet<number>>,
): number[] | undefined {
  let minLoad = Infinity;
  for (const m of members) minLoad = Math.min(minLoad, load.get(m) ?? 0);
  const byLoadDesc = [...members].sort((a, b) => (load.get(b) ?? 0) - (load.get(a) ?? 0) || a - b);
  for (const src of byLoadDesc) {
    const srcLoad = load.get(src) ?? 0;
    if (srcLoad - minLoad < 2) return undefined;
    const parent = new Map<number, number>([[src, -1]]);
    const queue = [src];
    for (let head = 0; head < queue.length; head++) {
      const x = queue[head] as number;
      const topics = new Set<number>();
      for (const p of held.get(x) ?? []) topics.add(problem.topicOf[p] as number);
      for (const t of [...topics].sort((a, b) => a - b)) {
        for (const y of problem.subscribersOfTopic[t] ?? []) {
          if (parent.has(y)) continue;
          parent.set(y, x);
          if ((load.get(y) ?? 0) <= srcLoad - 2) {
            const path = [y];
            for (let at = x; at !== -1; at = parent.get(at) ?? -1) path.push(at);
            return path.reverse();
          }
          queue.push(y);
        }
      }
    }
  }
  return undefined;
}

/**
 * Min-cost-flow refinement. Nodes: the component's members and a sink S. Edge x -> y (x hands
 * y one partition y subscribes to) costs +1 if x owned it before, -1 if y owned it before, else
 * 0 (the cheapest such partition). y -> S costs W(2*load(y)+1) (y takes one more), S -> x costs
 * -W(2*load(x)-1) (x keeps one fewer). With W > P no cycle trades balance for moves, and a
 * balanced assignment with no negative cycle has the fewest moves among balanced ones.
 */
function refineMoves(
  problem: Problem,
  members: readonly number[],
  partitionCount: number,
  load: Map<number, number>,
  held: ReadonlyMap<number, ReadonlySet<number>>,
  give: (p: number, to: number) => void,
  budget: { relaxationsLeft: number },
): void {
  const n = members.length;
  const sink = n;
  const local = new Map(members.map((m, i) => [m, i]));
  const weight = partitionCount + 1;
  for (;;) {
    // Cheapest partition per (x, y) pair.
    const edgeCost = new Map<number, number>(); // key x * (n + 1) + y
    const edgePart = new Map<number, number>();
    members.forEach((x, xi) => {
      for (const p of held.get(x) ?? []) {
        const o = problem.origOwner[p] as number;
        for (const y of problem.subscribersOfTopic[problem.topicOf[p] as number] ?? []) {
          if (y === x) continue;
          const yi = local.get(y) as number;
          const cost = (o === x ? 1 : 0) - (o === y ? 1 : 0);
          const key = xi * (n + 1) + yi;
          const prev = edgeCost.get(key);
          if (prev === undefined || cost < prev || (cost === prev && p < (edgePart.get(key) as number))) {
            edgeCost.set(key, cost);
            edgePart.set(key, p);
          }
        }
      }
    });
    const from: number[] = [];
    const to: number[] = [];
    const cost: number[] = [];
    for (const [key, c] of [...edgeCost.entries()].sort((a, b) => a[0] - b[0])) {
      from.push(Math.floor(key / (n + 1)));
      to.push(key % (n + 1));
      cost.push(c);
    }
    members.forEach((m, i) => {
      const l = load.get(m) ?? 0;
      from.push(i);
      to.push(sink);
      cost.push(weight * (2 * l + 1));
      if (l > 0) {
        from.push(sink);
        to.push(i);
        cost.push(-weight * (2 * l - 1));
      }
    });
    const nodes = n + 1;
    if (budget.relaxationsLeft < nodes * from.length) return;
    budget.relaxationsLeft -= nodes * from.length;
    const cycle = negativeCycle(nodes, from, to, cost);
    if (cycle === undefined) return;
    // Hand partitions along the cycle; each member appears once, so each gives one it held.
    const moves: Array<[number, number]> = [];
    for (let i = 0; i < cycle.length; i++) {
      const x = cycle[i] as number;
      const y = cycle[(i + 1) % cycle.length] as number;
      if (x === sink || y === sink) continue;
      moves.push([edgePart.get(x * (n + 1) + y) as number, members[y] as number]);
    }
    for (const [p, y] of moves) give(p, y);
  }
}

/** Bellman-Ford from a virtual source at distance 0 to every node; returns a negative cycle's nodes in order. */
function negativeCycle(nodes: number, from: readonly number[], to: readonly number[], cost: readonly number[]): number[] | undefined {
  const dist = new Float64Array(nodes);
  const pred = new Int32Array(nodes).fill(-1);
  let last = -1;
  for (let round = 0; round < nodes; round++) {
    last = -1;
    for (let e = 0; e < from.length; e++) {
      const u = from[e] as number;
      const v = to[e] as number;
      const d = (dist[u] as number) + (cost[e] as number);
      if (d < (dist[v] as number)) {
        dist[v] = d;
        pred[v] = u;
        last = v;
      }
    }
    if (last === -1) return undefined;
  }
  // Still relaxing after `nodes` rounds: walking back `nodes` steps lands inside the cycle.
  let x = last;
  for (let i = 0; i < nodes; i++) x = pred[x] as number;
  const cycle: number[] = [];
  for (let at = x; ; at = pred[at] as number) {
    cycle.push(at);
    if (cycle.length > 1 && at === x) break;
  }
  cycle.pop();
  return cycle.reverse();
}
