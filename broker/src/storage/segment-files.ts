/**
 * Names of the files in a partition directory.
 *
 *   00000000000000000000.log          batches (Kafka RecordBatch v2, back to back)
 *   00000000000000000000.index        sparse offset index (offset-index.ts)
 *   00000000000000000000.timeindex    sparse time index (time-index.ts)
 *   <any of the above>.cleaned        a compacted replacement being written (segment-swap.ts)
 *   swap-manifest                     a committed segment swap still being applied
 *   recovery-point-checkpoint, log-start-offset-checkpoint, leader-epoch-checkpoint
 *   clean-shutdown                    present only while the log is cleanly closed
 *   *.tmp                             a checkpoint being replaced (deleted on open)
 *
 * A segment is named by its base offset, zero-padded to 20 digits so names sort as offsets do.
 */

export const LOG_SUFFIX = ".log";
export const INDEX_SUFFIX = ".index";
export const TIME_INDEX_SUFFIX = ".timeindex";
export const CLEANED_SUFFIX = ".cleaned";
export const TMP_SUFFIX = ".tmp";
export const CLEAN_SHUTDOWN_FILE = "clean-shutdown";
export const SWAP_MANIFEST_FILE = "swap-manifest";

export type SegmentFileKind = "log" | "index" | "timeindex";
export const SEGMENT_SUFFIXES: Readonly<Record<SegmentFileKind, string>> = {
  log: LOG_SUFFIX,
  index: INDEX_SUFFIX,
  timeindex: TIME_INDEX_SUFFIX,
};

const OFFSET_DIGITS = 20;

export function offsetFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, "0");
}

export function segmentFileName(baseOffset: number, kind: SegmentFileKind): string {
  return `${offsetFileStem(baseOffset)}${SEGMENT_SUFFIXES[kind]}`;
}

export interface ParsedSegmentFile {
  readonly baseOffset: number;
  readonly kind: SegmentFileKind;
  /** True for a `.cleaned` file of a swap in progress. */
  readonly cleaned: boolean;
}

const namePattern = /^(\d{20})\.(log|index|timeindex)(\.cleaned)?$/;

export function parseSegmentFileName(name: string): ParsedSegmentFile | undefined {
  const match = namePattern.exec(name);
  if (match === null) return undefined;
  const baseOffset = Number(match[1]);
  if (!Number.isSafeInteger(baseOffset)) return undefined;
  return { baseOffset, kind: match[2] as SegmentFileKind, cleaned: match[3] !== undefined };
}
