/**
 * The one table of error codes. Codes follow Apache Kafka's numbering so that a Kafka
 * wire-protocol listener can pass them through unchanged; `retriable` tells clients whether
 * the same request may succeed if sent again (after a metadata refresh or a backoff).
 *
 * Operating errors (bad input, lost peers, full disks) are instances of `SluiceError` with a
 * stable code. Our own bugs are assertion failures (see assert.ts) and are never caught.
 */

export interface ErrorSpec {
  readonly code: number;
  readonly retriable: boolean;
  readonly message: string;
}

export const errorTable = {
  UNKNOWN_SERVER_ERROR: { code: -1, retriable: false, message: "unexpected server error" },
  NONE: { code: 0, retriable: false, message: "no error" },
  OFFSET_OUT_OF_RANGE: { code: 1, retriable: false, message: "offset is outside the log's range" },
  CORRUPT_MESSAGE: { code: 2, retriable: true, message: "record batch failed its CRC or structure check" },
  UNKNOWN_TOPIC_OR_PARTITION: { code: 3, retriable: true, message: "topic or partition does not exist" },
  INVALID_FETCH_SIZE: { code: 4, retriable: false, message: "fetch size is invalid" },
  LEADER_NOT_AVAILABLE: { code: 5, retriable: true, message: "partition has no leader right now" },
  NOT_LEADER_OR_FOLLOWER: { code: 6, retriable: true, message: "this broker is not the partition's leader" },
  REQUEST_TIMED_OUT: { code: 7, retriable: true, message: "request timed out" },
  MESSAGE_TOO_LARGE: { code: 10, retriable: false, message: "record batch is larger than the limit" },
  OFFSET_METADATA_TOO_LARGE: { code: 12, retriable: false, message: "offset metadata string is too large" },
  NETWORK_EXCEPTION: { code: 13, retriable: true, message: "connection to the broker was lost" },
  COORDINATOR_LOAD_IN_PROGRESS: { code: 14, retriable: true, message: "group coordinator is loading" },
  COORDINATOR_NOT_AVAILABLE: { code: 15, retriable: true, message: "group coordinator is not available" },
  NOT_COORDINATOR: { code: 16, retriable: true, message: "this broker is not the group's coordinator" },
  INVALID_TOPIC_EXCEPTION: { code: 17, retriable: false, message: "topic name is invalid" },
  RECORD_LIST_TOO_LARGE: { code: 18, retriable: false, message: "request's record batches exceed the limit" },
  NOT_ENOUGH_REPLICAS: { code: 19, retriable: true, message: "fewer in-sync replicas than min.insync.replicas" },
  INVALID_REQUIRED_ACKS: { code: 21, retriable: false, message: "acks must be 0, 1 or -1 (all)" },
  INVALID_TIMESTAMP: { code: 32, retriable: false, message: "record timestamp is out of the accepted range" },
  UNSUPPORTED_VERSION: { code: 35, retriable: false, message: "protocol version is not supported" },
  TOPIC_ALREADY_EXISTS: { code: 36, retriable: false, message: "topic already exists" },
  INVALID_PARTITIONS: { code: 37, retriable: false, message: "partition count is invalid" },
  INVALID_REPLICATION_FACTOR: { code: 38, retriable: false, message: "replication factor is invalid" },
  INVALID_REPLICA_ASSIGNMENT: { code: 39, retriable: false, message: "replica assignment (membership change) is invalid" },
  INVALID_REQUEST: { code: 42, retriable: false, message: "request is malformed" },
  INVALID_CONFIG: { code: 40, retriable: false, message: "configuration is invalid" },
  KAFKA_STORAGE_ERROR: { code: 56, retriable: true, message: "the broker's storage failed" },
  REASSIGNMENT_IN_PROGRESS: { code: 60, retriable: true, message: "a replica reassignment (membership change) is in progress" },
  FENCED_LEADER_EPOCH: { code: 74, retriable: true, message: "leader epoch is older than the current one" },
  UNSUPPORTED_COMPRESSION_TYPE: { code: 76, retriable: false, message: "compression codec is not supported" },
  INVALID_RECORD: { code: 87, retriable: false, message: "record failed validation" },
  // Consumer groups (KIP-848 numbering; see broker/src/group/README.md for when each is returned).
  INVALID_GROUP_ID: { code: 24, retriable: false, message: "group id is invalid" },
  UNKNOWN_MEMBER_ID: { code: 25, retriable: false, message: "the coordinator does not know this member" },
  INVALID_COMMIT_OFFSET_SIZE: { code: 28, retriable: false, message: "committed offset is invalid" },
  NON_EMPTY_GROUP: { code: 68, retriable: false, message: "the group has members" },
  GROUP_ID_NOT_FOUND: { code: 69, retriable: false, message: "group does not exist" },
  GROUP_MAX_SIZE_REACHED: { code: 81, retriable: false, message: "the group has reached its maximum size" },
  FENCED_INSTANCE_ID: { code: 82, retriable: false, message: "another member holds this static instance id" },
  GROUP_SUBSCRIBED_TO_TOPIC: { code: 86, retriable: false, message: "the group is subscribed to this topic" },
  FENCED_MEMBER_EPOCH: { code: 110, retriable: false, message: "member epoch is fenced; drop all partitions and rejoin" },
  UNRELEASED_INSTANCE_ID: { code: 111, retriable: false, message: "static instance id is still held by a live member" },
  UNSUPPORTED_ASSIGNOR: { code: 112, retriable: false, message: "assignor is not supported" },
  STALE_MEMBER_EPOCH: { code: 113, retriable: false, message: "member epoch is stale; heartbeat for the current one" },
  INVALID_REGULAR_EXPRESSION: { code: 128, retriable: false, message: "subscription regular expression is invalid" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof errorTable;

const byCode = new Map<number, ErrorName>(
  (Object.keys(errorTable) as ErrorName[]).map((name) => [errorTable[name].code, name]),
);

export function errorNameOf(code: number): ErrorName {
  return byCode.get(code) ?? "UNKNOWN_SERVER_ERROR";
}

export interface SluiceErrorOptions {
  readonly cause?: unknown;
}

/** An operating error with a stable code. Subclasses add typed fields. */
export class SluiceError extends Error {
  readonly errorName: ErrorName;
  readonly code: number;
  readonly retriable: boolean;

  constructor(errorName: ErrorName, detail?: string, options?: SluiceErrorOptions) {
    const spec = errorTable[errorName];
    super(detail === undefined ? spec.message : `${spec.message}: ${detail}`, options);
    this.name = "SluiceError";
    this.errorName = errorName;
    this.code = spec.code;
    this.retriable = spec.retriable;
  }
}

/** A batch failed its CRC, magic or structural checks; `position` is where in the input. */
export class CorruptRecordError extends SluiceError {
  readonly position: number | undefined;
  /** What was wrong, without the position (lets a caller re-point the error). */
  readonly detail: string;
  constructor(detail: string, position?: number, options?: SluiceErrorOptions) {
    super("CORRUPT_MESSAGE", position === undefined ? detail : `${detail} (at byte ${position})`, options);
    this.name = "CorruptRecordError";
    this.position = position;
    this.detail = detail;
  }
}

export class MessageTooLargeError extends SluiceError {
  readonly sizeBytes: number;
  readonly maxBytes: number;
  constructor(sizeBytes: number, maxBytes: number) {
    super("MESSAGE_TOO_LARGE", `${sizeBytes} bytes > limit ${maxBytes} bytes`);
    this.name = "MessageTooLargeError";
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

export class OffsetOutOfRangeError extends SluiceError {
  readonly offset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  constructor(offset: number, logStartOffset: number, logEndOffset: number) {
    super("OFFSET_OUT_OF_RANGE", `offset ${offset} not in [${logStartOffset}, ${logEndOffset}]`);
    this.name = "OffsetOutOfRangeError";
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}

export class UnsupportedCompressionError extends SluiceError {
  readonly codec: number;
  constructor(codec: number) {
    super("UNSUPPORTED_COMPRESSION_TYPE", `codec id ${codec}`);
    this.name = "UnsupportedCompressionError";
    this.codec = codec;
  }
}

/**
 * A record or batch handed to the encoder breaks the format's rules (no records, a field out of
 * its wire range, a record without a timestamp). Nothing was encoded.
 */
export class InvalidRecordError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_RECORD", detail);
    this.name = "InvalidRecordError";
  }
}

/**
 * Decompressing a batch's records would produce more than `maxBytes`: refused before allocating
 * when the compressed stream declares its size, otherwise as soon as the output crosses the
 * limit. This is the guard against decompression bombs; the batch itself may be well formed.
 */
export class DecompressionLimitError extends SluiceError {
  readonly codec: number;
  readonly maxBytes: number;
  constructor(codec: number, maxBytes: number, detail?: string) {
    super(
      "MESSAGE_TOO_LARGE",
      `codec ${codec}: decompressed records exceed ${maxBytes} bytes${detail === undefined ? "" : ` (${detail})`}`,
    );
    this.name = "DecompressionLimitError";
    this.codec = codec;
    this.maxBytes = maxBytes;
  }
}

/** The disk failed underneath us (EIO, ENOSPC, ...): the partition goes offline, data is not touched. */
export class StorageError extends SluiceError {
  constructor(detail: string, options?: SluiceErrorOptions) {
    super("KAFKA_STORAGE_ERROR", detail, options);
    this.name = "StorageError";
  }
}
