// Proves coalescing turns one tick's outbox into one envelope per destination broker, whatever the number of groups, and loses or invents no message.
import fc from "fast-check";
import { AssertionError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import type { Message } from "./messages.js";
import { asGroupId, coalesceOutbox, expandEnvelope, type GroupMessage } from "./multi-group.js";
import { asNodeId, asTerm } from "./types.js";
import { asOffset } from "@sluice/protocol";

const me = asNodeId(1);

function message(kind: number, to: number, i: number): Message {
  const base = { from: me, to: asNodeId(to), term: asTerm(1 + (i % 5)) };
  switch (kind) {
    case 0:
      return { ...base, type: "heartbeat", commit: asOffset(i), readSeq: i % 3 };
    case 1:
      return { ...base, type: "heartbeat-resp", readSeq: i % 4 };
    case 2:
      return { ...base, type: "append", prevOffset: asOffset(i), prevTerm: asTerm(1), entries: [], commit: asOffset(i) };
    default:
      return { ...base, type: "vote", lastOffset: asOffset(i), lastTerm: asTerm(1), transfer: false };
  }
}

describe("coalesceOutbox", () => {
  it("sends one envelope per peer per tick for 10,000 idle groups", () => {
    const outbox: GroupMessage[] = [];
    for (let g = 0; g < 10_000; g++) for (const to of [2, 3]) outbox.push({ group: asGroupId(g), message: message(0, to, g) });
    const envelopes = coalesceOutbox(me, outbox);
    expect(envelopes.map((e) => e.to).sort()).toEqual([2, 3]);
    for (const e of envelopes) {
      expect(e.heartbeats).toHaveLength(10_000);
      expect(e.messages).toHaveLength(0);
    }
  });

  it("round-trips any outbox exactly, per destination, keeping the order of non-heartbeat messages", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 2, max: 5 })), { maxLength: 200 }), (items) => {
        const outbox: GroupMessage[] = items.map(([g, kind, to], i) => ({ group: asGroupId(g), message: message(kind, to, i) }));
        const envelopes = coalesceOutbox(me, outbox);
        expect(new Set(envelopes.map((e) => e.to)).size).toBe(envelopes.length);
        for (const env of envelopes) {
          const mine = outbox.filter((gm) => gm.message.to === env.to);
          const back = expandEnvelope(env);
          const key = (gm: GroupMessage) => JSON.stringify([gm.group, Object.entries(gm.message).sort(([a], [b]) => a.localeCompare(b))]);
          expect(back.map(key).sort()).toEqual(mine.map(key).sort());
          const isBeat = (gm: GroupMessage) => gm.message.type === "heartbeat" || gm.message.type === "heartbeat-resp";
          expect(back.filter((gm) => !isBeat(gm)).map(key)).toEqual(mine.filter((gm) => !isBeat(gm)).map(key));
        }
      }),
    );
  });

  it("refuses a message that is not from this broker", () => {
    const foreign: GroupMessage = { group: asGroupId(1), message: { ...message(2, 3, 0), from: asNodeId(9) } };
    expect(() => coalesceOutbox(me, [foreign])).toThrow(AssertionError);
  });
});
