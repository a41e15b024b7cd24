/**
 * The simulator's CI seed budget and the helper the seed tests share. Two test files split
 * the seeds so vitest's two workers run them in parallel (seeds-1 / seeds-2.test.ts).
 *
 * 2,000 seeds x 10,000 steps: 20 million simulated events, each a message delivery, tick,
 * fsync completion, client request or fault. At ~0.5-0.9 million steps/s per core this takes
 * 15-40 s per file; the Figure-8 mutant is caught well inside it (mutants.test.ts).
 */
import { runSimulation, type RaftFactory, type SimulationStats } from "./simulation.js";
import type { Violation } from "./invariants.js";

export const ciSeedBudget = { seeds: 2000, steps: 10_000 } as const;

export interface SeedRangeReport {
  readonly steps: number;
  readonly failures: ReadonlyArray<{ readonly seed: number; readonly violation: Violation }>;
  readonly totals: SimulationStats;
}

/** Runs seeds [first, first + count), summing statistics and collecting failures. */
export function runSeedRange(first: number, count: number, steps: number, factory?: RaftFactory): SeedRangeReport {
  const failures: Array<{ seed: number; violation: Violation }> = [];
  let total = 0;
  const totals: SimulationStats = {
    simulatedMs: 0,
    voters: 0,
    leadersElected: 0,
    proposals: 0,
    acknowledged: 0,
    crashes: 0,
    partitions: 0,
    snapshotsInstalled: 0,
    configChanges: 0,
    transfers: 0,
    readsServed: 0,
    livenessWindows: 0,
    maxRecoveryMs: 0,
    livenessBoundMs: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
  };
  for (let seed = first; seed < first + count; seed++) {
    const result = runSimulation({ seed, steps, factory });
    total += result.steps;
    if (result.violation !== null) failures.push({ seed, violation: result.violation });
    for (const key of Object.keys(totals) as Array<keyof SimulationStats>) {
      totals[key] = key === "maxRecoveryMs" || key === "livenessBoundMs" ? Math.max(totals[key], result.stats[key]) : totals[key] + result.stats[key];
    }
  }
  return { steps: total, failures, totals };
}

/** One line per failure with the command that replays it. */
export function describeFailures(report: SeedRangeReport, steps: number): string {
  return report.failures
    .map(({ seed, violation: v }) => `seed ${seed}: ${v.invariant} at step ${v.step}: ${v.detail} (replay: npm run sim -- --seed ${seed} --steps ${steps})`)
    .join("\n");
}
