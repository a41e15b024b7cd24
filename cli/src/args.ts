/**
 * The CLI's own argument parser (no dependencies): commands are one or two words (`topic
 * create`), flags are `--name value`, `--name=value`, `-x value` or boolean `--name`; `--`
 * ends flags. Every command declares its flags and positionals, which gives `--help` text and
 * clear errors (unknown flag with a suggestion, missing value, bad number, missing argument).
 *
 * Pure: argv in, a parsed command or a UsageError out.
 */

export type FlagKind = "string" | "int" | "boolean" | "list";

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly kind: FlagKind;
  readonly description: string;
  /** Shown in help, e.g. "N" or "k=v". */
  readonly valueName?: string;
  /** Shown in help only (defaults are applied by the command). */
  readonly defaultText?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly required: boolean;
  /** Takes every remaining positional. */
  readonly variadic?: boolean;
}

export interface CommandSpec {
  /** "dev", "topic create", ... */
  readonly name: string;
  readonly summary: string;
  readonly positionals: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
  readonly examples?: readonly string[];
}

export type FlagValue = string | number | boolean | string[];

export interface ParsedCommand {
  readonly command: CommandSpec;
  readonly positionals: Readonly<Record<string, string | string[]>>;
  readonly flags: Readonly<Record<string, FlagValue>>;
}

export type ParseResult =
  | { readonly kind: "command"; readonly parsed: ParsedCommand }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "version" };

export class UsageError extends Error {
  /** The command the error is about (for "see --help"), when known. */
  readonly commandName: string | undefined;
  constructor(message: string, commandName?: string) {
    super(message);
    this.name = "UsageError";
    this.commandName = commandName;
  }
}

/** Flags every command accepts. */
export const globalFlags: readonly FlagSpec[] = [
  { name: "bootstrap", short: "b", kind: "string", valueName: "host:port", description: "broker to connect to (env SLUICE_BOOTSTRAP)", defaultText: "127.0.0.1:9092" },
  { name: "output", short: "o", kind: "string", valueName: "table|json", description: "output format", defaultText: "table" },
  { name: "help", short: "h", kind: "boolean", description: "show help" },
];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean ${best}?)` : "";
}

function flagLabel(flag: FlagSpec): string {
  const value = flag.kind === "boolean" ? "" : ` <${flag.valueName ?? "value"}>`;
  return `${flag.short === undefined ? "    " : `-${flag.short}, `}--${flag.name}${value}`;
}

export function commandHelp(spec: CommandSpec, program = "sluice"): string {
  const args = spec.positionals.map((p) => (p.required ? `<${p.name}${p.variadic ? "..." : ""}>` : `[${p.name}${p.variadic ? "..." : ""}]`)).join(" ");
  const lines = [`usage: ${program} ${spec.name}${args === "" ? "" : ` ${args}`} [flags]`, "", spec.summary, ""];
  const all = [...spec.flags, ...globalFlags];
  const width = Math.max(...all.map((f) => flagLabel(f).length));
  lines.push("flags:");
  for (const flag of all) {
    const extra = flag.kind === "list" ? " (repeatable)" : "";
    const def = flag.defaultText === undefined ? "" : ` [default: ${flag.defaultText}]`;
    lines.push(`  ${flagLabel(flag).padEnd(width)}  ${flag.description}${extra}${def}`);
  }
  if (spec.examples !== undefined && spec.examples.length > 0) {
    lines.push("", "examples:", ...spec.examples.map((e) => `  ${e}`));
  }
  return lines.join("\n");
}

export function programHelp(specs: readonly CommandSpec[], program = "sluice"): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return [
    `usage: ${program} <command> [flags]`,
    "",
    "Sluice command line: run a local broker, manage topics, produce and consume, manage consumer groups.",
    "",
    "commands:",
    ...specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    "",
    `Run '${program} <command> --help' for a command's flags.`,
  ].join("\n");
}

function parseInteger(raw: string, flag: string, command: string): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${flag} needs an integer, got "${raw}"`, command);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new UsageError(`--${flag} is out of range: ${raw}`, command);
  return value;
}

function parseBoolean(raw: string, flag: string, command: string): boolean {
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new UsageError(`--${flag} takes no value (or =true / =false), got "${raw}"`, command);
}

/** Parses argv (without node and script) against the command table. */
export function parseCommandLine(argv: readonly string[], specs: readonly CommandSpec[]): ParseResult {
  const words: string[] = [];
  const leading: string[] = [];
  let i = 0;
  // Leading words name the command; global flags (and their values) may come before them.
  while (i < argv.length && words.length < 2) {
    const arg = argv[i]!;
    if (arg.startsWith("-")) {
      const global = globalFlags.find((f) => arg === `--${f.name}` || arg === `-${f.short}` || arg.startsWith(`--${f.name}=`));
      if (global === undefined || global.name === "help") break;
      leading.push(arg);
      if (!arg.includes("=") && global.kind !== "boolean" && i + 1 < argv.length) leading.push(argv[++i]!);
      i++;
      continue;
    }
    const candidate = [...words, arg].join(" ");
    if (!specs.some((s) => s.name === candidate || s.name.startsWith(`${candidate} `))) break;
    words.push(arg);
    i++;
  }
  const name = words.join(" ");
  const spec = specs.find((s) => s.name === name);
  const rest = [...leading, ...argv.slice(i)];
  if (spec === undefined) {
    if (rest.includes("--version") && words.length === 0) return { kind: "version" };
    const afterGlobals = rest.slice(leading.length);
    if (words.length === 0 && (afterGlobals.length === 0 || afterGlobals[0] === "--help" || afterGlobals[0] === "-h" || afterGlobals[0] === "help")) {
      return { kind: "help", text: programHelp(specs) };
    }
    const group = specs.filter((s) => name !== "" && s.name.startsWith(`${name} `));
    if (group.length > 0) {
      const sub = rest[0];
      if (sub === undefined || sub === "--help" || sub === "-h") return { kind: "help", text: programHelp(group) };
      throw new UsageError(`unknown command "${name} ${sub}"${suggest(`${name} ${sub}`, group.map((s) => s.name))}`);
    }
    const word = afterGlobals[0] ?? "";
    throw new UsageError(`unknown command "${word}"${suggest(word, specs.map((s) => s.name.split(" ")[0]!))}; run 'sluice --help'`);
  }

  const allFlags = [...spec.flags, ...globalFlags];
  const byName = new Map(allFlags.map((f) => [f.name, f]));
  const byShort = new Map(allFlags.filter((f) => f.short !== undefined).map((f) => [f.short!, f]));
  const flags: Record<string, FlagValue> = {};
  const positionals: string[] = [];
  let flagsDone = false;
  for (let j = 0; j < rest.length; j++) {
    const arg = rest[j]!;
    if (flagsDone || !arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === "--") {
      flagsDone = true;
      continue;
    }
    let flag: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const flagName = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      flag = byName.get(flagName);
      if (flag === undefined) throw new UsageError(`unknown flag --${flagName}${suggest(flagName, [...byName.keys()]).replace("mean ", "mean --")}`, spec.name);
    } else {
      const short = arg.slice(1, 2);
      flag = byShort.get(short);
      if (flag === undefined) throw new UsageError(`unknown flag -${short}`, spec.name);
      const tail = arg.slice(2);
      inline = tail === "" ? undefined : tail.startsWith("=") ? tail.slice(1) : tail;
    }
    if (flag.name === "help") return { kind: "help", text: commandHelp(spec) };
    if (flag.kind === "boolean") {
      flags[flag.name] = inline === undefined ? true : parseBoolean(inline, flag.name, spec.name);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = rest[j + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-" && !(flag.kind === "int" && /^-\d/.test(next)))) {
        throw new UsageError(`--${flag.name} needs a value${flag.valueName === undefined ? "" : ` (${flag.valueName})`}`, spec.name);
      }
      raw = next;
      j++;
    }
    if (flag.kind === "list") {
      const list = (flags[flag.name] as string[] | undefined) ?? [];
      list.push(raw);
      flags[flag.name] = list;
      continue;
    }
    if (flags[flag.name] !== undefined) throw new UsageError(`--${flag.name} was given more than once`, spec.name);
    flags[flag.name] = flag.kind === "int" ? parseInteger(raw, flag.name, spec.name) : raw;
  }

  const named: Record<string, string | string[]> = {};
  let p = 0;
  for (const positional of spec.positionals) {
    if (positional.variadic) {
      const all = positionals.slice(p);
      p = positionals.length;
      if (positional.required && all.length === 0) throw new UsageError(`missing <${positional.name}>`, spec.name);
      named[positional.name] = all;
      continue;
    }
    const value = positionals[p];
    if (value === undefined) {
      if (positional.required) throw new UsageError(`missing <${positional.name}>`, spec.name);
      continue;
    }
    named[positional.name] = value;
    p++;
  }
  if (p < positionals.length) throw new UsageError(`unexpected argument "${positionals[p]}"`, spec.name);
  return { kind: "command", parsed: { command: spec, positionals: named, flags } };
}

/** `k=v` pairs of a list flag as a record; throws UsageError on a pair without "=". */
export function keyValuePairs(values: readonly string[] | undefined, flag: string, command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag} needs key=value, got "${pair}"`, command);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
