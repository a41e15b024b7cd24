// Proves the simulated disk loses only unsynced writes on a crash, keeping the synced image plus an ordered prefix of what followed (a torn append keeps a prefix of its entries).
import fc from "fast-check";
import { asOffset } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../core/random.js";
import { MemoryStorage } from "../core/storage.js";
import { asNodeId, asTerm, type Entry, type HardState } from "../core/types.js";
import { SimDisk } from "./disk.js";

const entry = (term: number, base: number): Entry => ({
  kind: "data",
  term: asTerm(term),
  baseOffset: asOffset(base),
  lastOffset: asOffset(base),
  sizeBytes: 1,
  data: new Uint8Array(0),
});
const hs = (term: number): HardState => ({ term: asTerm(term), vote: asNodeId(1), commit: asOffset(-1) });

function image(s: MemoryStorage): string {
  return JSON.stringify([s.snapshotMeta().offset, s.hardState().term, s.allEntries().map((e) => [e.term, e.baseOffset])]);
}

describe("SimDisk", () => {
  it("keeps everything that was synced", () => {
    const disk = new SimDisk({ voters: [asNodeId(1)], learners: [] });
    disk.writeEntries([entry(1, 0), entry(1, 1)]);
    disk.writeHardState(hs(1));
    disk.sync();
    disk.crash(new SeededRandom(1), 1);
    expect(disk.view.lastOffset()).toBe(1);
    expect(disk.view.hardState().term).toBe(1);
  });

  it("after a crash holds the synced image plus an ordered prefix of the unsynced writes, possibly torn", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("append", "truncate", "hard", "sync"), fc.integer({ min: 1, max: 3 })), { maxLength: 25 }), fc.nat(), (ops, seed) => {
        const disk = new SimDisk({ voters: [asNodeId(1)], learners: [] });
        const reference = new MemoryStorage({ voters: [asNodeId(1)], learners: [] });
        let synced = [image(reference)];
        let possible = [image(reference)];
        let term = 1;
        for (const [op, k] of ops) {
          if (op === "sync") {
            disk.sync();
            synced = [image(reference)];
            possible = [image(reference)];
            continue;
          }
          if (op === "hard") {
            term++;
            disk.writeHardState(hs(term));
            reference.setHardState(hs(term));
          } else {
            const from = op === "truncate" ? Math.max(0, reference.lastOffset() - k + 1) : reference.lastOffset() + 1;
            const batch = Array.from({ length: k }, (_, i) => entry(term, from + i));
            // A torn append keeps any prefix of its entries (applied over the previous state).
            for (let keep = 1; keep < batch.length; keep++) {
              const torn = reference.clone();
              torn.append(batch.slice(0, keep));
              possible.push(image(torn));
            }
            disk.writeEntries(batch);
            reference.append(batch);
          }
          possible.push(image(reference));
          expect(image(disk.view)).toBe(image(reference));
        }
        disk.crash(new SeededRandom(seed), 0.5);
        expect(possible).toContain(image(disk.view));
        expect(synced.length).toBe(1);
      }),
    );
  });
});
