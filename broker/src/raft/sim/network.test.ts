// Proves the simulated network's partitions (full, overlapping isolations, one-way links) and its drop / duplicate / delay decisions behave as configured.
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../core/random.js";
import { SimNetwork } from "./network.js";

describe("SimNetwork", () => {
  it("blocks links one way, isolates nodes independently, and heals", () => {
    const net = new SimNetwork(5);
    net.block(1, 2);
    expect([net.isBlocked(1, 2), net.isBlocked(2, 1)]).toEqual([true, false]);
    net.isolate(3);
    net.isolate(4);
    net.rejoin(3);
    expect([net.isBlocked(3, 1), net.isBlocked(1, 4), net.isBlocked(4, 3)]).toEqual([false, true, true]);
    net.isolateGroup([1, 2], [1, 2, 3, 4]);
    expect([net.isBlocked(1, 2), net.isBlocked(2, 1), net.isBlocked(2, 3), net.isBlocked(3, 1)]).toEqual([true, false, true, true]);
    net.healAll();
    expect(net.anyBlocked()).toBe(false);
  });

  it("drops, duplicates and delays at the configured rates", () => {
    const net = new SimNetwork(3);
    const r = new SeededRandom(5);
    const out = [0, 0];
    net.conditions = { dropRate: 0.3, duplicateRate: 0.2, delayMinMs: 2, delayMaxMs: 4, spikeRate: 0, spikeMaxMs: 0 };
    let delivered = 0;
    let copies = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const k = net.fate(1, 2, r, out);
      if (k > 0) delivered++;
      copies += k;
      for (let j = 0; j < k; j++) expect((out[j] as number) >= 2 && (out[j] as number) <= 4).toBe(true);
    }
    expect(Math.abs(delivered / n - 0.7)).toBeLessThan(0.02);
    expect(Math.abs((copies - delivered) / delivered - 0.2)).toBeLessThan(0.02);
    net.block(1, 2);
    expect(net.fate(1, 2, r, out)).toBe(0);
  });
});
