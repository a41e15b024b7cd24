// Proves the Raft core behaves exactly as each scenario transcript in core/testdata/ records (regenerate with UPDATE_TRANSCRIPTS=1).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatTranscript, parseTranscript, runTranscript } from "./transcript.js";

const dir = join(fileURLToPath(new URL(".", import.meta.url)), "..", "core", "testdata");
const update = process.env["UPDATE_TRANSCRIPTS"] === "1";
const files = readdirSync(dir).filter((f) => f.endsWith(".txt")).sort();

describe("raft transcripts", () => {
  it("has the classic scenarios", () => {
    for (const name of [
      "split-vote.txt",
      "leader-isolated.txt",
      "partitioned-minority-rejoins.txt",
      "membership-change-during-partition.txt",
      "transfer-to-lagging-follower.txt",
      "snapshot-to-new-learner.txt",
    ]) {
      expect(files).toContain(name);
    }
  });

  for (const file of files) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      const actual = formatTranscript(runTranscript(parseTranscript(text)));
      if (update) writeFileSync(path, actual);
      else expect(actual).toBe(text);
    });
  }
});
