/**
 * The progress bar `sluice produce --file` draws on stderr: bytes read of the file's size,
 * percentage, throughput. Rendering is pure; the reporter throttles redraws (at most every
 * PROGRESS_REDRAW_MS) so drawing never costs more than the work it reports on.
 */
import { formatBytes } from "./table.js";

/** 100 ms: ten redraws a second look live and cost nothing. */
export const PROGRESS_REDRAW_MS = 100;
/** Bar cells: fits an 80-column terminal with the numbers beside it. */
export const PROGRESS_BAR_CELLS = 30;

export function renderProgress(doneBytes: number, totalBytes: number, elapsedMs: number, records: number): string {
  const fraction = totalBytes <= 0 ? 1 : Math.min(1, Math.max(0, doneBytes / totalBytes));
  const filled = Math.round(fraction * PROGRESS_BAR_CELLS);
  const bar = "#".repeat(filled) + "-".repeat(PROGRESS_BAR_CELLS - filled);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const rate = elapsedMs > 0 ? `${formatBytes(Math.round((doneBytes * 1000) / elapsedMs))}/s` : "-";
  return `[${bar}] ${percent}  ${formatBytes(doneBytes)} / ${formatBytes(totalBytes)}  ${records} records  ${rate}`;
}

export interface ProgressSink {
  write(text: string): void;
}

export class ProgressReporter {
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly totalBytes: number,
    private readonly startMs: number,
  ) {}

  update(doneBytes: number, records: number, nowMs: number): void {
    if (nowMs - this.lastDrawMs < PROGRESS_REDRAW_MS) return;
    this.lastDrawMs = nowMs;
    this.sink.write(`\r${renderProgress(doneBytes, this.totalBytes, nowMs - this.startMs, records)}`);
    this.drawn = true;
  }

  finish(doneBytes: number, records: number, nowMs: number): void {
    this.sink.write(`\r${renderProgress(doneBytes, this.totalBytes, nowMs - this.startMs, records)}\n`);
    this.drawn = false;
  }

  /** Ends the bar's line (before other output). */
  clear(): void {
    if (this.drawn) this.sink.write("\n");
    this.drawn = false;
  }
}
