/**
 * Image smoke test without a container engine: replays the repository's Dockerfile, stage by
 * stage, in temp folders, then starts the broker from the runtime stage's result and checks it
 * serves. test/image/image.test.ts runs it in the unit test run; `bash scripts/image-smoke.sh`
 * runs it alone with a readable log. About 70 s on 2 busy cores: two `npm ci` (one compiling
 * zstd-napi) and a full build.
 *
 * How each Dockerfile instruction is replayed (test/image/dockerfile.ts reads the file):
 *   FROM image        an empty stage root folder; FROM <stage> starts from a copy of that stage.
 *   WORKDIR, ENV      the working folder (inside the stage root) and the environment of RUN steps
 *                     (npm_config_nodedir only when that folder holds Node's headers here).
 *   COPY              from the build context honouring .dockerignore, or --from another stage's
 *                     root keeping symlinks; Docker's rules for directory sources and "dest/".
 *   RUN npm ...       run for real in the stage's working folder (npm's cache is used, with
 *                     npm_config_prefer_offline=true so no network is needed when it is warm).
 *   RUN chmod, mkdir  run for real on the stage's files; `chown` too when we are root.
 *   RUN ln -s T L     the symlink is made inside the stage root (L → root+T), so the entrypoints
 *                     are executed through their links, shebang and execute bit included.
 *   RUN apt-get, groupadd, useradd, rm -rf /var/lib/apt/lists/*
 *                     system steps: checked for (the compilers must be on this machine) and
 *                     skipped. Any other command fails the run: teach this file about it.
 *   USER uid:gid      the broker runs as that user when we are root (files must be readable,
 *                     the data folder writable, by a non-root user); otherwise as ourselves.
 *   CMD               the broker starts with the CMD's flags, except --host (127.0.0.1: only
 *                     loopback here) and --data-dir (inside the stage root), plus --port 0
 *                     --metrics-port 0.
 * Node: the image runs Node 24; this replays with the machine's node (see the first line).
 *
 * Checks after the replay: the runtime's node_modules holds exactly the lockfile's production
 * packages (no dev package, every non-optional production one) and a compiled zstd-napi; the
 * broker answers the gRPC health check SERVING (overall and sluice.v1.Sluice) and serves
 * /metrics; the runtime's `sluice` CLI creates a topic, produces zstd-compressed records and
 * consumes them back; SIGTERM stops the broker with exit 0; `sluice-operator` links to
 * operator/dist/main.js and runs: --help and --version exit 0, an unknown flag exits 2.
 *
 * `runImageSmoke` returns one result per check; smoke-main.ts is the command line around it.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { grpcChannelOptions, loadProtos } from "@sluice/protocol";
import { repoRoot } from "../k8s/control-plane.js";
import {
  parseCopy,
  parseDockerfile,
  parseDockerignore,
  parseEnv,
  parseExecForm,
  parseSymlink,
  splitRun,
  type IgnoreMatcher,
  type Instruction,
  type Stage,
} from "./dockerfile.js";

/** npm ci of the whole workspace on 2 busy cores: ~40 s warm; zstd-napi compiles inside it. */
const NPM_STEP_TIMEOUT_MS = 10 * 60_000;
/** The built broker starts in well under a second; tsx is not involved. */
const BROKER_READY_TIMEOUT_MS = 30_000;
/** One CLI command against a local broker. */
const CLI_TIMEOUT_MS = 60_000;
/** Graceful stop of an idle broker. */
const BROKER_STOP_TIMEOUT_MS = 15_000;
const SMOKE_TOPIC = "image-smoke";

class SmokeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SmokeError";
  }
}

type Logger = (message: string) => void;
let log: Logger = () => undefined;

interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runCommand(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; stdin?: string; uid?: number; gid?: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024, uid: options.uid, gid: options.gid },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") {
          reject(new SmokeError(`${file} ${args.join(" ")}: ${error.message}\n${stderr}`, { cause: error }));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    else child.stdin?.end();
  });
}

/** The environment of replayed steps: ours minus SLUICE_* (broker config) plus the stage's ENV. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SLUICE_") && v !== undefined) env[k] = v;
  env["npm_config_prefer_offline"] = "true";
  // node-gyp (zstd-napi) needs Node's headers; Debian's nodejs keeps them under /usr (as .ci/run says).
  if (env["npm_config_nodedir"] === undefined && existsSync("/usr/include/node/node_api.h")) env["npm_config_nodedir"] = "/usr";
  return env;
}

interface StageState {
  readonly name: string;
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number } | undefined;
  cmd: string[] | undefined;
}

/** A container path inside a stage's root folder. */
function inRoot(state: StageState, containerPath: string): string {
  const absolute = containerPath.startsWith("/") ? containerPath : join(state.workdir, containerPath);
  return join(state.root, absolute);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Copies one context source (file or directory), leaving out what .dockerignore excludes. */
async function copyFromContext(source: string, target: string, ignored: IgnoreMatcher): Promise<void> {
  const from = join(repoRoot, source);
  if (!existsSync(from)) throw new SmokeError(`COPY source ${source} does not exist in the build context`);
  if (ignored(source.replace(/\/$/, ""))) throw new SmokeError(`COPY source ${source} is excluded by .dockerignore`);
  await cp(from, target, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (path) => path === from || !ignored(relative(repoRoot, path)),
  });
}

async function replayCopy(state: StageState, instruction: Instruction, stages: ReadonlyMap<string, StageState>, ignored: IgnoreMatcher): Promise<void> {
  const copy = parseCopy(instruction);
  const destIsDir = copy.dest.endsWith("/") || copy.dest === "." || copy.sources.length > 1;
  const dest = inRoot(state, copy.dest);
  for (const source of copy.sources) {
    let from: string;
    if (copy.from === undefined) {
      from = join(repoRoot, source);
    } else {
      const other = stages.get(copy.from);
      if (other === undefined) throw new SmokeError(`line ${instruction.line}: COPY --from=${copy.from}: no such stage replayed`);
      from = join(other.root, source);
      if (!existsSync(from)) throw new SmokeError(`line ${instruction.line}: COPY --from=${copy.from} ${source}: not in that stage`);
    }
    // Docker: a directory source copies its contents; a file lands in dest/ (or becomes dest).
    const target = (await isDirectory(from)) ? dest : destIsDir ? join(dest, source.split("/").filter((p) => p !== "").pop() ?? "") : dest;
    await mkdir((await isDirectory(from)) ? target : dirname(target), { recursive: true });
    if (copy.from === undefined) await copyFromContext(source, target, ignored);
    else await cp(from, target, { recursive: true, verbatimSymlinks: true });
  }
}

async function commandExists(name: string): Promise<boolean> {
  const result = await runCommand("sh", ["-c", `command -v ${name}`], { cwd: repoRoot, env: process.env, timeoutMs: 10_000 });
  return result.code === 0;
}

async function replayRun(state: StageState, instruction: Instruction): Promise<void> {
  const amRoot = process.getuid?.() === 0;
  for (const command of splitRun(instruction)) {
    const words = command.split(/\s+/);
    const [head = "", ...rest] = words;
    const link = parseSymlink(command);
    if (head === "npm") {
      const started = performance.now();
      log(`${state.name}: ${command} ...`);
      const result = await runCommand("npm", rest, {
        cwd: join(state.root, state.workdir),
        env: { ...baseEnv(), ...state.env },
        timeoutMs: NPM_STEP_TIMEOUT_MS,
      });
      if (result.code !== 0) throw new SmokeError(`line ${instruction.line}: ${command} failed (exit ${result.code})\n${result.stdout}\n${result.stderr}`);
      log(`${state.name}: ${command} ok in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } else if (head === "chmod") {
      const [mode = "", ...paths] = rest;
      for (const path of paths) await chmod(inRoot(state, path), Number.parseInt(mode, 8));
    } else if (head === "mkdir" && rest[0] === "-p") {
      for (const path of rest.slice(1)) await mkdir(inRoot(state, path), { recursive: true });
    } else if (head === "chown") {
      const [owner = "", ...paths] = rest;
      const [uid, gid] = owner.split(":").map(Number);
      if (amRoot && uid !== undefined && gid !== undefined) for (const path of paths) await chown(inRoot(state, path), uid, gid);
    } else if (link !== undefined) {
      const at = join(state.root, link.link);
      await mkdir(dirname(at), { recursive: true });
      await symlink(join(state.root, link.target), at);
    } else if (head === "apt-get" && rest[0] === "install") {
      const packages = rest.filter((w) => !w.startsWith("-") && w !== "install");
      const binaries: Record<string, string> = { python3: "python3", make: "make", "g++": "g++" };
      for (const p of packages) {
        const binary = binaries[p];
        if (binary === undefined) throw new SmokeError(`line ${instruction.line}: apt-get installs ${p}; tell the smoke test which binary checks it`);
        if (!(await commandExists(binary))) throw new SmokeError(`${binary} (Debian ${p}) is needed to replay stage ${state.name}; install it`);
      }
      log(`${state.name}: ${command} (system step: ${packages.join(", ")} present here)`);
    } else if ((head === "apt-get" && rest[0] === "update") || command === "rm -rf /var/lib/apt/lists/*" || head === "groupadd" || head === "useradd") {
      log(`${state.name}: ${command} (system step, skipped)`);
    } else {
      throw new SmokeError(`line ${instruction.line}: the smoke test does not know how to replay "${command}"`);
    }
  }
}

async function replay(stagesInFile: readonly Stage[], work: string, ignored: IgnoreMatcher): Promise<Map<string, StageState>> {
  const states = new Map<string, StageState>();
  for (const stage of stagesInFile) {
    const root = join(work, "stages", stage.name);
    const parent = stage.fromStage ? states.get(stage.base) : undefined;
    if (parent !== undefined) {
      await cp(parent.root, root, { recursive: true, verbatimSymlinks: true });
    } else {
      await mkdir(root, { recursive: true });
    }
    const state: StageState = {
      name: stage.name,
      root,
      workdir: parent?.workdir ?? "/",
      env: { ...(parent?.env ?? {}) },
      user: parent?.user,
      cmd: parent?.cmd,
    };
    log(`stage ${stage.name} (FROM ${stage.base})`);
    for (const instruction of stage.instructions) {
      switch (instruction.keyword) {
        case "WORKDIR":
          state.workdir = instruction.args.startsWith("/") ? instruction.args : join(state.workdir, instruction.args);
          await mkdir(join(root, state.workdir), { recursive: true });
          break;
        case "ENV": {
          const env = parseEnv(instruction);
          // Node's headers sit where the image's Node is installed; this machine's Node may keep
          // them elsewhere (Debian: /usr, set by scripts/image-smoke.sh as in .ci/run).
          const nodedir = env["npm_config_nodedir"];
          if (nodedir !== undefined && !existsSync(join(nodedir, "include", "node", "node_api.h"))) {
            log(`${stage.name}: ENV npm_config_nodedir=${nodedir} has no Node headers here; keeping ${baseEnv()["npm_config_nodedir"] ?? "npm's default"}`);
            delete env["npm_config_nodedir"];
          }
          Object.assign(state.env, env);
          break;
        }
        case "COPY":
          await replayCopy(state, instruction, states, ignored);
          break;
        case "RUN":
          await replayRun(state, instruction);
          break;
        case "USER": {
          const [uid, gid] = instruction.args.split(":").map(Number);
          if (uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
            throw new SmokeError(`line ${instruction.line}: USER must be numeric uid:gid, got ${instruction.args}`);
          }
          state.user = { uid, gid };
          break;
        }
        case "CMD":
          state.cmd = parseExecForm(instruction);
          break;
        case "EXPOSE":
        case "LABEL":
        case "ARG":
          break;
        default:
          throw new SmokeError(`line ${instruction.line}: cannot replay ${instruction.keyword}`);
      }
    }
    states.set(stage.name, state);
  }
  return states;
}

// ---------------------------------------------------------------------------------------------
// Checks on the result

interface LockPackage {
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly devOptional?: boolean;
  readonly link?: boolean;
}

async function checkProductionModules(runtime: StageState): Promise<string> {
  const app = join(runtime.root, runtime.workdir);
  const lock = JSON.parse(await readFile(join(app, "package-lock.json"), "utf8")) as { packages: Record<string, LockPackage> };
  const missing: string[] = [];
  const unwanted: string[] = [];
  let production = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith("node_modules/")) continue;
    const present = existsSync(join(app, path));
    if (entry.dev === true) {
      if (present) unwanted.push(path);
    } else if (entry.optional !== true && entry.devOptional !== true) {
      production++;
      if (!present) missing.push(path);
    }
  }
  if (unwanted.length > 0) throw new SmokeError(`dev dependencies in the runtime stage: ${unwanted.slice(0, 20).join(", ")}`);
  if (missing.length > 0) throw new SmokeError(`production dependencies missing from the runtime stage: ${missing.join(", ")}`);
  for (const w of await readdir(app)) {
    if (existsSync(join(app, w, "node_modules"))) {
      throw new SmokeError(`${w}/node_modules exists in the runtime stage: npm did not hoist everything; the Dockerfile must copy it`);
    }
  }
  const binding = join(app, "node_modules", "zstd-napi", "build", "Release", "binding.node");
  if (!existsSync(binding)) throw new SmokeError("zstd-napi's native binding was not compiled in prod-deps (build/Release/binding.node missing)");
  return `${production} production packages present, no dev package, zstd-napi compiled`;
}

/** CMD's flags with `overrides` replacing values (or appended). */
function commandLine(cmd: readonly string[], overrides: Readonly<Record<string, string>>): string[] {
  const out = [...cmd];
  for (const [flag, value] of Object.entries(overrides)) {
    const at = out.indexOf(flag);
    if (at >= 0) out[at + 1] = value;
    else out.push(flag, value);
  }
  return out;
}

interface RunningBroker {
  readonly child: ChildProcess;
  readonly port: number;
  readonly metricsPort: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

async function startBroker(runtime: StageState, dataDir: string, user: { uid: number; gid: number } | undefined): Promise<RunningBroker> {
  if (runtime.cmd === undefined) throw new SmokeError("the runtime stage has no CMD");
  const [entry = "", ...flags] = commandLine(runtime.cmd, { "--host": "127.0.0.1", "--data-dir": dataDir, "--port": "0", "--metrics-port": "0" });
  const executable = join(runtime.root, "usr", "local", "bin", entry);
  if (!existsSync(executable)) throw new SmokeError(`CMD ${entry}: no /usr/local/bin/${entry} in the runtime stage`);
  const child = spawn(executable, flags, {
    cwd: join(runtime.root, runtime.workdir),
    env: { ...baseEnv(), ...runtime.env },
    stdio: ["ignore", "pipe", "pipe"],
    uid: user?.uid,
    gid: user?.gid,
  });
  let text = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));
  const ready = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new SmokeError(`broker not ready in ${BROKER_READY_TIMEOUT_MS} ms:\n${text}`));
    }, BROKER_READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("utf8");
      for (const line of text.split("\n")) {
        if (!line.includes('"broker ready"')) continue;
        try {
          const parsed = JSON.parse(line) as { port?: number; metricsPort?: number };
          if (typeof parsed.port === "number" && typeof parsed.metricsPort === "number") {
            clearTimeout(timer);
            resolve({ port: parsed.port, metricsPort: parsed.metricsPort });
          }
        } catch {
          // a partial line: wait for the rest
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new SmokeError(`broker exited before ready (code ${String(code)}, signal ${String(signal)}):\n${text}`));
    });
  });
  return { child, ...ready, exited, output: () => text };
}

async function healthStatus(port: number, service: string): Promise<string> {
  const { health } = loadProtos();
  const client = new health.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), grpcChannelOptions);
  try {
    return await new Promise<string>((resolve, reject) => {
      client.Check({ service }, { deadline: Date.now() + 10_000 }, (error, response) => {
        if (error !== null || response === undefined) reject(error ?? new SmokeError("no health response"));
        else resolve(String(response.status));
      });
    });
  } finally {
    client.close();
  }
}

async function cli(runtime: StageState, args: readonly string[], user: { uid: number; gid: number } | undefined, stdin?: string): Promise<CommandResult> {
  return entrypoint(runtime, "sluice", args, user, stdin);
}

async function operator(runtime: StageState, args: readonly string[], user: { uid: number; gid: number } | undefined): Promise<CommandResult> {
  return entrypoint(runtime, "sluice-operator", args, user);
}

/** Runs /usr/local/bin/<name> of the runtime stage (through its symlink, shebang and execute bit). */
async function entrypoint(
  runtime: StageState,
  name: string,
  args: readonly string[],
  user: { uid: number; gid: number } | undefined,
  stdin?: string,
): Promise<CommandResult> {
  return runCommand(join(runtime.root, "usr", "local", "bin", name), args, {
    cwd: join(runtime.root, runtime.workdir),
    env: { ...baseEnv(), ...runtime.env },
    timeoutMs: CLI_TIMEOUT_MS,
    stdin,
    uid: user?.uid,
    gid: user?.gid,
  });
}

export interface SmokeCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SmokeOptions {
  /** Leave the replayed stages in the temp folder (their path is logged). */
  readonly keep?: boolean;
  /** Progress lines; silent when absent. */
  readonly log?: Logger;
}

/** Replays the Dockerfile and runs every check; never throws for a failed check. */
export async function runImageSmoke(options: SmokeOptions = {}): Promise<SmokeCheck[]> {
  const keep = options.keep === true;
  log = options.log ?? (() => undefined);
  const started = performance.now();
  log(`node ${process.version} replays the Dockerfile (the image itself runs node:24-slim); npm prefers its cache`);
  const dockerfile = parseDockerfile(await readFile(join(repoRoot, "Dockerfile"), "utf8"));
  const ignored = parseDockerignore(await readFile(join(repoRoot, ".dockerignore"), "utf8"));
  const work = await mkdtemp(join(tmpdir(), "sluice-image-smoke-"));
  // Readable by the image's non-root user, like the image's own folders.
  await chmod(work, 0o755);
  const results: SmokeCheck[] = [];
  const check = async (name: string, body: () => Promise<string>): Promise<boolean> => {
    const t0 = performance.now();
    try {
      const detail = await body();
      results.push({ name, ok: true, detail });
      log(`PASS ${name}: ${detail} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      return true;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      results.push({ name, ok: false, detail });
      log(`FAIL ${name}: ${detail}`);
      return false;
    }
  };

  let broker: RunningBroker | undefined;
  try {
    let states = new Map<string, StageState>();
    const replayed = await check("replay every stage of the Dockerfile", async () => {
      states = await replay(dockerfile.stages, work, ignored);
      return `${dockerfile.stages.map((s) => s.name).join(" → ")} in ${work}`;
    });
    const runtime = [...states.values()].pop();
    if (replayed && runtime !== undefined) {
      const amRoot = process.getuid?.() === 0;
      const user = amRoot ? runtime.user : undefined;
      await check("runtime node_modules: production packages only", () => checkProductionModules(runtime));
      const dataDir = join(runtime.root, "var", "lib", "sluice");
      const brokerUp = await check("the CMD starts the broker", async () => {
        broker = await startBroker(runtime, dataDir, user);
        return `port ${broker.port}, metrics ${broker.metricsPort}, as ${user === undefined ? "this user (not root: USER not applied)" : `uid ${user.uid}:${user.gid}`}`;
      });
      if (brokerUp && broker !== undefined) {
        const running = broker;
        await check("gRPC health check says SERVING", async () => {
          const overall = await healthStatus(running.port, "");
          const data = await healthStatus(running.port, "sluice.v1.Sluice");
          if (overall !== "SERVING" || data !== "SERVING") throw new SmokeError(`health: "" ${overall}, sluice.v1.Sluice ${data}`);
          return `"" SERVING, sluice.v1.Sluice SERVING`;
        });
        await check("GET /metrics", async () => {
          const response = await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`);
          const text = await response.text();
          if (response.status !== 200 || !text.includes("sluice_rpc_requests_total")) throw new SmokeError(`status ${response.status}`);
          return `200, ${text.split("\n").filter((l) => l.startsWith("# TYPE")).length} metric families`;
        });
        await check("the runtime's sluice CLI: create a topic, produce with zstd, consume", async () => {
          const bootstrap = ["--bootstrap", `127.0.0.1:${running.port}`];
          const create = await cli(runtime, ["topic", "create", SMOKE_TOPIC, "--partitions", "2", ...bootstrap], user);
          if (create.code !== 0) throw new SmokeError(`topic create: exit ${create.code}\n${create.stdout}${create.stderr}`);
          const produce = await cli(runtime, ["produce", SMOKE_TOPIC, "-z", "zstd", ...bootstrap], user, "alpha\nbeta\ngamma\n");
          if (produce.code !== 0) throw new SmokeError(`produce: exit ${produce.code}\n${produce.stdout}${produce.stderr}`);
          const consume = await cli(runtime, ["consume", SMOKE_TOPIC, "--from-beginning", "-n", "3", ...bootstrap], user);
          if (consume.code !== 0) throw new SmokeError(`consume: exit ${consume.code}\n${consume.stdout}${consume.stderr}`);
          const got = consume.stdout.split("\n").filter((l) => l.length > 0).sort();
          if (JSON.stringify(got) !== JSON.stringify(["alpha", "beta", "gamma"])) throw new SmokeError(`consumed ${JSON.stringify(got)}`);
          return "3 records round-tripped";
        });
        await check("SIGTERM stops the broker cleanly", async () => {
          running.child.kill("SIGTERM");
          const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new SmokeError("no exit after SIGTERM")), BROKER_STOP_TIMEOUT_MS).unref());
          const exit = await Promise.race([running.exited, timer]);
          if (exit.code !== 0) throw new SmokeError(`exit ${String(exit.code)} signal ${String(exit.signal)}\n${running.output().slice(-2000)}`);
          return "exit 0";
        });
      }
      await check("sluice-operator --help and --version: the operator entrypoint runs", async () => {
        const link = join(runtime.root, "usr", "local", "bin", "sluice-operator");
        if (!(await lstat(link)).isSymbolicLink()) throw new SmokeError("sluice-operator is not a symlink");
        const target = await readlink(link);
        const expected = join(runtime.root, "app", "operator", "dist", "main.js");
        if (target !== expected) throw new SmokeError(`points at ${target}, not ${expected}`);
        const help = await operator(runtime, ["--help"], user);
        if (help.code !== 0 || !help.stdout.includes("sluice-operator")) throw new SmokeError(`--help: exit ${help.code}\n${help.stdout}${help.stderr}`);
        const version = await operator(runtime, ["--version"], user);
        if (version.code !== 0 || version.stdout.trim() === "") throw new SmokeError(`--version: exit ${version.code}\n${version.stdout}${version.stderr}`);
        // Bad flags are refused with the documented exit code 2, so --help's 0 is not a stub's.
        const bad = await operator(runtime, ["--no-such-flag"], user);
        if (bad.code !== 2) throw new SmokeError(`--no-such-flag: exit ${bad.code} (expected 2)\n${bad.stderr}`);
        return `--help exit 0 (${help.stdout.split("\n").length} lines), version ${version.stdout.trim()}, bad flag exit 2`;
      });
    }
  } finally {
    if (broker !== undefined && broker.child.exitCode === null && broker.child.signalCode === null) broker.child.kill("SIGKILL");
    if (keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return results;
}
