// Proves the `sluice` CLI end to end against the real broker process: topic commands (tables
// and JSON), producing keyed lines with headers from a file and consuming them back through
// format templates from every kind of start position, typed failures with exit code 1, and
// the real entry point (main.ts as a child process) reading stdin.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { partitionForKey } from "@sluice/client";
import { repoRoot, startBrokerProcess, type BrokerProcess } from "../../test/e2e/broker-process.js";
import { runCli } from "./run.js";
import { memoryIo } from "./testing/memory-io.js";
import { cliRunner } from "./testing/run-in-memory.js";

let broker: BrokerProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sluice-cli-e2e-"));
  broker = await startBrokerProcess({ dataDir: join(dir, "data") });
});

afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const { sluice, ok } = cliRunner(
  () => broker.bootstrap,
  () => dir,
);

interface Line {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: string;
}

function parseLines(text: string): Line[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const [partition, offset, key, value, headers] = l.split("|");
      return { partition: Number(partition), offset: Number(offset), key: key!, value: value!, headers: headers! };
    });
}

describe("sluice CLI against the real broker", () => {
  it("creates, lists, describes, alters and deletes topics, as tables and as JSON", async () => {
    expect(await ok(["topic", "create", "admin-cli", "--partitions", "2", "--config", "retention.ms=86400000"])).toContain('created topic "admin-cli" (2 partitions');
    expect(await ok(["topic", "list"])).toMatch(/NAME\s+PARTITIONS\s+REPLICATION[\s\S]*admin-cli\s+2\s+1/);
    const listed = JSON.parse(await ok(["topic", "list", "--output", "json"])) as { name: string; partitions: number }[];
    expect(listed.find((t) => t.name === "admin-cli")?.partitions).toBe(2);

    const described = await ok(["topic", "describe", "admin-cli"]);
    expect(described).toMatch(/PARTITION\s+LEADER\s+EPOCH/);
    expect(described).toMatch(/retention\.ms\s+86400000\s+topic/);

    expect(await ok(["topic", "alter", "admin-cli", "--config", "retention.ms=1000", "--partitions", "3"])).toContain("altered topic");
    const [after] = JSON.parse(await ok(["topic", "describe", "admin-cli", "-o", "json"])) as { partitions: unknown[]; configEntries: { name: string; value: string }[] }[];
    expect(after?.partitions).toHaveLength(3);
    expect(after?.configEntries.find((e) => e.name === "retention.ms")?.value).toBe("1000");

    const cluster = await ok(["cluster", "describe"]);
    expect(cluster).toMatch(new RegExp(`BROKER\\s+HOST\\s+PORT[\\s\\S]*0\\s+127\\.0\\.0\\.1\\s+${broker.port}`));

    expect(await ok(["topic", "delete", "admin-cli"])).toContain('deleted topic "admin-cli"');
    expect(await ok(["topic", "list"])).not.toContain("admin-cli");
  });

  it("fails with exit code 1 and the broker's typed error", async () => {
    await ok(["topic", "create", "dup", "--partitions", "1"]);
    const again = await sluice(["topic", "create", "dup"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("TOPIC_ALREADY_EXISTS");
    expect(await ok(["topic", "create", "dup", "--if-not-exists"])).toContain("already exists");
    const bad = await sluice(["topic", "create", "bad name!"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("INVALID_TOPIC_EXCEPTION");
    const missing = await sluice(["produce", "no-such-topic"], "x\n");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("UNKNOWN_TOPIC_OR_PARTITION");
    const badConfig = await sluice(["topic", "alter", "dup", "--config", "retention.ms=-7"]);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain("INVALID_CONFIG");
  });

  it("produces keyed lines with headers from a file and consumes them back with a format template", async () => {
    await ok(["topic", "create", "events", "--partitions", "4"]);
    const lines = Array.from({ length: 300 }, (_, i) => `user-${i % 37}:event ${i}`);
    const file = join(dir, "events.txt");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const producing = await sluice(["produce", "events", "--file", "events.txt", "--key-separator", ":", "--header", "source=file", "-H", "run=1", "--compression", "zstd", "--progress", "-o", "json"]);
    expect(producing.code, producing.stderr).toBe(0);
    const produced = JSON.parse(producing.stdout) as { records: number; partitions: Record<string, number> };
    expect(produced.records).toBe(300);
    expect(producing.stderr).toMatch(/\[#{30}\] 100% .*300 records/); // the progress bar, finished

    const consumed = parseLines(await ok(["consume", "events", "--from-beginning", "--exit", "--format", "%p|%o|%k|%v|%h\\n"]));
    expect(consumed).toHaveLength(300);
    for (let p = 0; p < 4; p++) {
      const mine = consumed.filter((l) => l.partition === p);
      const expected = lines.filter((l) => partitionForKey(Buffer.from(l.split(":")[0]!), 4) === p);
      expect(mine.map((l) => `${l.key}:${l.value}`)).toEqual(expected);
      expect(mine.map((l) => l.offset)).toEqual(expected.map((_, i) => i));
      expect(produced.partitions[String(p)] ?? 0).toBe(expected.length);
    }
    expect(new Set(consumed.map((l) => l.headers))).toEqual(new Set(["source=file,run=1"]));

    const p0 = consumed.filter((l) => l.partition === 0);
    const fromOffset = parseLines(await ok(["consume", "events", "-p", "0", "--offset", "2", "-n", "5", "-f", "%p|%o|%k|%v|%h\\n"]));
    expect(fromOffset.map((l) => l.offset)).toEqual([2, 3, 4, 5, 6]);
    const lastThree = parseLines(await ok(["consume", "events", "-p", "0", "--offset", "-3", "--exit", "-f", "%p|%o|%k|%v|%h\\n"]));
    expect(lastThree.map((l) => l.value)).toEqual(p0.slice(-3).map((l) => l.value));

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await ok(["consume", "events", "--from-timestamp", future, "--exit"])).toBe("");
    const past = await ok(["consume", "events", "--from-timestamp", "2000-01-01T00:00:00Z", "--exit", "-n", "3", "-p", "1"]);
    expect(past.split("\n").filter(Boolean)).toHaveLength(3);

    const json = (await ok(["consume", "events", "--from-beginning", "-n", "2", "-p", "0", "--output", "json"])).trim().split("\n").map((l) => JSON.parse(l) as { offset: number; headers: Record<string, string> });
    expect(json.map((r) => r.offset)).toEqual([0, 1]);
    expect(json[0]?.headers).toEqual({ source: "file", run: "1" });
  });

  it("sluice dev runs a broker in-process that serves the CLI, prints how to connect, and stops cleanly", async () => {
    const io = memoryIo({ cwd: dir });
    const running = runCli(["dev", "--data-dir", "dev-data", "--port", "0", "--metrics-port", "-1"], io);
    await vi.waitFor(() => expect(io.stdoutText()).toContain("Press Ctrl-C to stop."), { timeout: 30_000 });
    const bootstrap = /bootstrap {3}(\S+)/.exec(io.stdoutText())?.[1];
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(io.stdoutText()).toContain(`data dir    ${join(dir, "dev-data")}`);
    const devIo = (stdin?: string) => memoryIo({ env: { SLUICE_BOOTSTRAP: bootstrap! }, cwd: dir, ...(stdin === undefined ? {} : { stdin }) });
    expect(await runCli(["topic", "create", "dev-demo", "--partitions", "2"], devIo())).toBe(0);
    expect(await runCli(["produce", "dev-demo", "-K", ":"], devIo("a:1\nb:2\n"))).toBe(0);
    const consumeIo = devIo();
    expect(await runCli(["consume", "dev-demo", "--from-beginning", "--exit", "-f", "%k=%v\n"], consumeIo)).toBe(0);
    expect(consumeIo.stdoutText().split("\n").filter(Boolean).sort()).toEqual(["a=1", "b=2"]);
    io.stop();
    expect(await running).toBe(0);
    expect(io.stderrText()).toContain("stopped cleanly");
    expect(io.stderrText()).toContain('"msg":"broker stopped"');
  });

  it("runs as a real process: produce lines from stdin, consume them with the default format", async () => {
    await ok(["topic", "create", "piped", "--partitions", "1"]);
    const run = (args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(repoRoot, "cli", "src", "main.ts"), ...args, "--bootstrap", broker.bootstrap], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("error", reject);
        child.on("exit", (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(stdin);
      });
    const produced = await run(["produce", "piped"], "alpha\nbeta\ngamma");
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stderr).toContain("produced 3 records");
    const consumed = await run(["consume", "piped", "--from-beginning", "--exit"], "");
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout).toBe("alpha\nbeta\ngamma\n");
  });
});
