// Proves the majority arithmetic equals its naive definitions for arbitrary voter sets (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { majority, quorumValue, voteOutcome } from "./quorum.js";
import { asNodeId, type NodeId } from "./types.js";

const voterSet = fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { maxLength: 9 }).map((ids) => ids.map(asNodeId));

describe("quorum", () => {
  it("majority is more than half", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (count) => {
        const m = majority(count);
        expect(2 * m).toBeGreaterThan(count);
        expect(2 * (m - 1)).toBeLessThanOrEqual(count);
      }),
    );
  });

  it("quorumValue is the largest value a majority has reached", () => {
    fc.assert(
      fc.property(voterSet, fc.array(fc.integer({ min: -1, max: 100 }), { minLength: 9, maxLength: 9 }), (voters, values) => {
        const valueOf = (id: NodeId): number => values[voters.indexOf(id)] as number;
        const got = quorumValue(voters, valueOf);
        if (voters.length === 0) {
          expect(got).toBe(Number.NEGATIVE_INFINITY);
          return;
        }
        const reached = (v: number): boolean => voters.filter((id) => valueOf(id) >= v).length >= majority(voters.length);
        expect(reached(got)).toBe(true);
        for (const id of voters) if (valueOf(id) > got) expect(reached(valueOf(id))).toBe(false);
      }),
    );
  });

  it("voteOutcome wins with a majority of grants, loses once a majority is impossible, ignores non-voters", () => {
    fc.assert(
      fc.property(voterSet, fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.boolean()), { maxLength: 20 }), (voters, cast) => {
        const votes = new Map<NodeId, boolean>();
        for (const [id, granted] of cast) if (!votes.has(asNodeId(id))) votes.set(asNodeId(id), granted);
        const granted = voters.filter((id) => votes.get(id) === true).length;
        const rejected = voters.filter((id) => votes.get(id) === false).length;
        const need = majority(voters.length);
        const expected = voters.length === 0 ? "lost" : granted >= need ? "won" : voters.length - rejected < need ? "lost" : "pending";
        expect(voteOutcome(voters, votes)).toBe(expected);
      }),
    );
  });
});
