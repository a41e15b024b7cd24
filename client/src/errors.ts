/**
 * Client-side errors. All are `SluiceError`s so callers handle one family: each carries a stable
 * `errorName`/`code` from the protocol's table (the closest wire meaning) and `retriable`.
 * Errors the broker sends back arrive as `SluiceError`s via `fromErrorInfo`; `toClientError`
 * turns gRPC transport failures into the classes below.
 *
 * | class                | errorName           | when                                                  |
 * | -------------------- | ------------------- | ----------------------------------------------------- |
 * | TimeoutError         | REQUEST_TIMED_OUT   | a request or a record's delivery ran out of time      |
 * | BufferExhaustedError | REQUEST_TIMED_OUT   | `send()` waited `maxBlockMs` for buffer memory        |
 * | ConnectionError      | NETWORK_EXCEPTION   | the broker could not be reached or the stream broke   |
 * | ClientClosedError    | INVALID_REQUEST     | a call on a closed producer/consumer/admin            |
 * | ConfigError          | INVALID_CONFIG      | an option passed to the SDK is out of range            |
 * | BrokerCallError      | (from gRPC status)  | the broker rejected a call at the gRPC level          |
 * | NoOffsetError        | OFFSET_OUT_OF_RANGE | no position and autoOffsetReset is "none"             |
 * | OffsetCommitError    | (first failure's)   | a group commit failed for some partitions             |
 * | RebalanceCallbackError | INVALID_REQUEST   | an onAssigned / onRevoked / onLost callback threw      |
 */
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { SluiceError, type ErrorName, type SluiceErrorOptions } from "@sluice/protocol";

export class TimeoutError extends SluiceError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: SluiceErrorOptions) {
    super("REQUEST_TIMED_OUT", `${what} after ${timeoutMs} ms`, options);
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** Kafka's BufferExhaustedException is a TimeoutException too: the wait for memory timed out. */
export class BufferExhaustedError extends TimeoutError {
  readonly requestedBytes: number;
  readonly bufferMemoryBytes: number;
  constructor(requestedBytes: number, bufferMemoryBytes: number, maxBlockMs: number) {
    super(`no room for ${requestedBytes} bytes in the ${bufferMemoryBytes}-byte producer buffer`, maxBlockMs);
    this.name = "BufferExhaustedError";
    this.requestedBytes = requestedBytes;
    this.bufferMemoryBytes = bufferMemoryBytes;
  }
}

export class ConnectionError extends SluiceError {
  readonly address: string;
  /** The gRPC status code when the failure came from gRPC. */
  readonly grpcCode: number | undefined;
  constructor(address: string, detail: string, grpcCode?: number, options?: SluiceErrorOptions) {
    super("NETWORK_EXCEPTION", `${address}: ${detail}`, options);
    this.name = "ConnectionError";
    this.address = address;
    this.grpcCode = grpcCode;
  }
}

export class ClientClosedError extends SluiceError {
  constructor(what: string) {
    super("INVALID_REQUEST", `${what} is closed`);
    this.message = `${what} is closed`;
    this.name = "ClientClosedError";
  }
}

export class ConfigError extends SluiceError {
  readonly option: string;
  constructor(option: string, reason: string) {
    super("INVALID_CONFIG", `option ${option}: ${reason}`);
    this.name = "ConfigError";
    this.option = option;
  }
}

/** The broker refused a call with a gRPC status (bad request, unsupported RPC, internal error). */
export class BrokerCallError extends SluiceError {
  readonly address: string;
  readonly grpcCode: number;
  constructor(errorName: ErrorName, address: string, grpcCode: number, detail: string, options?: SluiceErrorOptions) {
    super(errorName, `${address}: ${detail}`, options);
    this.name = "BrokerCallError";
    this.address = address;
    this.grpcCode = grpcCode;
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/**
 * Maps a failure of a gRPC call to a typed error. Transport failures are retriable
 * ConnectionErrors; a deadline is a TimeoutError; statuses that mean "the request itself is
 * wrong" are not retriable.
 */
export function toClientError(error: unknown, address: string, rpc: string, timeoutMs: number): SluiceError {
  if (error instanceof SluiceError) return error;
  if (!isServiceError(error)) {
    return new ConnectionError(address, `${rpc} failed: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
  }
  const detail = `${rpc}: ${error.details || error.message}`;
  switch (error.code) {
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new TimeoutError(`${rpc} to ${address}`, timeoutMs, { cause: error });
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
    case GrpcStatus.ABORTED:
    case GrpcStatus.UNKNOWN:
      return new ConnectionError(address, detail, error.code, { cause: error });
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new BrokerCallError("RECORD_LIST_TOO_LARGE", address, error.code, detail, { cause: error });
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.UNIMPLEMENTED:
      return new BrokerCallError("INVALID_REQUEST", address, error.code, detail, { cause: error });
    default:
      return new BrokerCallError("UNKNOWN_SERVER_ERROR", address, error.code, detail, { cause: error });
  }
}

/** A consumer has no position for a partition and its reset policy is "none" (Kafka's NoOffsetForPartitionException). */
export class NoOffsetError extends SluiceError {
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number) {
    super("OFFSET_OUT_OF_RANGE", `no position for ${topic}-${partition} and autoOffsetReset is "none": seek first`);
    this.name = "NoOffsetError";
    this.topic = topic;
    this.partition = partition;
  }
}

/** Partitions whose group commit failed, each with the coordinator's error (STALE_MEMBER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, ...). */
export class OffsetCommitError extends SluiceError {
  readonly groupId: string;
  readonly failures: readonly { readonly topic: string; readonly partition: number; readonly error: SluiceError }[];
  constructor(groupId: string, failures: readonly { readonly topic: string; readonly partition: number; readonly error: SluiceError }[]) {
    const first = failures[0];
    const what = failures.map((f) => `${f.topic}-${f.partition}: ${f.error.errorName}`).join(", ");
    super(first?.error.errorName ?? "UNKNOWN_SERVER_ERROR", `group "${groupId}": commit failed for ${what}`, { cause: first?.error });
    this.message = `group "${groupId}": commit failed for ${what}`;
    this.name = "OffsetCommitError";
    this.groupId = groupId;
    this.failures = failures;
  }
}

/** A rebalance callback threw; the consumer carried on with the rebalance and reports it from iteration. */
export class RebalanceCallbackError extends SluiceError {
  readonly callback: "onAssigned" | "onRevoked" | "onLost";
  constructor(callback: "onAssigned" | "onRevoked" | "onLost", cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super("INVALID_REQUEST", `${callback} callback threw: ${detail}`, { cause });
    this.message = `${callback} callback threw: ${detail}`;
    this.name = "RebalanceCallbackError";
    this.callback = callback;
  }
}
