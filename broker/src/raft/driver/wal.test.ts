// Proves the driver's write-ahead log keeps exactly what was synced across crashes (clean,
// torn and cut tails, crashes mid-sync and mid-roll), rolls segments without losing state, and
// turns disk failures and inconsistent records into StorageError.
import { describe, expect, it } from "vitest";
import { StorageError, type Offset } from "@sluice/protocol";
import { SimStorageFs, seededRandom } from "../../storage/index.js";
import type { GroupId } from "../core/multi-group.js";
import type { MemoryStorage } from "../core/storage.js";
import type { Configuration, Entry, HardState, NodeId, Term } from "../core/types.js";
import { finishFrame, startFrame } from "../transport/codec.js";
import { WalPersistence } from "./wal.js";

const DIR = "/data/raft";
const G1 = 1 as GroupId;
const G2 = 2 as GroupId;
const CONFIG: Configuration = { voters: [1, 2, 3] as NodeId[], learners: [] };

function entries(base: number, count: number, term: number, bytes = 32): Entry[] {
  return Array.from({ length: count }, (_, i) => {
    const data = Buffer.alloc(bytes, (base + i) & 0xff);
    return { kind: "data", term: term as Term, baseOffset: (base + i) as Offset, lastOffset: (base + i) as Offset, sizeBytes: bytes, data } satisfies Entry;
  });
}

function hs(term: number, vote: number, commit: number): HardState {
  return { term: term as Term, vote: vote as NodeId, commit: commit as Offset };
}

/** A comparable rendering of a group's stored state. */
function image(storage: MemoryStorage | undefined): string {
  if (storage === undefined) return "absent";
  const snap = storage.snapshot();
  return JSON.stringify({
    hs: storage.hardState(),
    snap: { ...snap.meta, data: Buffer.from(snap.data).toString("hex") },
    entries: storage.allEntries().map((e) => [e.kind, e.term, e.baseOffset, e.lastOffset, e.sizeBytes, e.kind === "data" ? Buffer.from(e.data).toString("hex") : ""]),
  });
}

async function open(fs: SimStorageFs, segmentBytes?: number): Promise<WalPersistence> {
  return WalPersistence.open({ fs, dir: DIR, ...(segmentBytes === undefined ? {} : { limits: { segmentBytes } }) });
}

describe("WalPersistence", () => {
  it("recovers every synced write after a crash: entries, overwrites, hard states, compaction, snapshots, removal", async () => {
    let fs = new SimStorageFs();
    const wal = await open(fs);
    wal.openGroup(G1, CONFIG);
    wal.openGroup(G2, CONFIG);
    wal.openGroup(3 as GroupId, CONFIG);
    wal.write(G1, null, entries(0, 10, 1), hs(1, 1, -1));
    wal.write(G1, null, entries(6, 3, 2), hs(2, 2, 5)); // overwrites the suffix from 6
    wal.compact(G1, 3 as Offset, Buffer.from("state@3"));
    wal.write(G2, { meta: { offset: 99 as Offset, term: 4 as Term, config: CONFIG }, data: Buffer.from("snap") }, entries(100, 2, 4), hs(4, 3, 100));
    wal.removeGroup(3 as GroupId);
    await wal.sync();
    const before = [image(wal.storage(G1)), image(wal.storage(G2))];
    expect(wal.storage(G1)!.lastOffset()).toBe(8);

    fs = fs.crash("drop");
    const again = await open(fs);
    expect([image(again.storage(G1)), image(again.storage(G2))]).toEqual(before);
    expect(again.storedGroups()).toEqual([G1, G2]);
    expect(again.storage(G1)!.firstOffset()).toBe(4);
  });

  it("loses only what was never synced", async () => {
    let fs = new SimStorageFs();
    const wal = await open(fs);
    wal.openGroup(G1, CONFIG);
    wal.write(G1, null, entries(0, 5, 1), hs(1, 1, -1));
    await wal.sync();
    const synced = image(wal.storage(G1));
    wal.write(G1, null, entries(5, 5, 1), hs(1, 1, 4));
    fs = fs.crash("drop");
    const again = await open(fs);
    expect(image(again.storage(G1))).toBe(synced);
  });

  it("after a crash during an fsync, recovers the synced state plus a prefix of the unsynced records", async () => {
    for (let seed = 1; seed <= 60; seed++) {
      let fs = new SimStorageFs();
      const wal = await open(fs);
      wal.openGroup(G1, CONFIG);
      const states: string[] = [];
      let next = 0;
      let term = 1;
      const step = (i: number): void => {
        if (i % 3 === 2) wal.write(G1, null, [], hs(term, 1, next - 1));
        else {
          const n = 1 + (i % 4);
          const rewind = i % 5 === 4 && next > 2 ? 2 : 0; // sometimes overwrite a suffix
          term += rewind > 0 ? 1 : 0;
          wal.write(G1, null, entries(next - rewind, n, term, 20 + i * 7), null);
          next = next - rewind + n;
        }
        states.push(image(wal.storage(G1)));
      };
      for (let i = 0; i < 6; i++) step(i);
      await wal.sync();
      const syncedIndex = states.length - 1;
      for (let i = 6; i < 14; i++) step(i);
      fs.holdSyncs();
      const pending = wal.sync().catch((e: unknown) => e);
      while (fs.heldSyncCount === 0) await Promise.resolve();
      fs = fs.crash("prefix", seededRandom(seed));
      expect(await pending).toBeInstanceOf(Error);

      const again = await open(fs);
      const recovered = image(again.storage(G1));
      expect(states.slice(syncedIndex), `seed ${seed}`).toContain(recovered);
    }
  });

  it("cuts a torn or corrupt tail record and keeps everything before it", async () => {
    for (const damage of ["cut", "flip"] as const) {
      let fs = new SimStorageFs();
      const wal = await open(fs);
      wal.openGroup(G1, CONFIG);
      wal.write(G1, null, entries(0, 3, 1), null);
      await wal.sync();
      const kept = image(wal.storage(G1));
      wal.write(G1, null, entries(3, 1, 1, 500), null);
      await wal.sync();
      const path = `${DIR}/raft-wal-000000000001.log`;
      const size = fs.content(path).length;
      if (damage === "cut") fs.cutFile(path, size - 100);
      else fs.corruptByte(path, size - 100);

      const again = await open(fs);
      expect(image(again.storage(G1)), damage).toBe(kept);
      expect(again.stats.recoveredTornBytes).toBeGreaterThan(0);
      expect(fs.content(path).length).toBe(size - again.stats.recoveredTornBytes - (damage === "cut" ? 100 : 0));
      // The tail was cut off the file, so new writes follow valid records.
      again.write(G1, null, entries(3, 2, 1), null);
      await again.sync();
      const expected = image(again.storage(G1));
      fs = fs.crash("drop");
      expect(image((await open(fs)).storage(G1))).toBe(expected);
    }
  });

  it("rolls segments with a checkpoint of the live state, deletes old ones, and recovers the same state", async () => {
    let fs = new SimStorageFs();
    const wal = await open(fs, 8 * 1024);
    wal.openGroup(G1, CONFIG);
    wal.openGroup(G2, CONFIG);
    let next = 0;
    for (let round = 0; round < 40; round++) {
      wal.write(G1, null, entries(next, 4, 1, 400), hs(1, 1, next + 3));
      wal.write(G2, null, [], hs(round + 1, 2, -1));
      next += 4;
      if (next > 8) wal.compact(G1, (next - 5) as Offset, new Uint8Array(0));
      await wal.sync();
    }
    expect(wal.stats.rolls).toBeGreaterThan(2);
    const names = await fs.readdir(DIR);
    expect(names).toEqual([`raft-wal-${String(wal.stats.segment).padStart(12, "0")}.log`]);
    const before = [image(wal.storage(G1)), image(wal.storage(G2))];
    fs = fs.crash("drop");
    const again = await open(fs, 8 * 1024);
    expect([image(again.storage(G1)), image(again.storage(G2))]).toEqual(before);
  });

  it("rolls correctly while writes are queued during an fsync (the checkpoint never double-applies them)", async () => {
    let fs = new SimStorageFs();
    const wal = await open(fs, 2048);
    wal.openGroup(G1, CONFIG);
    wal.write(G1, null, entries(0, 8, 1, 400), hs(1, 1, 7));
    fs.holdSyncs();
    const first = wal.sync();
    while (fs.heldSyncCount === 0) await Promise.resolve();
    // Queued while the segment is over its size and an fsync is in flight.
    wal.write(G1, null, entries(8, 2, 1, 20), hs(1, 1, 9));
    wal.compact(G1, 9 as Offset, new Uint8Array(0));
    fs.releaseSyncs();
    await first;
    await wal.sync();
    const before = image(wal.storage(G1));
    fs = fs.crash("drop");
    expect(image((await open(fs, 2048)).storage(G1))).toBe(before);
  });

  it("ignores a newer segment whose checkpoint never completed (a crash mid-roll)", async () => {
    let fs = new SimStorageFs();
    const wal = await open(fs);
    wal.openGroup(G1, CONFIG);
    wal.write(G1, null, entries(0, 3, 1), hs(1, 1, 2));
    await wal.sync();
    const before = image(wal.storage(G1));
    // What a roll cut short leaves: the next segment with part of a checkpoint and no end marker.
    const partial = await fs.open(`${DIR}/raft-wal-000000000002.log`, "create");
    const w = startFrame(1);
    w.u32(G1);
    w.i64(-1);
    w.i64(0);
    w.u16(0);
    w.u16(0);
    w.u32(0);
    await partial.write(finishFrame(w), 0);
    await partial.datasync();
    await fs.fsyncDir(DIR);
    fs = fs.crash("drop");
    const again = await open(fs);
    expect(image(again.storage(G1))).toBe(before);
    expect(await fs.readdir(DIR)).toEqual(["raft-wal-000000000001.log"]);
  });

  it("turns an fsync failure into StorageError and refuses further writes; synced data survives", async () => {
    let fs = new SimStorageFs();
    const wal = await open(fs);
    wal.openGroup(G1, CONFIG);
    wal.write(G1, null, entries(0, 2, 1), null);
    await wal.sync();
    const synced = image(wal.storage(G1));
    fs.injectFault({ op: "datasync", code: "EIO" });
    wal.write(G1, null, entries(2, 2, 1), null);
    await expect(wal.sync()).rejects.toBeInstanceOf(StorageError);
    expect(() => wal.write(G1, null, entries(4, 1, 1), null)).toThrow(StorageError);
    await expect(wal.sync()).rejects.toBeInstanceOf(StorageError);
    fs = fs.crash("drop");
    expect(image((await open(fs)).storage(G1))).toBe(synced);
  });

  it("rejects a CRC-valid record that does not fit the log with StorageError", async () => {
    const fs = new SimStorageFs();
    await fs.mkdir(DIR);
    const file = await fs.open(`${DIR}/raft-wal-000000000001.log`, "create");
    const checkpoint = startFrame(7);
    checkpoint.u32(0);
    checkpoint.u32(0);
    const orphan = startFrame(3); // a hard state for a group that was never created
    orphan.u32(G1);
    orphan.i64(1);
    orphan.i32(1);
    orphan.i64(-1);
    await file.write([...finishFrame(checkpoint), ...finishFrame(orphan)], 0);
    await expect(open(fs)).rejects.toThrow(/no base record/);
    await expect(open(fs)).rejects.toBeInstanceOf(StorageError);
  });
});
