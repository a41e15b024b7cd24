/**
 * `npm run sim -- --seeds N --steps M [--seed S] [--first F] [--mutant NAME] [--trace]`
 *
 * Runs the deterministic Raft simulator for seeds F..F+N-1 (default F = 1), M steps each,
 * or replays the single seed S (printing its event trace when it fails, or always with
 * --trace). Every failing seed is printed with the command that replays it. The last line is
 * one JSON object:
 *   {"bench":"sim","metrics":{"seeds":N,"steps":<steps run, all seeds>,"violations":V,"steps_per_s":R}}
 * Exit code 1 when any seed violated an invariant (0 with --mutant only if none did, so a
 * mutant run "fails" when the simulator catches it, as it should).
 *
 * Workspace packages resolve to their TypeScript sources only under the "source" export
 * condition; the root script does not pass it, so this file re-executes itself with it.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

interface CliOptions {
  readonly seeds: number;
  readonly steps: number;
  readonly first: number;
  readonly seed: number | null;
  readonly mutant: string | null;
  readonly trace: boolean;
}

const usage = "usage: npm run sim -- --seeds N --steps M [--seed S] [--first F] [--mutant NAME] [--trace]";

function parseCli(argv: readonly string[]): CliOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}\n${usage}`);
    const eq = arg.indexOf("=");
    if (eq > 0) {
      values.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      values.set(arg.slice(2), next);
      i++;
    } else {
      flags.add(arg.slice(2));
    }
  }
  const int = (key: string, fallback: number): number => {
    const raw = values.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${key} must be a non-negative integer, got ${raw}\n${usage}`);
    return n;
  };
  for (const key of values.keys()) {
    if (!["seeds", "steps", "seed", "first", "mutant"].includes(key)) throw new Error(`unknown option --${key}\n${usage}`);
  }
  for (const flag of flags) if (flag !== "trace") throw new Error(`unknown flag --${flag}\n${usage}`);
  const seed = values.has("seed") ? int("seed", 0) : null;
  return {
    seeds: seed === null ? int("seeds", 100) : 1,
    steps: int("steps", 5000),
    first: seed ?? int("first", 1),
    seed,
    mutant: values.get("mutant") ?? null,
    trace: flags.has("trace"),
  };
}

async function main(): Promise<number> {
  const options = parseCli(process.argv.slice(2));
  const { runSimulation } = await import("./simulation.js");
  const { mutants } = await import("./mutants.js");
  let factory: Parameters<typeof runSimulation>[0]["factory"];
  if (options.mutant !== null) {
    factory = (mutants as Record<string, NonNullable<typeof factory>>)[options.mutant];
    if (factory === undefined) throw new Error(`unknown mutant ${options.mutant}; known: ${Object.keys(mutants).join(", ")}`);
  }
  const replay = options.seed !== null;
  const started = performance.now();
  let steps = 0;
  let violations = 0;
  for (let seed = options.first; seed < options.first + options.seeds; seed++) {
    const result = runSimulation({ seed, steps: options.steps, factory, trace: replay });
    steps += result.steps;
    if (result.violation !== null) {
      violations++;
      const v = result.violation;
      console.log(
        `seed ${seed}: ${v.invariant} at step ${v.step} (${v.timeMs.toFixed(1)} ms): ${v.detail}\n` +
          `  replay: npm run sim -- --seed ${seed} --steps ${options.steps}${options.mutant === null ? "" : ` --mutant ${options.mutant}`}`,
      );
    }
    if (replay && (result.violation !== null || options.trace)) {
      console.log(result.trace.join("\n"));
      console.log(`stats: ${JSON.stringify(result.stats)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      bench: "sim",
      metrics: { seeds: options.seeds, steps, violations, steps_per_s: Math.round(steps / Math.max(seconds, 1e-9)) },
    }),
  );
  return violations === 0 ? 0 : 1;
}

if (!process.execArgv.some((arg) => arg === "--conditions=source" || arg === "-C=source")) {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ["--conditions=source", ...process.execArgv, self, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exitCode = child.status ?? 1;
} else {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 2;
    },
  );
}
