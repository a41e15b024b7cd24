/**
 * The one retry policy of the SDK (kafkajs's habit): which errors are retried, how long to
 * wait before attempt n, and when to give up. Pure: time and randomness are arguments.
 *
 * Backoff before retry n (n = 1 for the first retry) is
 *   min(backoffMaxMs, backoffMs × 2^(n-1)) × (1 ± jitter)
 * and a retry is only made while the attempt count and the deadline allow it.
 */
import { SluiceError, type ErrorName } from "@sluice/protocol";
import { RETRY_ATTEMPTS_MAX, RETRY_BACKOFF_MAX_MS_DEFAULT, RETRY_BACKOFF_MS_DEFAULT, RETRY_JITTER_RATIO } from "./limits.js";
import { ConfigError } from "./errors.js";
import type { Random } from "./runtime.js";

export interface RetryOptions {
  /** First backoff; default RETRY_BACKOFF_MS_DEFAULT. */
  readonly backoffMs?: number;
  /** Largest backoff; default RETRY_BACKOFF_MAX_MS_DEFAULT. */
  readonly backoffMaxMs?: number;
  /** Attempts in total (first try included); default and cap RETRY_ATTEMPTS_MAX. */
  readonly attemptsMax?: number;
}

/** Errors after which the client's metadata is likely stale: refresh before retrying. */
const metadataErrors: ReadonlySet<ErrorName> = new Set<ErrorName>([
  "NOT_LEADER_OR_FOLLOWER",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NETWORK_EXCEPTION",
]);

export function isRetriable(error: unknown): boolean {
  return error instanceof SluiceError && error.retriable;
}

export function needsMetadataRefresh(error: unknown): boolean {
  return error instanceof SluiceError && metadataErrors.has(error.errorName);
}

export class RetryPolicy {
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  readonly attemptsMax: number;

  constructor(options: RetryOptions = {}) {
    this.backoffMs = options.backoffMs ?? RETRY_BACKOFF_MS_DEFAULT;
    this.backoffMaxMs = options.backoffMaxMs ?? RETRY_BACKOFF_MAX_MS_DEFAULT;
    this.attemptsMax = options.attemptsMax ?? RETRY_ATTEMPTS_MAX;
    if (!Number.isFinite(this.backoffMs) || this.backoffMs < 0) throw new ConfigError("retry.backoffMs", "must be a number >= 0");
    if (!Number.isFinite(this.backoffMaxMs) || this.backoffMaxMs < this.backoffMs) {
      throw new ConfigError("retry.backoffMaxMs", "must be a number >= retry.backoffMs");
    }
    if (!Number.isInteger(this.attemptsMax) || this.attemptsMax < 1 || this.attemptsMax > RETRY_ATTEMPTS_MAX) {
      throw new ConfigError("retry.attemptsMax", `must be an integer in [1, ${RETRY_ATTEMPTS_MAX}]`);
    }
  }

  /** Milliseconds to wait before retry number `retry` (1-based). */
  backoffFor(retry: number, random: Random): number {
    const exponent = Math.min(Math.max(retry - 1, 0), 30);
    const base = Math.min(this.backoffMaxMs, this.backoffMs * 2 ** exponent);
    const jitter = 1 + RETRY_JITTER_RATIO * (2 * random.next() - 1);
    return Math.max(0, Math.round(base * jitter));
  }

  /**
   * Whether to retry after `attempts` attempts failed with `error`, and after how long. A retry
   * is refused when the error is not retriable, attempts are used up, or the retry could not
   * start before `deadlineMs`.
   */
  decide(error: unknown, attempts: number, nowMs: number, deadlineMs: number, random: Random): { retry: true; delayMs: number } | { retry: false } {
    if (!isRetriable(error) || attempts >= this.attemptsMax) return { retry: false };
    const delayMs = this.backoffFor(attempts, random);
    if (nowMs + delayMs >= deadlineMs) return { retry: false };
    return { retry: true, delayMs };
  }
}
