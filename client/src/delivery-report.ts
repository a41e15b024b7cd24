/**
 * The outcome of a bulk `enqueueMany` / `sendMany` call: one promise for all its records.
 *
 * Bookkeeping is two flat arrays (which batch each record went into, and its index there) and
 * the list of the call's batches; no promise or object per record. `delivered` waits for those
 * batches' outcomes; a record's metadata is built only when `metadata(i)` asks for it.
 *
 * Failure: records the producer refused after the call had admitted some (a memory wait that
 * ran out, a producer closed meanwhile) fail with that refusal; `delivered` rejects once every
 * admitted record has settled, with a copy of the first failed record's error (same class and
 * fields as `send()` would reject with, so `instanceof` and `errorName` checks work alike)
 * carrying `failedCount` and the `report` (whose `metadata(i)` throws for failed records). A
 * copy, because one error instance is shared by every record of a failed batch, and by every
 * call that had records in it.
 *
 * Invariants: records are added in the call's order, each once; `refuse` comes after the last
 * `add`; `delivered` settles only after every batch of the call has.
 */
import { SluiceError } from "@sluice/protocol";
import type { ProducerBatch } from "./accumulator.js";
import type { RecordMetadata } from "./batch-outcome.js";

/** What `sendMany` resolves to, and `enqueueMany`'s `delivered`. */
export interface DeliveryReport {
  /** Records of the call. */
  readonly count: number;
  /** Record `index`'s metadata (index in the call's array); throws the record's error if it failed. */
  metadata(index: number): RecordMetadata;
}

/** How `delivered` rejects: the first failed record's error (a copy, same class) with the count. */
export type DeliveryFailure = Error & {
  /** Records of the call that failed. */
  readonly failedCount: number;
  /** Every record's outcome. */
  readonly report: DeliveryReport;
};

/** What `enqueueMany` resolves to once every record is admitted. */
export interface EnqueuedMany {
  readonly delivered: Promise<DeliveryReport>;
}

function failureOf(first: Error, failedCount: number, report: DeliveryReport): DeliveryFailure {
  const failure = Object.create(Object.getPrototypeOf(first) as object, Object.getOwnPropertyDescriptors(first)) as Error;
  Object.defineProperty(failure, "failedCount", { value: failedCount, enumerable: true });
  Object.defineProperty(failure, "report", { value: report, enumerable: false });
  return failure as DeliveryFailure;
}

export class BulkDelivery implements DeliveryReport {
  private readonly batches: ProducerBatch[] = [];
  private readonly indexes: Int32Array;
  /** Each batch of the call once, in first-use order. */
  private readonly distinct: ProducerBatch[] = [];
  private refusal: Error | undefined = undefined;

  constructor(readonly count: number) {
    this.indexes = new Int32Array(count);
  }

  /** Records admitted so far (the first `admitted` of the call). */
  get admitted(): number {
    return this.batches.length;
  }

  /** The call's next record went into `batch` at `index`. */
  add(batch: ProducerBatch, index: number): void {
    this.indexes[this.batches.length] = index;
    this.batches.push(batch);
    if (batch.lastCall !== this) {
      batch.lastCall = this;
      this.distinct.push(batch);
    }
  }

  /** The records not admitted yet never will be: they fail with `error`. */
  refuse(error: Error): void {
    this.refusal = error;
  }

  /** Resolves with this report once every admitted record settled; rejects if any record failed. */
  delivered(): Promise<DeliveryReport> {
    const distinct = this.distinct;
    const settled = distinct.length === 1 ? distinct[0]!.outcome : Promise.all(distinct.map((batch) => batch.outcome));
    return settled.then(() => {
      let failedCount = this.count - this.admitted;
      let first: Error | undefined;
      if (!distinct.every((batch) => batch.result!.acknowledged)) {
        for (let i = 0; i < this.batches.length; i++) {
          const error = this.batches[i]!.result!.errorAt(this.indexes[i]!);
          if (error === undefined) continue;
          failedCount++;
          first ??= error;
        }
      }
      first ??= this.refusal;
      if (first !== undefined) throw failureOf(first, failedCount, this);
      return this;
    });
  }

  metadata(index: number): RecordMetadata {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new SluiceError("INVALID_REQUEST", `record index ${index} is outside the call's ${this.count} records`);
    }
    const batch = this.batches[index];
    if (batch === undefined) throw this.refusal!;
    const result = batch.result;
    if (result === undefined) throw new SluiceError("INVALID_REQUEST", `record ${index} is not settled yet`);
    return result.metadata(this.indexes[index]!);
  }
}
