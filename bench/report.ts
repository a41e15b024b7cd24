/** Shared shapes and printing for benchmarks (see run.ts). */

export type BenchOptions = Readonly<Record<string, string>>;

export interface BenchResult {
  readonly config: Readonly<Record<string, string | number | boolean>>;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface BenchModule {
  run(options: BenchOptions): Promise<BenchResult>;
}

export function numberOption(options: BenchOptions, key: string, fallback: number): number {
  const raw = options[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${key} must be a number, got ${raw}`);
  return value;
}

/** Prints rows as an aligned two-column table. */
export function printTable(title: string, rows: ReadonlyArray<readonly [string, string | number]>): void {
  const width = Math.max(...rows.map(([k]) => k.length), 10);
  console.log(`\n${title}`);
  for (const [key, value] of rows) {
    const shown = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
    console.log(`  ${key.padEnd(width)}  ${shown}`);
  }
}

export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const index = Math.min(sortedAscending.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1));
  return sortedAscending[index] ?? Number.NaN;
}

/** Epoch milliseconds with microsecond resolution, comparable between processes of one machine. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
