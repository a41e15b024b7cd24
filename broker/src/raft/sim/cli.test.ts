// Proves `npm run sim` runs seeds, prints the replay command of a failing seed, and ends with the JSON line the issue specifies.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));

function run(args: string[]): { code: number | null; lines: string[] } {
  // No --conditions flag: the CLI must re-execute itself with it (as the root script may not pass it).
  const child = spawnSync(process.execPath, ["--import", "tsx", cli, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: child.status, lines: `${child.stdout}`.trim().split("\n") };
}

describe("sim CLI", () => {
  it("ends with one JSON object of metrics and exits 0 when every seed passes", { timeout: 90_000 }, () => {
    const { code, lines } = run(["--seeds", "3", "--steps", "800"]);
    expect(code).toBe(0);
    const last = JSON.parse(lines[lines.length - 1] as string) as { bench: string; metrics: Record<string, number> };
    expect(last.bench).toBe("sim");
    expect(last.metrics).toMatchObject({ seeds: 3, steps: 2400, violations: 0 });
    expect(last.metrics["steps_per_s"]).toBeGreaterThan(0);
  });

  it("reports a failing seed with its replay command and exits 1", { timeout: 90_000 }, () => {
    const { code, lines } = run(["--seeds", "30", "--steps", "5000", "--mutant", "vote-ignores-log"]);
    expect(code).toBe(1);
    expect(lines.some((l) => l.includes("replay: npm run sim -- --seed"))).toBe(true);
    const last = JSON.parse(lines[lines.length - 1] as string) as { metrics: Record<string, number> };
    expect(last.metrics["violations"]).toBeGreaterThan(0);
  });

  it("rejects unknown options", { timeout: 90_000 }, () => {
    const { code } = run(["--sedes", "3"]);
    expect(code).toBe(2);
  });
});
