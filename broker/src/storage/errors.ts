/**
 * Storage's own typed errors. Each extends `SluiceError` with a code from the one table in
 * @sluice/protocol (errors.ts), so callers and the wire see a stable code and `retriable`.
 * Other failures storage reports use the protocol classes directly: `CorruptRecordError`,
 * `MessageTooLargeError`, `OffsetOutOfRangeError`, `StorageError` (disk failures, with `cause`).
 */
import { SluiceError } from "@sluice/protocol";

/** A replicated append does not start at the log end offset (or its batches are out of order). */
export class NonContiguousAppendError extends SluiceError {
  readonly expectedOffset: number;
  readonly actualOffset: number;
  constructor(expectedOffset: number, actualOffset: number, detail = "replicated batches must continue the log") {
    super("OFFSET_OUT_OF_RANGE", `${detail}: expected offset ${expectedOffset}, got ${actualOffset}`);
    this.name = "NonContiguousAppendError";
    this.expectedOffset = expectedOffset;
    this.actualOffset = actualOffset;
  }
}

/** An append carries a leader epoch older than one the log already holds. */
export class FencedLeaderEpochError extends SluiceError {
  readonly epoch: number;
  readonly latestEpoch: number;
  constructor(epoch: number, latestEpoch: number) {
    super("FENCED_LEADER_EPOCH", `epoch ${epoch} is older than the log's latest epoch ${latestEpoch}`);
    this.name = "FencedLeaderEpochError";
    this.epoch = epoch;
    this.latestEpoch = latestEpoch;
  }
}

/** truncateTo was asked to cut inside a batch; logs are cut only at batch boundaries. */
export class TruncateInsideBatchError extends SluiceError {
  readonly offset: number;
  readonly batchBaseOffset: number;
  readonly batchLastOffset: number;
  constructor(offset: number, batchBaseOffset: number, batchLastOffset: number) {
    super("INVALID_REQUEST", `offset ${offset} is inside batch [${batchBaseOffset}, ${batchLastOffset}]`);
    this.name = "TruncateInsideBatchError";
    this.offset = offset;
    this.batchBaseOffset = batchBaseOffset;
    this.batchLastOffset = batchLastOffset;
  }
}

/** A compaction swap whose source segments changed (truncated, deleted) since cleaning began. */
export class SegmentSwapConflictError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_REQUEST", `segment swap refused: ${detail}`);
    this.name = "SegmentSwapConflictError";
  }
}

/** Too many appends are already waiting on this log: back off and retry. */
export class AppendQueueFullError extends SluiceError {
  constructor(queued: number) {
    super("REQUEST_TIMED_OUT", `append queue full (${queued} waiting)`);
    this.name = "AppendQueueFullError";
  }
}
