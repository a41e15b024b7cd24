/**
 * What a caller hands to the Producer, and the checks a record passes before it is admitted.
 *
 * `recordBytesOf` checks every field a batch needs (topic, partition, timestamp, the types of
 * key, value and headers) and returns an upper bound of the record's encoded size, which is
 * what the producer reserves in its buffer pool. It creates no object: the record's fields are
 * later encoded straight into its batch (accumulator.ts), so a record that passed here cannot
 * fail there.
 *
 * Invariants: a record that fails a check gets a typed SluiceError (INVALID_TOPIC_EXCEPTION,
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_TIMESTAMP, INVALID_RECORD) before anything is reserved;
 * the bound is never below the encoded size (RECORD_OVERHEAD_BYTES_MAX, HEADER_OVERHEAD_BYTES_MAX).
 */
import { SluiceError } from "@sluice/protocol";
import { HEADER_OVERHEAD_BYTES_MAX, RECORD_OVERHEAD_BYTES_MAX } from "./limits.js";

export type Bytes = Buffer | Uint8Array | string;

export interface ProducerRecord {
  readonly topic: string;
  /** Overrides the partitioner. */
  readonly partition?: number;
  readonly key?: Bytes | null;
  readonly value: Bytes | null;
  /** Header values may repeat keys when given as an array. */
  readonly headers?: Readonly<Record<string, Bytes | null>> | readonly { readonly key: string; readonly value: Bytes | null }[];
  /** Milliseconds since the epoch; default: now. */
  readonly timestamp?: number;
}

/** Byte length of a key, value or header value (strings count as UTF-8). */
function lengthOf(bytes: unknown, what: string): number {
  if (bytes instanceof Uint8Array) return bytes.byteLength;
  if (typeof bytes === "string") return Buffer.byteLength(bytes, "utf8");
  throw new SluiceError("INVALID_RECORD", `${what} must be bytes, a string or null`);
}

function headerBytes(key: unknown, value: unknown): number {
  if (typeof key !== "string") throw new SluiceError("INVALID_RECORD", "header keys must be strings");
  return HEADER_OVERHEAD_BYTES_MAX + Buffer.byteLength(key, "utf8") + (value === null ? 0 : lengthOf(value, `header "${key}" value`));
}

function headersBytes(headers: unknown): number {
  let bytes = 0;
  if (Array.isArray(headers)) {
    for (const header of headers as readonly unknown[]) {
      if (typeof header !== "object" || header === null) throw new SluiceError("INVALID_RECORD", "headers in a list must be { key, value } objects");
      const { key, value } = header as { key: unknown; value: unknown };
      bytes += headerBytes(key, value);
    }
  } else if (typeof headers === "object" && headers !== null) {
    const map = headers as Record<string, unknown>;
    for (const key of Object.keys(map)) bytes += headerBytes(key, map[key]);
  } else {
    throw new SluiceError("INVALID_RECORD", "headers must be an object or a list of { key, value }");
  }
  return bytes;
}

/** Checks a record's fields; returns an upper bound of its encoded size in a batch (before compression). */
export function recordBytesOf(record: ProducerRecord): number {
  if (typeof record !== "object" || record === null) throw new SluiceError("INVALID_RECORD", "a record must be an object");
  if (typeof record.topic !== "string" || record.topic.length === 0) {
    throw new SluiceError("INVALID_TOPIC_EXCEPTION", `record topic must be a non-empty string, got ${JSON.stringify(record.topic)}`);
  }
  const partition = record.partition;
  if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) {
    throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `partition must be an integer >= 0, got ${String(partition)}`);
  }
  const timestamp = record.timestamp;
  if (timestamp !== undefined && (!Number.isSafeInteger(timestamp) || timestamp < 0)) {
    throw new SluiceError("INVALID_TIMESTAMP", `timestamp must be a safe integer >= 0 (ms), got ${String(timestamp)}`);
  }
  const value = record.value;
  if (value === undefined) throw new SluiceError("INVALID_RECORD", "record value must be bytes, a string or null");
  let bytes = RECORD_OVERHEAD_BYTES_MAX;
  if (value !== null) bytes += lengthOf(value, "record value");
  const key = record.key;
  if (key !== undefined && key !== null) bytes += lengthOf(key, "record key");
  if (record.headers !== undefined) bytes += headersBytes(record.headers);
  return bytes;
}
