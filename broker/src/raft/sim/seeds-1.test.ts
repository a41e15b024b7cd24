// Proves no safety or liveness invariant fails on the first half of the CI seed budget (seeds 1-1000, 10,000 steps each), and that those runs really exercise every fault and feature.
import { describe, expect, it } from "vitest";
import { ciSeedBudget, seedRangeProblems } from "./seed-budget.js";

const half = ciSeedBudget.seeds / 2;

describe("simulator seed budget, part 1", () => {
  it(`seeds 1..${half} x ${ciSeedBudget.steps} steps: no violation, every fault exercised`, { timeout: 170_000 }, () => {
    expect(seedRangeProblems(1, half)).toEqual([]);
  });
});
