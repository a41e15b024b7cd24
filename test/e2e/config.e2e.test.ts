// Proves the `sluice-broker` process reads flags, SLUICE_* environment and a --config file with
// the documented precedence, and refuses bad configuration at start with exit code 2 and a
// message naming the key and the reason.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDataDir, removeDataDir, repoRoot, startBrokerProcess } from "./broker-process.js";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the broker entrypoint to completion (for runs that must exit by themselves). */
function runBroker(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SLUICE_")) childEnv[k] = v;
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(repoRoot, "broker", "src", "main.ts"), ...args], {
    cwd: repoRoot,
    env: { ...childEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

describe("sluice-broker configuration", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeDataDir();
  });
  afterAll(async () => {
    await removeDataDir(dir);
  });

  it("prints usage for --help and exits 0", async () => {
    const run = await runBroker(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("usage: sluice-broker");
    expect(run.stdout).toContain("--data-dir");
    expect(run.stdout).toContain("--log.retention.ms");
  }, 60_000);

  it("exits 2 naming the bad flag, environment variable or file key", async () => {
    const flag = await runBroker(["--data-dir", dir, "--port", "eighty"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--port: must be an integer, got "eighty"');

    const env = await runBroker(["--data-dir", dir], { SLUICE_FSYNC: "sometimes" });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("SLUICE_FSYNC");
    expect(env.stderr).toContain("always | never | interval:<ms>");

    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ "log.retention.mss": 5 }));
    const fromFile = await runBroker(["--data-dir", dir, "--config", file]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain('config file key "log.retention.mss"');
    expect(fromFile.stderr).toContain("did you mean --log.retention.ms?");
  }, 60_000);

  it("applies flags over environment over file", async () => {
    const file = join(dir, "good.json");
    await writeFile(file, JSON.stringify({ fsync: "never", "default-partitions": 3, "broker-id": 5 }));
    const broker = await startBrokerProcess({
      dataDir: dir,
      args: ["--config", file, "--broker-id", "7"],
      env: { SLUICE_FSYNC: "interval:250", SLUICE_BROKER_ID: "6" },
    });
    try {
      expect(broker.ready["fsync"]).toBe("interval:250"); // env over file
      expect(broker.ready["brokerId"]).toBe(7); // flag over env over file
      expect(broker.ready["host"]).toBe("127.0.0.1");
    } finally {
      expect(await broker.stop()).toEqual({ code: 0, signal: null });
    }
  }, 60_000);
});
