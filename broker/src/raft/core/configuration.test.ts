// Proves membership changes alter at most one voter, reject invalid changes with a typed error, and that the configuration history reverts on truncation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigHistory, applyConfigChange } from "./configuration.js";
import { InvalidConfigChangeError } from "./errors.js";
import { asNodeId, type ConfigChange, type Configuration } from "./types.js";

const cfg = (voters: number[], learners: number[] = []): Configuration => ({ voters: voters.map(asNodeId), learners: learners.map(asNodeId) });

describe("applyConfigChange", () => {
  it("applies each kind of change", () => {
    const c = cfg([1, 2, 3]);
    expect(applyConfigChange(c, { type: "add-learner", node: asNodeId(4) })).toEqual(cfg([1, 2, 3], [4]));
    expect(applyConfigChange(cfg([1, 2, 3], [4]), { type: "promote-learner", node: asNodeId(4) })).toEqual(cfg([1, 2, 3, 4]));
    expect(applyConfigChange(c, { type: "demote-voter", node: asNodeId(2) })).toEqual(cfg([1, 3], [2]));
    expect(applyConfigChange(c, { type: "remove-node", node: asNodeId(1) })).toEqual(cfg([2, 3]));
    expect(applyConfigChange(c, { type: "add-voter", node: asNodeId(0) })).toEqual(cfg([0, 1, 2, 3]));
  });

  it("rejects changes that do not apply", () => {
    const bad: Array<[Configuration, ConfigChange]> = [
      [cfg([1]), { type: "add-learner", node: asNodeId(1) }],
      [cfg([1], [2]), { type: "add-voter", node: asNodeId(2) }],
      [cfg([1]), { type: "promote-learner", node: asNodeId(1) }],
      [cfg([1]), { type: "demote-voter", node: asNodeId(1) }],
      [cfg([1]), { type: "remove-node", node: asNodeId(1) }],
      [cfg([1]), { type: "remove-node", node: asNodeId(7) }],
      [cfg([1]), { type: "add-learner", node: asNodeId(-1) }],
      [cfg([1]), { type: "add-learner", node: asNodeId(2.5) }],
    ];
    for (const [c, change] of bad) expect(() => applyConfigChange(c, change)).toThrow(InvalidConfigChangeError);
  });

  it("any valid change keeps ids unique and sorted, changes at most one voter, and keeps a voter", () => {
    const change = fc.record({
      type: fc.constantFrom("add-learner", "promote-learner", "add-voter", "demote-voter", "remove-node"),
      node: fc.integer({ min: 0, max: 6 }).map(asNodeId),
    }) as fc.Arbitrary<ConfigChange>;
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
        let c = cfg([1, 2, 3]);
        for (const ch of changes) {
          let next: Configuration;
          try {
            next = applyConfigChange(c, ch);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidConfigChangeError);
            continue;
          }
          const all = [...next.voters, ...next.learners];
          expect(new Set(all).size).toBe(all.length);
          expect([...next.voters].sort((a, b) => a - b)).toEqual(next.voters);
          expect(next.voters.length).toBeGreaterThanOrEqual(1);
          const diff = next.voters.filter((v) => !c.voters.includes(v)).length + c.voters.filter((v) => !next.voters.includes(v)).length;
          expect(diff).toBeLessThanOrEqual(1);
          c = next;
        }
      }),
    );
  });
});

describe("ConfigHistory", () => {
  it("uses the newest configuration, reverts on truncation, and forgets what commit made permanent", () => {
    const h = new ConfigHistory(-1, cfg([1, 2, 3]));
    h.push(4, cfg([1, 2, 3], [4]));
    h.push(7, cfg([1, 2, 3, 4]));
    expect(h.current()).toEqual(cfg([1, 2, 3, 4]));
    expect(h.previous()).toEqual(cfg([1, 2, 3], [4]));
    expect(h.truncateFrom(7)).toBe(true);
    expect(h.current()).toEqual(cfg([1, 2, 3], [4]));
    expect(h.truncateFrom(9)).toBe(false);
    h.compactTo(5);
    expect(h.previous()).toBeNull();
    expect(h.truncateFrom(0)).toBe(false); // a committed configuration never goes away
    expect(h.latestOffset()).toBe(4);
  });
});
