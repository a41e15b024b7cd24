/**
 * The simulator's CI seed budget and the helper the seed tests share. Two test files split
 * the seeds so vitest's two workers run them in parallel (seeds-1 / seeds-2.test.ts).
 *
 * 2,000 seeds x 10,000 steps: 20 million simulated events, each a message delivery, tick,
 * fsync completion, client request or fault. At ~0.5-0.9 million steps/s per core this takes
 * 15-40 s per file; the Figure-8 mutant is caught well inside it (mutants.test.ts).
 */
import { runSimulation, zeroStats, type RaftFactory, type SimulationStats } from "./simulation.js";
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
  const totals = zeroStats();
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

/**
 * Everything wrong with seeds [first, first + count): violations (with replay commands) and
 * faults or features the runs never exercised. Empty means the range passed.
 */
export function seedRangeProblems(first: number, count: number, steps = ciSeedBudget.steps): string[] {
  const report = runSeedRange(first, count, steps);
  const problems = report.failures.length === 0 ? [] : [describeFailures(report, steps)];
  if (report.steps !== count * steps) problems.push(`ran ${report.steps} steps, expected ${count * steps}`);
  const t = report.totals;
  const exercised = {
    leadersElected: t.leadersElected,
    acknowledged: t.acknowledged,
    crashes: t.crashes,
    partitions: t.partitions,
    snapshotsInstalled: t.snapshotsInstalled,
    configChanges: t.configChanges,
    transfers: t.transfers,
    readsServed: t.readsServed,
    livenessWindows: t.livenessWindows,
    messagesDropped: t.messagesDropped,
  };
  for (const [name, value] of Object.entries(exercised)) {
    if (value <= count) problems.push(`${name} = ${value}: fewer than one per seed`);
  }
  return problems;
}
