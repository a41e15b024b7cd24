/**
 * Test harness for the operator's Kubernetes tests: runs the real operator as a child process
 * (`node --conditions=source --import tsx operator/src/main.ts`, KUBECONFIG = the test control
 * plane's) and reads/writes sluice.io resources through the apiserver as JSON.
 *
 * The operator process: stdout JSON lines are kept (`lines`), "operator started" gives the
 * bound metrics port; `stop()` is SIGTERM (graceful, releases its Lease), `kill9()` a crash.
 * An exit hook SIGKILLs any operator a crashed test run leaves behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { pollUntil, repoRoot } from "./control-plane.js";
import { apiRequest } from "./manifests.js";
import type { LogLine } from "../e2e/broker-process.js";

const MAIN = join(repoRoot, "operator", "src", "main.ts");
/** What `npm run build` produces and the image runs. */
export const OPERATOR_DIST_MAIN = join(repoRoot, "operator", "dist", "main.js");
/** tsx compiles the operator at start; a busy 2-core machine can take a while. */
const START_TIMEOUT_MS = 60_000;

/** One JSON log line, as the broker's (pino) and the operator's look. */
export type { LogLine } from "../e2e/broker-process.js";

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly metricsPort: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Resolves with the first line (seen so far or later) that matches. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  metrics(): Promise<string>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface OperatorProcessOptions {
  /** "source" (default): operator/src through tsx; "dist": the built operator/dist/main.js, as the image runs it. */
  readonly entry?: "source" | "dist";
}

export async function startOperatorProcess(
  kubeconfigPath: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
  options: OperatorProcessOptions = {},
): Promise<OperatorProcess> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("POD_")) childEnv[k] = v;
  Object.assign(childEnv, { KUBECONFIG: kubeconfigPath }, env);
  const child = spawn(
    process.execPath,
    [...(options.entry === "dist" ? [OPERATOR_DIST_MAIN] : ["--conditions=source", "--import", "tsx", MAIN]), "--metrics-host=127.0.0.1", "--metrics-port=0", ...(args.some((a) => a.startsWith("--log-level")) ? [] : ["--log-level=debug"]), ...args],
    { cwd: repoRoot, env: childEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  let stderr = "";
  let pending = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (text.trim() === "") continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: `(non-JSON) ${text}` };
      }
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      process.off("exit", killOnExit);
      resolve({ code, signal });
    }),
  );

  const waitForLine = (match: (line: LogLine) => boolean, timeoutMs = START_TIMEOUT_MS): Promise<LogLine> => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const listener = (line: LogLine): void => {
        if (!match(line)) return;
        cleanup();
        resolve(line);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`operator: no matching log line in ${timeoutMs} ms; stderr:\n${stderr}\nlast lines:\n${lines.slice(-20).map((l) => JSON.stringify(l)).join("\n")}`));
      }, timeoutMs);
      const onExit = (): void => {
        cleanup();
        reject(new Error(`operator exited before the awaited log line; stderr:\n${stderr}\nlast lines:\n${lines.slice(-20).map((l) => JSON.stringify(l)).join("\n")}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
        child.off("exit", onExit);
      };
      listeners.add(listener);
      child.once("exit", onExit);
    });
  };

  const started = await waitForLine((l) => l.msg === "operator started");
  const metricsPort = Number(started["metricsPort"]);
  const signalAndWait = async (signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    lines,
    metricsPort,
    exited,
    stderr: () => stderr,
    waitForLine,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: () => signalAndWait("SIGTERM"),
    kill9: () => signalAndWait("SIGKILL"),
  };
}

// ---------------------------------------------------------------------------------------------
// sluice.io resources as JSON

export type Json = { [key: string]: unknown };

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface SluiceObject {
  readonly metadata: { name: string; namespace: string; uid: string; generation: number; finalizers?: string[]; annotations?: Record<string, string>; resourceVersion: string };
  readonly spec: Json;
  readonly status?: { observedGeneration?: number; topicId?: string; partitions?: number; message?: string; readyBrokers?: number; replicas?: number; bootstrap?: string; conditions?: Condition[] };
}

export type Plural = "clusters" | "topics";

export class SluiceApi {
  constructor(
    private readonly kubeConfig: KubeConfig,
    readonly namespace: string,
  ) {}

  private path(plural: Plural, name?: string): string {
    return `/apis/sluice.io/v1alpha1/namespaces/${this.namespace}/${plural}${name === undefined ? "" : `/${name}`}`;
  }

  async createNamespace(): Promise<void> {
    const r = await apiRequest(this.kubeConfig, "POST", "/api/v1/namespaces", { contentType: "application/json", text: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: this.namespace } }) });
    if (r.status !== 201) throw new Error(`create namespace ${this.namespace}: ${r.status} ${r.body}`);
  }

  async deleteNamespace(): Promise<void> {
    await apiRequest(this.kubeConfig, "DELETE", `/api/v1/namespaces/${this.namespace}`);
  }

  /** POST; returns the HTTP status and the body (a Status on refusal). */
  async create(plural: Plural, object: Json): Promise<{ status: number; body: Json }> {
    const kind = plural === "clusters" ? "Cluster" : "Topic";
    const r = await apiRequest(this.kubeConfig, "POST", this.path(plural), { contentType: "application/json", text: JSON.stringify({ apiVersion: "sluice.io/v1alpha1", kind, ...object }) });
    return { status: r.status, body: JSON.parse(r.body) as Json };
  }

  async mustCreate(plural: Plural, object: Json): Promise<SluiceObject> {
    const r = await this.create(plural, object);
    if (r.status !== 201) throw new Error(`create ${plural}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as unknown as SluiceObject;
  }

  async get(plural: Plural, name: string): Promise<SluiceObject | undefined> {
    const r = await apiRequest(this.kubeConfig, "GET", this.path(plural, name));
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`get ${plural}/${name}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as SluiceObject;
  }

  async patch(plural: Plural, name: string, patch: Json): Promise<{ status: number; body: Json }> {
    const r = await apiRequest(this.kubeConfig, "PATCH", this.path(plural, name), { contentType: "application/merge-patch+json", text: JSON.stringify(patch) });
    return { status: r.status, body: JSON.parse(r.body) as Json };
  }

  async mustPatch(plural: Plural, name: string, patch: Json): Promise<SluiceObject> {
    const r = await this.patch(plural, name, patch);
    if (r.status !== 200) throw new Error(`patch ${plural}/${name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as unknown as SluiceObject;
  }

  async delete(plural: Plural, name: string): Promise<void> {
    const r = await apiRequest(this.kubeConfig, "DELETE", this.path(plural, name));
    if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw new Error(`delete ${plural}/${name}: ${r.status} ${r.body}`);
  }

  /** Polls until `check` returns a value; the failure message shows the object's last state. */
  async waitFor<T>(plural: Plural, name: string, what: string, check: (object: SluiceObject | undefined) => T | undefined, timeoutMs = 60_000): Promise<T> {
    let last: SluiceObject | undefined;
    try {
      return await pollUntil(
        `${plural}/${name}: ${what}`,
        async () => {
          last = await this.get(plural, name);
          return check(last);
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nlast seen: ${JSON.stringify(last?.status ?? last ?? null)}`, { cause: error });
    }
  }

  /** Waits until the Ready condition has `status` (and `reason`, if given) for the current generation. */
  waitForReady(plural: Plural, name: string, status: "True" | "False" = "True", reason?: string, timeoutMs?: number): Promise<SluiceObject> {
    return this.waitFor(
      plural,
      name,
      `Ready=${status}${reason === undefined ? "" : ` (${reason})`}`,
      (o) => {
        const c = condition(o, "Ready");
        return o !== undefined && c !== undefined && c.status === status && (reason === undefined || c.reason === reason) && o.status?.observedGeneration === o.metadata.generation ? o : undefined;
      },
      timeoutMs,
    );
  }

  waitForGone(plural: Plural, name: string, timeoutMs?: number): Promise<true> {
    return this.waitFor(plural, name, "gone", (o) => (o === undefined ? true : undefined), timeoutMs);
  }
}

export function condition(object: SluiceObject | undefined, type: string): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

/** Sum of a Prometheus counter's samples whose labels match `labelPattern` (a regex over the label text). */
export function metricSum(text: string, name: string, labelPattern = /.*/): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    if (!labelPattern.test(match[2] ?? "")) continue;
    sum += Number(match[3]);
  }
  return sum;
}
