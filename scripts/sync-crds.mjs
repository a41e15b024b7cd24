// Copies the CustomResourceDefinitions from crds/ (the one source) into the Helm chart's
// charts/sluice/crds/, byte for byte, and removes chart copies whose source is gone.
//
//   node scripts/sync-crds.mjs          write the copies
//   node scripts/sync-crds.mjs --check  change nothing; exit 1 listing every difference
//
// test/helm/crds.test.ts fails whenever the two folders differ, so an edit made only in the
// chart (or only in crds/ without running this) cannot land.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "crds");
const target = join(root, "charts", "sluice", "crds");
const check = process.argv.includes("--check");
const unknown = process.argv.slice(2).filter((a) => a !== "--check");
if (unknown.length > 0) {
  console.error(`sync-crds: unknown argument(s) ${unknown.join(" ")}; usage: node scripts/sync-crds.mjs [--check]`);
  process.exit(2);
}

const isManifest = (name) => /\.ya?ml$/.test(name);
const list = (dir) => (existsSync(dir) ? readdirSync(dir).filter(isManifest).sort() : []);

const sources = list(source);
if (sources.length === 0) {
  console.error(`sync-crds: no *.yaml in ${source}`);
  process.exit(1);
}
const differences = [];
for (const name of sources) {
  const to = join(target, name);
  if (!existsSync(to)) differences.push(`missing in chart: ${name}`);
  else if (!readFileSync(join(source, name)).equals(readFileSync(to))) differences.push(`differs: ${name}`);
}
for (const name of list(target)) {
  if (!sources.includes(name)) differences.push(`only in chart (no source in crds/): ${name}`);
}

if (check) {
  if (differences.length > 0) {
    console.error(`sync-crds: charts/sluice/crds/ is out of date with crds/:\n  ${differences.join("\n  ")}\nrun: node scripts/sync-crds.mjs`);
    process.exit(1);
  }
  console.log(`sync-crds: charts/sluice/crds/ matches crds/ (${sources.length} files)`);
} else {
  mkdirSync(target, { recursive: true });
  for (const name of sources) copyFileSync(join(source, name), join(target, name));
  for (const name of list(target)) if (!sources.includes(name)) rmSync(join(target, name));
  console.log(`sync-crds: ${differences.length === 0 ? "already in sync" : differences.join("; ")} (${sources.length} files)`);
}
