/**
 * Majority arithmetic over a voter set: the commit offset a quorum has reached, the outcome
 * of an election, and whether a quorum was recently active. Learners never count.
 *
 * Invariants: with n voters a quorum is floor(n / 2) + 1; an empty voter set has no quorum
 * (nothing commits, nobody wins); each function is a pure function of its inputs
 * (property-tested against naive definitions in quorum.test.ts).
 */
import type { NodeId } from "./types.js";

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest value v such that at least a majority of voters have value >= v (for match
 * offsets: the highest offset a quorum has acknowledged). -Infinity with no voters.
 */
export function quorumValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  const n = voters.length;
  if (n === 0) return Number.NEGATIVE_INFINITY;
  if (n === 1) return valueOf(voters[0] as NodeId);
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = valueOf(voters[i] as NodeId);
  values.sort((a, b) => b - a);
  return values[majority(n) - 1] as number;
}

export type VoteOutcome = "won" | "lost" | "pending";

/** Tallies recorded votes (true = granted) of voters; votes of non-voters are ignored. */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  if (voters.length === 0) return "lost";
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return "won";
  if (rejected > voters.length - need) return "lost";
  return "pending";
}
