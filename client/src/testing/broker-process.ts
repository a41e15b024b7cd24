/**
 * Starts the real broker (`broker/src/main.ts`) as a child process for end-to-end tests, waits
 * for its "broker ready" log line, and stops it with SIGTERM (clean) or SIGKILL (crash).
 * Loopback only; the data directory is the caller's (temporary) directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const brokerMain = join(repoRoot, "broker", "src", "main.ts");

/** 60 s: a cold start under tsx on a loaded 2-core machine takes several seconds. */
const READY_TIMEOUT_MS = 60_000;

export interface BrokerProcess {
  readonly port: number;
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string;
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<number | null>;
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

export async function startBrokerProcess(dataDir: string, options: { readonly port?: number; readonly args?: readonly string[]; readonly nodeArgs?: readonly string[] } = {}): Promise<BrokerProcess> {
  const args = [...(options.nodeArgs ?? []), "--conditions=source", "--import", "tsx", brokerMain, "--data-dir", dataDir, "--port", String(options.port ?? 0), "--metrics-port", "-1", "--log-level", "info", ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not become ready in ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      for (const line of output.split("\n")) {
        if (!line.includes('"broker ready"')) continue;
        try {
          const parsed = JSON.parse(line) as { port?: number };
          if (typeof parsed.port === "number") {
            clearTimeout(timer);
            resolve(parsed.port);
            return;
          }
        } catch {
          // a partial line; wait for more
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${String(code)} before it was ready:\n${output}`));
    });
  });
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
