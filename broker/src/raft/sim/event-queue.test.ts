// Proves the agenda pops events in (time, scheduling order) order, which is what makes ties deterministic.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventQueue } from "./event-queue.js";

describe("EventQueue", () => {
  it("pops in time order, ties in scheduling order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 300 }), (ops) => {
        const q = new EventQueue<{ time: number; seq: number; id: number }>();
        const model: Array<{ time: number; id: number }> = [];
        let id = 0;
        const popped: number[] = [];
        const expected: number[] = [];
        for (const [time, pop] of ops) {
          if (pop && model.length > 0) {
            model.sort((a, b) => a.time - b.time || a.id - b.id);
            expected.push((model.shift() as { id: number }).id);
            popped.push((q.pop() as { id: number }).id);
          } else {
            q.push({ time, seq: 0, id });
            model.push({ time, id });
            id++;
          }
        }
        expect(popped).toEqual(expected);
        expect(q.size).toBe(model.length);
      }),
    );
  });
});
