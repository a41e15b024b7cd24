// Proves the retention rule: it deletes only a prefix of old segments, never the active one, and each deleted segment qualifies by log start, time or size.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { selectSegmentsToDelete, type RetentionSegment } from "./retention.js";

const NOW = 1_000_000;

const segmentsArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -1, max: NOW })), { minLength: 1, maxLength: 12 })
  .map((raw) => {
    let base = 0;
    return raw.map(([count, size, ts]) => {
      const s: RetentionSegment = { baseOffset: base, sizeBytes: size, largestTimestampMs: ts };
      base += count;
      return s;
    });
  });

describe("selectSegmentsToDelete", () => {
  it("deletes a qualifying prefix, never the active segment, and stops at the first that does not qualify", () => {
    fc.assert(
      fc.property(segmentsArb, fc.integer({ min: 0, max: 400 }), fc.constantFrom(-1, 0, 5000, 500_000), fc.constantFrom(-1, 0, 1500, 4000), (segments, logStart, retentionMs, retentionBytes) => {
        const decision = selectSegmentsToDelete({ segments, logStartOffset: logStart, retentionMs, retentionBytes, nowMs: NOW });
        expect(decision.count).toBeLessThan(segments.length);
        let total = segments.reduce((n, s) => n + s.sizeBytes, 0);
        for (let i = 0; i <= decision.count && i + 1 < segments.length; i++) {
          const s = segments[i] as RetentionSegment;
          const byStart = (segments[i + 1] as RetentionSegment).baseOffset <= logStart;
          const byTime = retentionMs >= 0 && s.largestTimestampMs >= 0 && s.largestTimestampMs < NOW - retentionMs;
          const bySize = retentionBytes >= 0 && total - s.sizeBytes >= retentionBytes;
          // Deleted ones qualify; the first kept one (if not active) does not.
          expect(byStart || byTime || bySize).toBe(i < decision.count);
          total -= s.sizeBytes;
        }
      }),
    );
  });

  it("names the reason for each deleted segment", () => {
    const segments: RetentionSegment[] = [
      { baseOffset: 0, sizeBytes: 10, largestTimestampMs: NOW },
      { baseOffset: 10, sizeBytes: 10, largestTimestampMs: 1 },
      { baseOffset: 20, sizeBytes: 10, largestTimestampMs: NOW },
      { baseOffset: 30, sizeBytes: 10, largestTimestampMs: NOW },
    ];
    expect(selectSegmentsToDelete({ segments, logStartOffset: 12, retentionMs: 1000, retentionBytes: 10, nowMs: NOW }).reasons).toEqual(["log-start", "retention-time", "retention-bytes"]);
  });
});
