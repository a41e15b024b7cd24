/**
 * Benchmark entry point: `npm run bench -- <name> [--key value ...]`.
 *
 * Each benchmark lives in bench/<name>.ts and exports `run(options)`, which prints a readable
 * table as it goes and returns the result. This file prints the result as the last line of
 * output, one JSON object: {"bench":"<name>","config":{...},"metrics":{...}} (DESIGN.md).
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchModule, BenchOptions } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));

function parseOptions(argv: readonly string[]): BenchOptions {
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined || !arg.startsWith("--")) throw new Error(`unexpected argument ${String(arg)}`);
    const eq = arg.indexOf("=");
    if (eq > 0) {
      options[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        options[arg.slice(2)] = next;
        i++;
      } else {
        options[arg.slice(2)] = "true";
      }
    }
  }
  return options;
}

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !["run.ts", "report.ts"].includes(f) && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === undefined || !existsSync(join(here, `${name}.ts`))) {
    console.error(`usage: npm run bench -- <name> [--option value ...]\nbenchmarks: ${available().join(", ")}`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as BenchModule;
  const result = await mod.run(parseOptions(rest));
  console.log(JSON.stringify({ bench: name, config: result.config, metrics: result.metrics }));
}

await main();
