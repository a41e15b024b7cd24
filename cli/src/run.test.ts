// Proves the dispatcher's contract without a broker: help and version on stdout with exit 0,
// usage errors on stderr with exit 2 and a pointer to --help, operational failures (nothing
// listening) as typed one-line errors with exit 1, and option checks before any connection.
import { describe, expect, it } from "vitest";
import { freePort } from "../../test/e2e/broker-process.js";
import { runCli } from "./run.js";
import { memoryIo } from "./testing/memory-io.js";

describe("runCli", () => {
  it("prints help and version with exit code 0", async () => {
    const io = memoryIo();
    expect(await runCli(["--help"], io)).toBe(0);
    expect(io.stdoutText()).toContain("topic create");
    const sub = memoryIo();
    expect(await runCli(["topic", "create", "--help"], sub)).toBe(0);
    expect(sub.stdoutText()).toContain("--replication-factor");
    const version = memoryIo();
    expect(await runCli(["--version"], version)).toBe(0);
    expect(version.stdoutText()).toMatch(/^sluice \d+\.\d+\.\d+\n$/);
  });

  it("reports usage errors on stderr with exit code 2", async () => {
    const io = memoryIo();
    expect(await runCli(["consume", "t", "--from-beginning", "--from-end"], io)).toBe(2);
    expect(io.stderrText()).toContain("choose one start position");
    expect(io.stderrText()).toContain("run 'sluice consume --help' for usage");
    expect(io.stdoutText()).toBe("");
  });

  it("checks option values before connecting", async () => {
    const cases: [string[], string][] = [
      [["topic", "list", "--output", "yaml"], "--output must be table or json"],
      [["topic", "list", "--bootstrap", "nowhere"], "--bootstrap"],
      [["produce", "t", "--compression", "brotli"], "--compression must be"],
      [["produce", "t", "--acks", "2"], "--acks must be"],
      [["consume", "t", "--format", "%z"], "unknown format directive %z"],
      [["consume", "t", "--from-timestamp", "soon"], "--from-timestamp needs"],
      [["topic", "alter", "t"], "nothing to change"],
      [["topic", "create", "t", "--partitions", "0"], "--partitions must be at least 1"],
      [["topic", "create", "t", "--config", "novalue"], "--config needs key=value"],
    ];
    for (const [argv, message] of cases) {
      const io = memoryIo();
      expect(await runCli(argv, io), argv.join(" ")).toBe(2);
      expect(io.stderrText()).toContain(message);
    }
  });

  it("reports a broker that is not there as a one-line network error with exit code 1", async () => {
    const port = await freePort();
    const io = memoryIo({ env: { SLUICE_BOOTSTRAP: `127.0.0.1:${port}` } });
    expect(await runCli(["topic", "list"], io)).toBe(1);
    expect(io.stderrText()).toMatch(/^sluice: error: NETWORK_EXCEPTION: .*127\.0\.0\.1:\d+/);
    expect(io.stderrText().trim().split("\n")).toHaveLength(1);
  });
});
