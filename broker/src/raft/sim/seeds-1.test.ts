// Proves no safety or liveness invariant fails on the first half of the CI seed budget (seeds 1-1000, 10,000 steps each), and that those runs really exercise every fault and feature.
import { describe, expect, it } from "vitest";
import { ciSeedBudget, describeFailures, runSeedRange } from "./seed-budget.js";

const half = ciSeedBudget.seeds / 2;

describe("simulator seed budget, part 1", () => {
  it(`seeds 1..${half} x ${ciSeedBudget.steps} steps: no violation`, { timeout: 170_000 }, () => {
    const report = runSeedRange(1, half, ciSeedBudget.steps);
    expect(describeFailures(report, ciSeedBudget.steps)).toBe("");
    expect(report.steps).toBe(half * ciSeedBudget.steps);
    const t = report.totals;
    for (const [name, value] of Object.entries({
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
    })) {
      expect(value, name).toBeGreaterThan(half);
    }
  });
});
