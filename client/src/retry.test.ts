// Proves the retry policy grows its backoff exponentially within the jitter band, caps it, and
// refuses to retry non-retriable errors, exhausted attempts and retries past the deadline.
import { describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { ConfigError, ConnectionError } from "./errors.js";
import { isRetriable, needsMetadataRefresh, RetryPolicy } from "./retry.js";
import type { Random } from "./runtime.js";

const fixed = (value: number): Random => ({ next: () => value });

describe("RetryPolicy", () => {
  const policy = new RetryPolicy({ backoffMs: 100, backoffMaxMs: 1000, attemptsMax: 5 });

  it("doubles the backoff per retry and caps it at backoffMaxMs (no jitter at r=0.5)", () => {
    const mid = fixed(0.5);
    expect([1, 2, 3, 4, 5, 6].map((n) => policy.backoffFor(n, mid))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("keeps jitter within ±20%", () => {
    expect(policy.backoffFor(1, fixed(0))).toBe(80);
    expect(policy.backoffFor(1, fixed(0.999999))).toBe(120);
    expect(policy.backoffFor(10, fixed(0))).toBe(800);
  });

  it("retries retriable errors only", () => {
    const now = 1000;
    expect(policy.decide(new SluiceError("NOT_LEADER_OR_FOLLOWER"), 1, now, now + 10_000, fixed(0.5))).toEqual({ retry: true, delayMs: 100 });
    expect(policy.decide(new SluiceError("INVALID_TOPIC_EXCEPTION"), 1, now, now + 10_000, fixed(0.5))).toEqual({ retry: false });
    expect(policy.decide(new Error("plain"), 1, now, now + 10_000, fixed(0.5))).toEqual({ retry: false });
  });

  it("stops when attempts are used up or the retry would start after the deadline", () => {
    const error = new ConnectionError("127.0.0.1:1", "refused");
    expect(policy.decide(error, 5, 0, 1_000_000, fixed(0.5))).toEqual({ retry: false });
    expect(policy.decide(error, 4, 0, 1_000_000, fixed(0.5))).toEqual({ retry: true, delayMs: 800 });
    expect(policy.decide(error, 1, 0, 100, fixed(0.5))).toEqual({ retry: false });
    expect(policy.decide(error, 1, 0, 101, fixed(0.5))).toEqual({ retry: true, delayMs: 100 });
  });

  it("classifies errors that mean stale metadata", () => {
    expect(needsMetadataRefresh(new SluiceError("NOT_LEADER_OR_FOLLOWER"))).toBe(true);
    expect(needsMetadataRefresh(new SluiceError("UNKNOWN_TOPIC_OR_PARTITION"))).toBe(true);
    expect(needsMetadataRefresh(new SluiceError("LEADER_NOT_AVAILABLE"))).toBe(true);
    expect(needsMetadataRefresh(new SluiceError("REQUEST_TIMED_OUT"))).toBe(false);
    expect(isRetriable(new SluiceError("CORRUPT_MESSAGE"))).toBe(true);
    expect(isRetriable(new SluiceError("MESSAGE_TOO_LARGE"))).toBe(false);
  });

  it("rejects nonsensical options with ConfigError", () => {
    expect(() => new RetryPolicy({ backoffMs: -1 })).toThrow(ConfigError);
    expect(() => new RetryPolicy({ backoffMs: 500, backoffMaxMs: 100 })).toThrow(ConfigError);
    expect(() => new RetryPolicy({ attemptsMax: 0 })).toThrow(ConfigError);
    expect(() => new RetryPolicy({ attemptsMax: 1.5 })).toThrow(ConfigError);
  });
});
