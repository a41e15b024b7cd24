// Proves the Dockerfile is the recipe the project asks for: multi-stage on node:24-slim; a
// compiler only in build stages; `npm ci` + `npm run build`, then production dependencies only;
// every npm workspace's manifest and dist/ copied (a new workspace fails here until the image
// ships it); the broker, CLI and operator entrypoints on PATH; a non-root user (10001) at run
// time; and a .dockerignore that keeps installed and built files out but nothing the recipe
// copies. Also proves the small Dockerfile/.dockerignore reader those checks rely on.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../k8s/control-plane.js";
import {
  DockerfileError,
  parseCopy,
  parseDockerfile,
  parseDockerignore,
  parseEnv,
  parseExecForm,
  parseSymlink,
  splitRun,
  stageNamed,
  type Dockerfile,
  type Stage,
} from "./dockerfile.js";

let dockerfile: Dockerfile;
let ignored: (path: string) => boolean;
let workspaces: string[];

beforeAll(async () => {
  dockerfile = parseDockerfile(await readFile(join(repoRoot, "Dockerfile"), "utf8"));
  ignored = parseDockerignore(await readFile(join(repoRoot, ".dockerignore"), "utf8"));
  workspaces = (JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { workspaces: string[] }).workspaces;
});

const runs = (stage: Stage): string[] => stage.instructions.filter((i) => i.keyword === "RUN").flatMap(splitRun);
const copies = (stage: Stage): ReturnType<typeof parseCopy>[] => stage.instructions.filter((i) => i.keyword === "COPY").map(parseCopy);

describe("the Dockerfile", () => {
  it("has four stages on node:24-slim: a toolchain, build and prod-deps from it, and a fresh runtime", () => {
    expect(dockerfile.stages.map((s) => [s.name, s.base, s.fromStage])).toEqual([
      ["toolchain", "node:24-slim", false],
      ["build", "toolchain", true],
      ["prod-deps", "toolchain", true],
      ["runtime", "node:24-slim", false],
    ]);
  });

  it("installs python3, make and g++ in the toolchain (zstd-napi compiles) and nothing in the runtime stage", () => {
    const toolchain = runs(stageNamed(dockerfile, "toolchain")).find((c) => c.startsWith("apt-get install"));
    expect(toolchain?.split(/\s+/)).toEqual(expect.arrayContaining(["python3", "make", "g++"]));
    const runtime = runs(stageNamed(dockerfile, "runtime"));
    expect(runtime).toContain("chmod 0755 broker/dist/main.js cli/dist/main.js operator/dist/main.js");
    expect(runtime.filter((c) => /apt-get|apt |npm |gcc|g\+\+|make|python/.test(c))).toEqual([]);
  });

  it("builds with npm ci + npm run build, and installs production dependencies with npm ci --omit=dev --workspaces", () => {
    expect(runs(stageNamed(dockerfile, "build"))).toEqual(["npm ci", "npm run build"]);
    expect(runs(stageNamed(dockerfile, "prod-deps"))).toEqual(["npm ci --omit=dev --workspaces"]);
  });

  it("copies every workspace's package.json before npm ci in both install stages, and its sources into build", () => {
    for (const name of ["build", "prod-deps"]) {
      const stage = stageNamed(dockerfile, name);
      const firstRun = stage.instructions.findIndex((i) => i.keyword === "RUN");
      const before = stage.instructions.slice(0, firstRun).filter((i) => i.keyword === "COPY").map(parseCopy);
      const manifests = before.flatMap((c) => c.sources);
      expect(manifests, name).toEqual(expect.arrayContaining(["package.json", "package-lock.json", ...workspaces.map((w) => `${w}/package.json`)]));
    }
    const sources = copies(stageNamed(dockerfile, "build")).flatMap((c) => c.sources);
    for (const w of workspaces) expect(sources).toContain(`${w}/`);
  });

  it("ships each workspace's package.json and dist/ (plus protocol/proto) into the runtime, from the build stages only", () => {
    const runtimeCopies = copies(stageNamed(dockerfile, "runtime"));
    expect(new Set(runtimeCopies.map((c) => c.from))).toEqual(new Set(["build", "prod-deps"]));
    const fromBuild = runtimeCopies.filter((c) => c.from === "build").flatMap((c) => c.sources);
    for (const w of workspaces) {
      expect(fromBuild).toContain(`/app/${w}/package.json`);
      expect(fromBuild).toContain(`/app/${w}/dist`);
    }
    expect(fromBuild).toContain("/app/protocol/proto");
    const fromDeps = runtimeCopies.filter((c) => c.from === "prod-deps").flatMap((c) => c.sources);
    expect(fromDeps).toEqual(["/app/package.json", "/app/package-lock.json", "/app/node_modules"]);
  });

  it("puts sluice-broker, sluice and sluice-operator on PATH, and runs the broker by default", () => {
    const links = runs(stageNamed(dockerfile, "runtime")).map(parseSymlink).filter((l) => l !== undefined);
    expect(links).toEqual([
      { target: "/app/broker/dist/main.js", link: "/usr/local/bin/sluice-broker" },
      { target: "/app/cli/dist/main.js", link: "/usr/local/bin/sluice" },
      { target: "/app/operator/dist/main.js", link: "/usr/local/bin/sluice-operator" },
    ]);
    const cmd = stageNamed(dockerfile, "runtime").instructions.find((i) => i.keyword === "CMD");
    expect(cmd && parseExecForm(cmd)).toEqual(["sluice-broker", "--host", "0.0.0.0", "--data-dir", "/var/lib/sluice"]);
  });

  it("links the entrypoints to the bins the packages declare", async () => {
    const bin = async (w: string): Promise<Record<string, string>> =>
      ((JSON.parse(await readFile(join(repoRoot, w, "package.json"), "utf8")) as { bin?: Record<string, string> }).bin ?? {});
    expect(await bin("broker")).toEqual({ "sluice-broker": "./dist/main.js" });
    expect(await bin("cli")).toEqual({ sluice: "./dist/main.js" });
    expect(await bin("operator")).toEqual({ "sluice-operator": "./dist/main.js" });
  });

  it("runs as uid/gid 10001, set after every RUN, with production NODE_ENV", () => {
    const runtime = stageNamed(dockerfile, "runtime");
    const users = runtime.instructions.filter((i) => i.keyword === "USER");
    expect(users.map((u) => u.args)).toEqual(["10001:10001"]);
    const lastRun = Math.max(...runtime.instructions.filter((i) => i.keyword === "RUN").map((i) => i.line));
    expect(users[0]?.line).toBeGreaterThan(lastRun);
    expect(runs(runtime)).toEqual(
      expect.arrayContaining([
        "groupadd --system --gid 10001 sluice",
        "useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice",
      ]),
    );
    const env = runtime.instructions.filter((i) => i.keyword === "ENV").map(parseEnv);
    expect(env).toEqual([{ NODE_ENV: "production" }]);
  });
});

describe("the .dockerignore", () => {
  it("keeps installed modules, builds, generated code, tests and VCS data out of the context", () => {
    for (const path of ["node_modules/x/index.js", "broker/node_modules/y", "broker/dist/main.js", "protocol/src/gen/data.ts", ".git/HEAD", "broker/src/broker.test.ts", "tmp/scratch"]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it("keeps every file the Dockerfile copies from the context", () => {
    const contextSources = dockerfile.stages.flatMap(copies).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect(contextSources.length).toBeGreaterThan(10);
    for (const source of contextSources) {
      const path = source.replace(/\/$/, "");
      expect(existsSync(join(repoRoot, path)), `${path} exists`).toBe(true);
      expect(ignored(path), `${path} is not ignored`).toBe(false);
    }
    for (const kept of ["broker/src/main.ts", "protocol/proto/sluice/v1/data.proto", "protocol/scripts/gen-types.mjs", "cli/tsconfig.build.json"]) {
      expect(ignored(kept), kept).toBe(false);
    }
  });
});

describe("the Dockerfile reader", () => {
  it("joins continuations, skips comments (also inside a continuation), substitutes ARGs in FROM", () => {
    const parsed = parseDockerfile(
      "# syntax=docker/dockerfile:1\nARG BASE=node:24-slim\nFROM ${BASE} AS one\nRUN a \\\n # note\n && b\nFROM one\nCMD [\"x\", \"y z\"]\n",
    );
    expect(parsed.args).toEqual({ BASE: "node:24-slim" });
    expect(parsed.stages.map((s) => [s.name, s.base, s.fromStage])).toEqual([
      ["one", "node:24-slim", false],
      ["stage-1", "one", true],
    ]);
    const run = parsed.stages[0]?.instructions[0];
    expect(run && splitRun(run)).toEqual(["a", "b"]);
    expect(run?.line).toBe(4);
    const cmd = parsed.stages[1]?.instructions[0];
    expect(cmd && parseExecForm(cmd)).toEqual(["x", "y z"]);
  });

  it("parses COPY --from, ENV pairs and ln -s, and refuses what it does not understand, naming the line", () => {
    const copy = parseCopy({ keyword: "COPY", args: "--from=build /app/a /app/b dest/", line: 1 });
    expect(copy).toEqual({ from: "build", sources: ["/app/a", "/app/b"], dest: "dest/" });
    expect(parseEnv({ keyword: "ENV", args: "A=1 B=two", line: 1 })).toEqual({ A: "1", B: "two" });
    expect(parseSymlink("ln -s /a /b")).toEqual({ target: "/a", link: "/b" });
    expect(parseSymlink("chmod 0755 x")).toBeUndefined();
    expect(() => parseDockerfile("FROM a\nHEALTHCHECK CMD true\n")).toThrow(new DockerfileError("line 2: unsupported instruction HEALTHCHECK"));
    expect(() => parseDockerfile("RUN true\n")).toThrow("line 1: RUN before the first FROM");
    expect(() => parseDockerfile("FROM ${NOPE}\n")).toThrow("line 1: $NOPE is not a declared ARG");
    expect(() => parseDockerfile("FROM a\nRUN x \\\n")).toThrow("ends inside a continued instruction");
    expect(() => parseCopy({ keyword: "COPY", args: "--chown=1:1 a b", line: 7 })).toThrow("line 7: unsupported COPY flag --chown=1:1");
    expect(() => splitRun({ keyword: "RUN", args: "a; b", line: 3 })).toThrow("line 3: RUN uses shell syntax beyond && chains");
    expect(() => parseExecForm({ keyword: "CMD", args: "node x", line: 5 })).toThrow("line 5: CMD must use the exec form");
  });

  it("matches .dockerignore patterns like Docker: *, **, parent folders, and ! exceptions in order", () => {
    const matcher = parseDockerignore("# c\n**/dist\n*.md\n!README.md\ntmp/\nsrc/**/*.snap\n");
    expect(matcher("dist")).toBe(true);
    expect(matcher("a/b/dist/c.js")).toBe(true);
    expect(matcher("distant/c.js")).toBe(false);
    expect(matcher("NOTES.md")).toBe(true);
    expect(matcher("README.md")).toBe(false);
    expect(matcher("docs/NOTES.md")).toBe(false);
    expect(matcher("tmp/x/y")).toBe(true);
    expect(matcher("src/a/b/c.snap")).toBe(true);
    expect(matcher("src/c.snap")).toBe(true);
    expect(matcher("src/c.ts")).toBe(false);
  });
});
