// Proves a seed replays exactly: the same seed gives the same events, statistics and outcome, tracing does not perturb it, and different seeds differ.
import { describe, expect, it } from "vitest";
import { runSimulation } from "./simulation.js";

describe("determinism", () => {
  it("replays a seed exactly", () => {
    const a = runSimulation({ seed: 11, steps: 4000 });
    const b = runSimulation({ seed: 11, steps: 4000 });
    const traced = runSimulation({ seed: 11, steps: 4000, trace: true });
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.stats).toEqual(a.stats);
    expect(traced.fingerprint).toBe(a.fingerprint);
    expect(traced.trace.length).toBeGreaterThan(0);
    const other = runSimulation({ seed: 12, steps: 4000 });
    expect(other.fingerprint).not.toBe(a.fingerprint);
  });
});
