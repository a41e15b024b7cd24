/**
 * Test helper: runs the real broker as a child process (`node --import tsx broker/src/main.ts`)
 * in a temp data directory on loopback, waits for its "broker ready" log line, and reads the bound
 * gRPC and metrics ports from it. Stops it with SIGTERM (graceful) or SIGKILL (crash), and
 * restarts it on the same data directory.
 *
 * Every JSON log line is kept (`lines`) so tests can assert on events such as
 * `recoveredUncleanly` in the ready line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const mainScript = join(repoRoot, "broker", "src", "main.ts");

/** tsx compiles the broker on start; on a busy 2-core machine that can take a while. */
const READY_TIMEOUT_MS = 60_000;

export interface LogLine {
  readonly msg?: string;
  readonly level?: string;
  readonly [key: string]: unknown;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface BrokerProcess {
  readonly dataDir: string;
  readonly port: number;
  /** The data listener's port (-1 when it is off). */
  readonly dataPort: number;
  readonly metricsPort: number;
  readonly bootstrap: string;
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly lines: LogLine[];
  readonly ready: LogLine;
  stderr(): string;
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<ExitInfo>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill9(): Promise<ExitInfo>;
}

export interface StartOptions {
  /** Reuse a data directory (restart); a fresh temp dir otherwise. */
  readonly dataDir?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Extra node options before the script (e.g. --cpu-prof for benchmarks). */
  readonly nodeArgs?: readonly string[];
  /** gRPC port; 0 (the default) lets the OS pick one. A fixed port lets a restart keep its address. */
  readonly port?: number;
  /**
   * Data listener port; 0 (the default) lets the OS pick one, -1 turns it off. A restart that
   * must keep the broker's data address passes a fixed one (`freePort()`).
   */
  readonly dataPort?: number;
}

/** A port that was free a moment ago (for restarting a broker on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "sluice-e2e-"));
}

export async function removeDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function startBrokerProcess(options: StartOptions = {}): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SLUICE_")) env[k] = v;
  Object.assign(env, options.env ?? {});
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--conditions=source", "--import", "tsx", mainScript, "--data-dir", dataDir, "--host", "127.0.0.1", "--port", String(options.port ?? 0), "--data-port", String(options.dataPort ?? 0), "--metrics-port", "0", ...(options.args ?? [])],
    { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: LogLine[] = [];
  let stderr = "";
  let pending = "";
  let onLine: ((line: LogLine) => void) | undefined;
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (text.trim().length === 0) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: `(non-JSON stdout) ${text}` };
      }
      lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  // Never leave a broker behind when the test process dies first.
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const exited = new Promise<ExitInfo>((resolve) =>
    child.once("exit", (code, signal) => {
      process.off("exit", killOnExit);
      resolve({ code, signal });
    }),
  );

  const ready = await new Promise<LogLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker not ready after ${READY_TIMEOUT_MS} ms; stderr:\n${stderr}`));
    }, READY_TIMEOUT_MS);
    onLine = (line) => {
      if (line.msg === "broker ready") {
        clearTimeout(timer);
        resolve(line);
      }
    };
    void exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`broker exited before ready (code ${info.code}, signal ${info.signal}); stderr:\n${stderr}`));
    });
  });
  onLine = undefined;

  const port = Number(ready["port"]);
  const dataPort = Number(ready["dataPort"]);
  const metricsPort = Number(ready["metricsPort"]);
  const signalAndWait = async (signal: NodeJS.Signals): Promise<ExitInfo> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    dataDir,
    port,
    dataPort,
    metricsPort,
    bootstrap: `127.0.0.1:${port}`,
    child,
    lines,
    ready,
    stderr: () => stderr,
    exited,
    stop: () => signalAndWait("SIGTERM"),
    kill9: () => signalAndWait("SIGKILL"),
  };
}
