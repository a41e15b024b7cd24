// Proves checkpoint files round-trip, damaged ones read as missing, and an atomic replace leaves the old or the new content after a crash at any step.
import { describe, expect, it } from "vitest";
import { formatCheckpoint, parseCheckpoint, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { seededRandom } from "./fs/sim-random.js";

describe("checkpoint files", () => {
  it("round-trip and refuse damage", () => {
    const bytes = formatCheckpoint([[3, 100], [5, 250]]);
    expect(parseCheckpoint(bytes, 2)).toEqual([[3, 100], [5, 250]]);
    expect(parseCheckpoint(bytes, 1)).toBeUndefined();
    const flipped = Buffer.from(bytes);
    flipped[4] = "9".charCodeAt(0);
    expect(parseCheckpoint(flipped, 2)).toBeUndefined();
    expect(parseCheckpoint(bytes.subarray(0, bytes.byteLength - 4), 2)).toBeUndefined();
    expect(parseCheckpoint(Buffer.from("0\n1\n7\n"), 1)).toBeUndefined();
    expect(parseCheckpoint(formatCheckpoint([]), 1)).toEqual([]);
  });

  it("an atomic replace leaves either the old or the new content after a crash at any call", async () => {
    for (let crashAt = 1; crashAt <= 8; crashAt++) {
      for (const mode of ["drop", "prefix"] as const) {
        const fs = new SimStorageFs();
        await fs.mkdir("/d");
        await fs.fsyncDir("/");
        await writeCheckpoint(fs, "/d", "cp", [[1]]);
        fs.scheduleCrash(crashAt, mode, seededRandom(crashAt));
        await writeCheckpoint(fs, "/d", "cp", [[2]]).catch(() => undefined);
        fs.cancelScheduledCrash();
        const value = await readCheckpoint(fs.restart(), "/d/cp", 1);
        expect([[[1]], [[2]]]).toContainEqual(value);
      }
    }
  });
});
