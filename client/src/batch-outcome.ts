/**
 * How a producer batch ended, answered per record by index: acknowledged (offset = the batch's
 * base offset + index), failed as a whole (one error for every record), or split in two after
 * MESSAGE_TOO_LARGE (each half answers for its own records).
 *
 * Why objects that answer by index instead of per-record results: a batch holds thousands of
 * records, and most callers (a bulk `sendMany`, a `flush`) never look at most of them; the
 * metadata object of a record is built only when someone asks for it.
 *
 * Invariants: an outcome never changes once built; `metadata(i)` throws exactly when
 * `errorAt(i)` is defined, and throws that error.
 */

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** -1 when acks=0 (the broker does not say). */
  readonly offset: number;
  /** The record's timestamp, or the broker's append time for `log-append` topics. */
  readonly timestamp: number;
}

export interface BatchOutcome {
  /** Every record was acknowledged (no `errorAt` is defined). */
  readonly acknowledged: boolean;
  /** The error that failed record `index`, or undefined when it was acknowledged. */
  errorAt(index: number): Error | undefined;
  /** Record `index`'s metadata; throws its error when it failed. */
  metadata(index: number): RecordMetadata;
}

/** The broker appended the batch from `baseOffset` (-1: acks=0, offsets unknown). */
export class Acknowledged implements BatchOutcome {
  readonly acknowledged = true;

  constructor(
    private readonly topic: string,
    private readonly partition: number,
    private readonly baseOffset: number,
    /** The broker's append time for log-append topics, else -1 (the records' own timestamps count). */
    private readonly logAppendTimeMs: number,
    private readonly timestamps: readonly number[],
  ) {}

  errorAt(): undefined {
    return undefined;
  }

  metadata(index: number): RecordMetadata {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.baseOffset < 0 ? -1 : this.baseOffset + index,
      timestamp: this.logAppendTimeMs >= 0 ? this.logAppendTimeMs : this.timestamps[index]!,
    };
  }
}

/** The batch failed for good: every record with `error`. */
export class Failed implements BatchOutcome {
  readonly acknowledged = false;

  constructor(private readonly error: Error) {}

  errorAt(): Error {
    return this.error;
  }

  metadata(): RecordMetadata {
    throw this.error;
  }
}

/** A batch split in two: records before `half` answer from the first half, the rest from the second. */
export class Split implements BatchOutcome {
  readonly acknowledged: boolean;

  constructor(
    private readonly first: BatchOutcome,
    private readonly second: BatchOutcome,
    private readonly half: number,
  ) {
    this.acknowledged = first.acknowledged && second.acknowledged;
  }

  errorAt(index: number): Error | undefined {
    return index < this.half ? this.first.errorAt(index) : this.second.errorAt(index - this.half);
  }

  metadata(index: number): RecordMetadata {
    return index < this.half ? this.first.metadata(index) : this.second.metadata(index - this.half);
  }
}
