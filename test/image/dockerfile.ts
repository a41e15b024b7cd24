/**
 * A small reader of the repository's Dockerfile and .dockerignore, for tests that check the image
 * recipe and for scripts/image-smoke.sh, which replays the recipe's COPY and npm steps outside a
 * container engine.
 *
 * Scope: the Dockerfile syntax this repository uses (FROM ... AS, ARG defaults, WORKDIR, ENV
 * key=value, COPY [--from=stage], RUN shell form with `\` continuations and `&&` chains,
 * CMD/ENTRYPOINT exec form, USER, EXPOSE, comments and the `# syntax=` directive) and
 * .dockerignore patterns (`*`, `?`, `**`, `!` exceptions, a pattern also excluding everything
 * under a matched folder). Anything else is a DockerfileError naming the line, so the tools
 * fail loudly rather than silently replay something different from what Docker would do.
 *
 * Pure: no I/O.
 */

/** The Dockerfile uses something this reader does not understand; names the line. */
export class DockerfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerfileError";
  }
}

export interface Instruction {
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with single spaces. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  /** The FROM reference after ARG substitution: an image or an earlier stage's name. */
  readonly base: string;
  /** True when `base` names an earlier stage (the stage starts from that stage's file system). */
  readonly fromStage: boolean;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** Global ARG defaults (before the first FROM). */
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

const KNOWN = new Set(["FROM", "ARG", "WORKDIR", "ENV", "COPY", "RUN", "CMD", "ENTRYPOINT", "USER", "EXPOSE", "LABEL"]);

/** Joins `\`-continued lines; drops comments and blank lines (a comment inside a continuation too). */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  let pending: { text: string; line: number } | undefined;
  const rows = text.split("\n");
  for (const [index, raw] of rows.entries()) {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const continued = trimmed.endsWith("\\");
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending === undefined ? { text: part, line: index + 1 } : { text: `${pending.text} ${part}`, line: pending.line };
    if (!continued) {
      out.push(pending);
      pending = undefined;
    }
  }
  if (pending !== undefined) throw new DockerfileError(`line ${pending.line}: the file ends inside a continued instruction`);
  return out;
}

function substitute(value: string, args: Readonly<Record<string, string>>, line: number): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? "";
    const found = args[name];
    if (found === undefined) throw new DockerfileError(`line ${line}: $${name} is not a declared ARG`);
    return found;
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: Array<{ name: string; base: string; fromStage: boolean; instructions: Instruction[] }> = [];
  for (const { text: lineText, line } of logicalLines(text)) {
    const match = /^(\S+)\s*(.*)$/.exec(lineText);
    const keyword = (match?.[1] ?? "").toUpperCase();
    const rest = match?.[2] ?? "";
    if (!KNOWN.has(keyword)) throw new DockerfileError(`line ${line}: unsupported instruction ${keyword}`);
    if (keyword === "ARG" && stages.length === 0) {
      const eq = rest.indexOf("=");
      if (eq <= 0) throw new DockerfileError(`line ${line}: a global ARG needs a default (ARG NAME=value)`);
      args[rest.slice(0, eq)] = rest.slice(eq + 1);
      continue;
    }
    if (keyword === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new DockerfileError(`line ${line}: FROM <image> [AS <name>] expected`);
      const base = substitute(from[1] ?? "", args, line);
      const name = from[2] ?? `stage-${stages.length}`;
      if (stages.some((s) => s.name === name)) throw new DockerfileError(`line ${line}: stage ${name} defined twice`);
      stages.push({ name, base, fromStage: stages.some((s) => s.name === base), instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage === undefined) throw new DockerfileError(`line ${line}: ${keyword} before the first FROM`);
    stage.instructions.push({ keyword, args: rest, line });
  }
  if (stages.length === 0) throw new DockerfileError("no FROM: not a Dockerfile");
  return { args, stages };
}

export function stageNamed(dockerfile: Dockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (stage === undefined) throw new DockerfileError(`no stage named ${name}`);
  return stage;
}

export interface CopyInstruction {
  /** The stage files come from, or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
}

/** COPY [--from=stage] src... dest (shell form; no other flags). */
export function parseCopy(instruction: Instruction): CopyInstruction {
  const words = instruction.args.split(/\s+/).filter((w) => w.length > 0);
  let from: string | undefined;
  while (words[0]?.startsWith("--") === true) {
    const flag = words.shift() as string;
    const fromFlag = /^--from=(\S+)$/.exec(flag);
    if (fromFlag === null) throw new DockerfileError(`line ${instruction.line}: unsupported COPY flag ${flag}`);
    from = fromFlag[1];
  }
  if (words.length < 2) throw new DockerfileError(`line ${instruction.line}: COPY needs a source and a destination`);
  const dest = words.pop() as string;
  return { from, sources: words, dest };
}

/** The commands of a shell-form RUN chained with `&&` (no other shell syntax is used). */
export function splitRun(instruction: Instruction): string[] {
  if (/[;|`]|\$\(|\|\|/.test(instruction.args)) {
    throw new DockerfileError(`line ${instruction.line}: RUN uses shell syntax beyond && chains`);
  }
  return instruction.args.split("&&").map((c) => c.trim()).filter((c) => c.length > 0);
}

/** ENV key=value [key=value ...]. */
export function parseEnv(instruction: Instruction): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of instruction.args.split(/\s+/).filter((w) => w.length > 0)) {
    const eq = word.indexOf("=");
    if (eq <= 0) throw new DockerfileError(`line ${instruction.line}: ENV key=value expected, got ${word}`);
    out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}

/** CMD/ENTRYPOINT in exec (JSON array) form. */
export function parseExecForm(instruction: Instruction): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(instruction.args);
  } catch {
    throw new DockerfileError(`line ${instruction.line}: ${instruction.keyword} must use the exec form ["cmd", "arg"]`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === "string")) {
    throw new DockerfileError(`line ${instruction.line}: ${instruction.keyword} must be a non-empty array of strings`);
  }
  return parsed as string[];
}

/** `ln -s <target> <link>` → its two paths, or undefined for any other command. */
export function parseSymlink(command: string): { target: string; link: string } | undefined {
  const match = /^ln -s (\S+) (\S+)$/.exec(command);
  return match === null ? undefined : { target: match[1] as string, link: match[2] as string };
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

interface IgnorePattern {
  readonly regex: RegExp;
  readonly negated: boolean;
}

function patternToRegex(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      // "**/" matches any number of folders (also none); a trailing "**" anything.
      if (pattern[i + 2] === "/") {
        out += "(?:.*/)?";
        i += 2;
      } else {
        out += ".*";
        i += 1;
      }
    } else if (c === "*") {
      out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${out}$`);
}

/** A path (relative to the context root, "/"-separated) → whether Docker leaves it out. */
export type IgnoreMatcher = (path: string) => boolean;

export function parseDockerignore(text: string): IgnoreMatcher {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    const body = (negated ? line.slice(1) : line).replace(/^\/+/, "").replace(/\/+$/, "");
    if (body === "") continue;
    patterns.push({ regex: patternToRegex(body), negated });
  }
  return (path: string): boolean => {
    const parts = path.split("/").filter((p) => p.length > 0 && p !== ".");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const pattern of patterns) {
      // A pattern that matches a parent folder excludes everything inside it.
      if (prefixes.some((p) => pattern.regex.test(p))) excluded = !pattern.negated;
    }
    return excluded;
  };
}
