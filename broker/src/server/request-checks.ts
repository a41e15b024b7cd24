/**
 * Checks on request fields shared by the handlers. A problem with one partition becomes that
 * partition's ErrorInfo; a problem with the whole request (too many partitions) is a
 * `RequestError`, answered with gRPC status INVALID_ARGUMENT by the registry.
 *
 * Non-retriable codes are used for malformed input so that clients fail fast instead of
 * retrying something that can never succeed.
 */
import { SluiceError } from "@sluice/protocol";
import { validateTopicName } from "../metadata/topic-name.js";

const INT32_MAX = 2 ** 31 - 1;

/** The whole request is malformed. */
export class RequestError extends SluiceError {
  constructor(detail: string) {
    super("INVALID_REQUEST", detail);
    this.name = "RequestError";
  }
}

/** null when the partition index is usable, otherwise the error to report for it. */
export function partitionIndexError(partition: number): SluiceError | null {
  if (!Number.isInteger(partition) || partition < 0 || partition > INT32_MAX) {
    return new SluiceError("INVALID_REQUEST", `partition ${partition} is not a partition index (an integer >= 0)`);
  }
  return null;
}

/** null when the name could be a topic, otherwise INVALID_TOPIC_EXCEPTION saying why. */
export function topicNameError(topic: string): SluiceError | null {
  try {
    validateTopicName(topic);
    return null;
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
}

export function checkCount(what: string, count: number, max: number): void {
  if (count > max) throw new RequestError(`${count} ${what} in one request, the limit is ${max}`);
}

/** The request names a service this server does not have (health checks): gRPC NOT_FOUND. */
export class ServiceNotFoundError extends Error {
  readonly service: string;
  constructor(service: string) {
    super(`unknown service ${JSON.stringify(service)}`);
    this.name = "ServiceNotFoundError";
    this.service = service;
  }
}
