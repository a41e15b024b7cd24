/**
 * Which part of a log a clean may touch, how dirty it is, and how its segments are grouped for
 * rewriting: pure functions of segment facts, offsets, the config and the time (Kafka's
 * `LogCleanerManager.cleanableOffsets` and `groupSegmentsBySize`), so the rules are tested
 * without a disk.
 *
 * Sections of a log, by offset:
 *
 *   logStart ....... firstDirty ........... firstUncleanable ........ logEnd
 *   |   clean section   |     dirty section       |   not cleanable now   |
 *
 * - clean: compacted by an earlier clean (the cleaner checkpoint), at most one record per key.
 * - dirty: appended since; pass 1 maps its keys to their latest offsets.
 * - not cleanable: the active segment, everything from the first dirty segment whose largest
 *   timestamp is younger than `min.compaction.lag.ms`, and everything at or above the stable
 *   offset (the high watermark: records Raft may still truncate are never compacted, or a
 *   committed record could be removed in favour of one that later disappears).
 *
 * Invariants: firstDirty is within [logStart, logEnd]; a checkpoint that cannot be right for
 * this log (below the log start, past the log end or past the active segment's base: the log
 * was truncated or restarted) resets to the log start, which costs a full re-clean and is always
 * correct. Groups are consecutive, each within `maxGroupBytes` (one segment alone may exceed
 * it) and within an int32 of relative offsets.
 */

const INT32_MAX = 0x7fff_ffff;

export interface CleanableSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** -1 when the segment holds no timestamps. */
  readonly largestTimestampMs: number;
}

export interface CleanableInput {
  /** Every segment, oldest first; the last one is active. */
  readonly segments: readonly CleanableSegment[];
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** The cleaner checkpoint: offsets below it were cleaned. Undefined when never cleaned. */
  readonly checkpoint: number | undefined;
  /** Records at or above this may still be truncated (the high watermark); the log end when unreplicated. */
  readonly stableOffset: number;
  readonly nowMs: number;
  readonly minCompactionLagMs: number;
}

export interface CleanableRange {
  readonly firstDirtyOffset: number;
  readonly firstUncleanableOffset: number;
  /** The first segment holding offsets at or above the log start (those wholly below are retention's to delete). */
  readonly firstSegmentIndex: number;
  /** Bytes of segments wholly in the clean section. */
  readonly cleanBytes: number;
  /** Bytes of segments overlapping the dirty section. */
  readonly dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes); 0 for an empty range. */
  readonly dirtyRatio: number;
}

/** One past the last offset segment `i` may hold: the next segment's base, or the log end for the last. */
function segmentEnd(segments: readonly CleanableSegment[], i: number, logEnd: number): number {
  return segments[i + 1]?.baseOffset ?? logEnd;
}

export function cleanableRange(input: CleanableInput): CleanableRange {
  const { segments, logStartOffset, logEndOffset, nowMs, minCompactionLagMs } = input;
  const activeIndex = segments.length - 1;
  const activeBase = segments[activeIndex]?.baseOffset ?? logEndOffset;
  const checkpoint = input.checkpoint;
  const firstDirty = checkpoint === undefined || checkpoint < logStartOffset || checkpoint > logEndOffset || checkpoint > activeBase ? logStartOffset : checkpoint;

  let firstSegmentIndex = 0;
  while (firstSegmentIndex < activeIndex && segmentEnd(segments, firstSegmentIndex, logEndOffset) <= logStartOffset) firstSegmentIndex++;

  let firstUncleanable = Math.min(activeBase, Math.max(input.stableOffset, logStartOffset));
  if (minCompactionLagMs > 0) {
    for (let i = firstSegmentIndex; i < activeIndex; i++) {
      const segment = segments[i] as CleanableSegment;
      if (segmentEnd(segments, i, logEndOffset) <= firstDirty) continue;
      // A segment without timestamps (-1) cannot be shown young, so it does not hold compaction back.
      if (segment.largestTimestampMs >= 0 && segment.largestTimestampMs > nowMs - minCompactionLagMs) {
        firstUncleanable = Math.min(firstUncleanable, segment.baseOffset);
        break;
      }
    }
  }

  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (let i = firstSegmentIndex; i < activeIndex; i++) {
    const segment = segments[i] as CleanableSegment;
    const end = segmentEnd(segments, i, logEndOffset);
    if (end <= firstDirty) cleanBytes += segment.sizeBytes;
    else if (segment.baseOffset < firstUncleanable) dirtyBytes += segment.sizeBytes;
  }
  const total = cleanBytes + dirtyBytes;
  return {
    firstDirtyOffset: firstDirty,
    firstUncleanableOffset: firstUncleanable,
    firstSegmentIndex,
    cleanBytes,
    dirtyBytes,
    dirtyRatio: total === 0 ? 0 : dirtyBytes / total,
  };
}

export interface GroupableSegment {
  readonly baseOffset: number;
  readonly sizeBytes: number;
}

/**
 * Splits consecutive segments into groups, each rewritten as one cleaned segment: a group grows
 * while its bytes stay within `maxGroupBytes` and every offset up to the next segment's base
 * (`endOffset` after the last) stays within an int32 of its first base offset. Returns the
 * groups as lists of base offsets.
 */
export function groupSegments(segments: readonly GroupableSegment[], endOffset: number, maxGroupBytes: number): number[][] {
  const groups: number[][] = [];
  let i = 0;
  while (i < segments.length) {
    const first = segments[i] as GroupableSegment;
    const group = [first.baseOffset];
    let bytes = first.sizeBytes;
    let j = i + 1;
    while (j < segments.length) {
      const next = segments[j] as GroupableSegment;
      const nextEnd = segments[j + 1]?.baseOffset ?? endOffset;
      if (bytes + next.sizeBytes > maxGroupBytes || nextEnd - 1 - first.baseOffset > INT32_MAX) break;
      group.push(next.baseOffset);
      bytes += next.sizeBytes;
      j++;
    }
    groups.push(group);
    i = j;
  }
  return groups;
}
