// Proves the in-flight window bounds messages and bytes, frees in order, and that Progress moves between probe, replicate and snapshot as specified.
import fc from "fast-check";
import { AssertionError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { Inflights, Progress } from "./progress.js";

describe("Inflights", () => {
  it("is full at the message bound or the byte bound, and freeLE releases acknowledged appends in order", () => {
    const w = new Inflights(3, 1000);
    w.add(1, 100);
    w.add(5, 100);
    expect(w.full()).toBe(false);
    w.add(9, 100);
    expect(w.full()).toBe(true); // 3 messages
    w.freeLE(5);
    expect(w.messages()).toBe(1);
    expect(w.inflightBytes()).toBe(100);
    w.add(12, 950);
    expect(w.full()).toBe(true); // 1050 bytes >= 1000
    expect(w.bytesAvailable()).toBe(0);
    w.freeFirst();
    expect(w.inflightBytes()).toBe(950);
    w.reset();
    expect([w.messages(), w.inflightBytes(), w.full()]).toEqual([0, 0, false]);
  });

  it("asserts on misuse: overflow and non-ascending offsets are our bugs", () => {
    const w = new Inflights(1, 10);
    w.add(3, 1);
    expect(() => w.add(4, 1)).toThrow(AssertionError);
    const v = new Inflights(4, 10);
    v.add(3, 1);
    expect(() => v.add(3, 1)).toThrow(AssertionError);
  });

  it("matches a plain array model under random use (ring buffer wrap-around included)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("add", "free", "first"), fc.integer({ min: 1, max: 50 })), { maxLength: 200 }), (ops) => {
        const w = new Inflights(5, 120);
        const model: Array<[number, number]> = [];
        let last = 0;
        for (const [op, x] of ops) {
          if (op === "add" && model.length < 5) {
            last += x;
            w.add(last, x);
            model.push([last, x]);
          } else if (op === "free") {
            const upTo = last - x;
            w.freeLE(upTo);
            while (model.length > 0 && (model[0] as [number, number])[0] <= upTo) model.shift();
          } else if (op === "first") {
            w.freeFirst();
            model.shift();
          }
          const bytes = model.reduce((s, [, b]) => s + b, 0);
          expect(w.messages()).toBe(model.length);
          expect(w.inflightBytes()).toBe(bytes);
          expect(w.full()).toBe(model.length >= 5 || bytes >= 120);
        }
      }),
    );
  });
});

describe("Progress", () => {
  it("probes one append at a time, then pipelines once an acknowledgement shows where logs agree", () => {
    const pr = new Progress(10, false, 4, 1000);
    expect(pr.state).toBe("probe");
    pr.sentEntries(12, 10);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(12)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    pr.becomeReplicate();
    expect(pr.next).toBe(13);
    pr.sentEntries(15, 10);
    pr.sentEntries(18, 10);
    expect(pr.next).toBe(19);
    expect(pr.inflights.messages()).toBe(2);
    expect(pr.maybeUpdate(12)).toBe(false); // stale acknowledgement
  });

  it("walks back on rejections: to match + 1 when pipelining, to the hint when probing; stale ones are ignored", () => {
    const pr = new Progress(30, false, 4, 1000);
    pr.match = 5;
    pr.becomeReplicate(); // next = 6
    pr.sentEntries(20, 1);
    expect(pr.maybeDecrTo(4, 0)).toBe(false); // rejected <= match: stale
    expect(pr.maybeDecrTo(15, 10)).toBe(true);
    expect(pr.next).toBe(6);
    pr.becomeProbe();
    pr.next = 21;
    expect(pr.maybeDecrTo(19, 10)).toBe(false); // not the probe we sent (next - 1 = 20)
    expect(pr.maybeDecrTo(20, 12)).toBe(true);
    expect(pr.next).toBe(13);
    expect(() => pr.maybeDecrTo(12, 12)).toThrow(AssertionError); // a hint must move backwards
  });

  it("leaves snapshot state for probing past the snapshot", () => {
    const pr = new Progress(3, true, 4, 1000);
    pr.becomeSnapshot(50);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(51);
    expect(pr.state).toBe("probe");
  });
});
