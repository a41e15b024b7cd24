/**
 * Compaction's typed errors (codes from the protocol error table). Others it reports come from
 * the layers below unchanged: `CorruptRecordError` (a stored batch failed its checks, already
 * counted and reported by the log), `SegmentSwapConflictError` (the log changed under the clean),
 * `StorageError` (the disk failed).
 */
import { SluiceError } from "@sluice/protocol";

/** Cleaning was asked of a log whose cleanup.policy does not compact. */
export class NotCompactedError extends SluiceError {
  constructor(dir: string) {
    super("INVALID_REQUEST", `log ${dir} has cleanup.policy=delete: nothing to compact`);
    this.name = "NotCompactedError";
  }
}

/** The offset map cannot hold even the first dirty batch's keys: the dedupe buffer is too small for this log. */
export class DedupeBufferTooSmallError extends SluiceError {
  readonly budgetBytes: number;
  readonly batchBaseOffset: number;
  constructor(budgetBytes: number, batchBaseOffset: number, keys: number) {
    super("INVALID_CONFIG", `dedupe buffer of ${budgetBytes} bytes cannot hold the ${keys} keys of the batch at offset ${batchBaseOffset}`);
    this.name = "DedupeBufferTooSmallError";
    this.budgetBytes = budgetBytes;
    this.batchBaseOffset = batchBaseOffset;
  }
}

/** A cleaned segment would outgrow the int32 file positions of its index (delete horizons stamped on many tiny tombstones). */
export class CleanedSegmentTooLargeError extends SluiceError {
  constructor(baseOffset: number, limitBytes: number) {
    super("INVALID_CONFIG", `cleaned segment ${baseOffset} would exceed ${limitBytes} bytes: lower segment.bytes`);
    this.name = "CleanedSegmentTooLargeError";
  }
}

/** The clean was stopped (cleaner shutdown, log deletion); nothing half-done was swapped in. */
export class CompactionAbortedError extends SluiceError {
  constructor(dir: string, why: string) {
    super("REQUEST_TIMED_OUT", `compaction of ${dir} stopped: ${why}`);
    this.name = "CompactionAbortedError";
  }
}
