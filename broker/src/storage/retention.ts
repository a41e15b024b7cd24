/**
 * Which segments retention deletes: a pure function of segment facts, the log start offset,
 * the config and the time, so the rule is tested without a disk.
 *
 * Rules (Kafka's), applied to the oldest segments in order, never to the active (last) one,
 * and only as a prefix (a segment is deleted only if every older one is):
 * - log start: a segment whose successor starts at or below the log start holds only
 *   offsets below it (deleteRecordsBefore, or a log start checkpoint ahead of the files);
 * - time: `retentionMs` >= 0 and the segment's largest timestamp < now - retentionMs
 *   (a segment whose largest timestamp is unknown, -1, is never deleted by time);
 * - size: `retentionBytes` >= 0 and the log stays at or above `retentionBytes` without it.
 */

export interface RetentionSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  readonly largestTimestampMs: number;
}

export type RetentionReason = "log-start" | "retention-time" | "retention-bytes";

export interface RetentionInput {
  /** Every segment, oldest first; the last is the active one. */
  readonly segments: readonly RetentionSegment[];
  readonly logStartOffset: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly nowMs: number;
}

export interface RetentionDecision {
  /** How many of the oldest segments to delete. */
  readonly count: number;
  /** Why each of them goes (same order). */
  readonly reasons: readonly RetentionReason[];
}

export function selectSegmentsToDelete(input: RetentionInput): RetentionDecision {
  const { segments, logStartOffset, retentionMs, retentionBytes, nowMs } = input;
  const reasons: RetentionReason[] = [];
  let totalBytes = 0;
  for (const s of segments) totalBytes += s.sizeBytes;
  for (let i = 0; i + 1 < segments.length; i++) {
    const segment = segments[i] as RetentionSegment;
    const successor = segments[i + 1] as RetentionSegment;
    let reason: RetentionReason | undefined;
    if (successor.baseOffset <= logStartOffset) reason = "log-start";
    else if (retentionMs >= 0 && segment.largestTimestampMs >= 0 && segment.largestTimestampMs < nowMs - retentionMs) reason = "retention-time";
    else if (retentionBytes >= 0 && totalBytes - segment.sizeBytes >= retentionBytes) reason = "retention-bytes";
    if (reason === undefined) break;
    reasons.push(reason);
    totalBytes -= segment.sizeBytes;
  }
  return { count: reasons.length, reasons };
}
