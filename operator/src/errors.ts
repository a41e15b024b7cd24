/**
 * The operator's error classes. Bad flags are an `OperatorConfigError` (a `SluiceError` named
 * INVALID_CONFIG); an apiserver refusal or an unreachable apiserver is a `KubeApiError` carrying
 * the HTTP status and the apiserver's reason, with `retriable` saying whether trying again can
 * help (429, 5xx, timeouts and lost connections can; 4xx refusals cannot).
 */
import { SluiceError } from "@sluice/protocol";

export class OperatorConfigError extends SluiceError {
  readonly flag: string;
  readonly detail: string;
  constructor(flag: string, detail: string) {
    super("INVALID_CONFIG", `${flag}: ${detail}`);
    this.name = "OperatorConfigError";
    this.flag = flag;
    this.detail = `${flag}: ${detail}`;
  }
}

export class KubeApiError extends Error {
  /** HTTP status; 0 when no answer came (connection refused, reset, timed out). */
  readonly status: number;
  /** The apiserver's Status reason (NotFound, Conflict, Invalid, Forbidden, ...), or "" . */
  readonly reason: string;
  readonly retriable: boolean;
  constructor(message: string, status: number, reason: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
    this.retriable = status === 0 || status === 429 || status >= 500;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}

/** One line for logs and status messages. */
export function describeError(error: unknown): string {
  if (error instanceof SluiceError) return `${error.errorName}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
