// Proves the simulator catches each deliberately broken Raft core within the CI seed budget, and that the seed catching it passes with the real core.
import { describe, expect, it } from "vitest";
import type { InvariantName } from "./invariants.js";
import { mutants, type MutantName } from "./mutants.js";
import { ciSeedBudget } from "./seed-budget.js";
import { runSimulation } from "./simulation.js";

const safety: ReadonlySet<InvariantName> = new Set([
  "election-safety",
  "log-matching",
  "leader-completeness",
  "state-machine-safety",
  "commit-monotonic",
  "acknowledged-entry-lost",
  "read-linearizability",
  "core-assertion",
]);

/** The first seed of the CI budget on which the mutant breaks a safety invariant, or null. */
function firstCatch(name: MutantName): { seed: number; invariant: InvariantName } | null {
  for (let seed = 1; seed <= ciSeedBudget.seeds; seed++) {
    const result = runSimulation({ seed, steps: ciSeedBudget.steps, factory: mutants[name] });
    if (result.violation !== null && safety.has(result.violation.invariant)) return { seed, invariant: result.violation.invariant };
  }
  return null;
}

describe("mutants the simulator must catch", () => {
  for (const name of Object.keys(mutants) as MutantName[]) {
    it(`${name} is caught within ${ciSeedBudget.seeds} seeds x ${ciSeedBudget.steps} steps`, { timeout: 170_000 }, () => {
      const caught = firstCatch(name);
      expect(caught, `${name} was never caught`).not.toBeNull();
      const seed = (caught as { seed: number }).seed;
      const clean = runSimulation({ seed, steps: ciSeedBudget.steps });
      expect(clean.violation, `seed ${seed} fails without the mutant`).toBeNull();
    });
  }
});
