/**
 * One clean of one log: Kafka's two passes over the compaction primitives of `PartitionLog`.
 *
 *   pass 1  read the dirty section, batch by batch, into the offset map (key -> latest offset)
 *           until the section ends or the map's budget is full; the clean then covers
 *           everything below where the map stopped (`cleanedThroughOffset`), and the next clean
 *           continues from there.
 *   pass 2  rewrite the segments below that point, oldest first, in groups that stay within
 *           `segment.bytes` and an int32 of offsets: each batch through `filterBatch`
 *           (batch-filter.ts); a group in which nothing changes is left alone; otherwise its
 *           batches go into a `CleanedSegmentWriter` that replaces the group with
 *           `replaceSegments` (crash-safe: segment-swap.ts).
 *
 * Invariants:
 * - Nothing at or above the first uncleanable offset (active segment, min.compaction.lag.ms,
 *   stable offset) is decided on or changed; batches there are copied whole.
 * - Offsets never move and never reorder: batches keep their base offsets and order, kept
 *   records their offsets; a group's last batch is kept (as a bare header if emptied), so each
 *   cleaned segment covers exactly its sources' offsets.
 * - The log's queue is held only inside `replaceSegments` (one swap per group); reads, decoding,
 *   encoding and writing the `.cleaned` files run beside appends, through the I/O throttle,
 *   yielding to the event loop every CLEANER_YIELD_BYTES.
 * - Groups swap oldest first, each atomically: a crash or error mid-clean leaves a log in which
 *   some leading groups are cleaned and the rest untouched, every one a valid compacted state.
 *   A writer is aborted (its `.cleaned` files deleted) only before its swap began, or when the
 *   swap was refused unchanged (SegmentSwapConflictError); a failed swap is left to recovery,
 *   which rolls it forward or back.
 */
import { CorruptRecordError, assert } from "@sluice/protocol";
import type { BatchSummary } from "../batch-scan.js";
import { SegmentSwapConflictError } from "../errors.js";
import type { IoThrottle } from "../io-throttle.js";
import { SEGMENT_BYTES_MAX } from "../limits.js";
import type { PartitionLog } from "../partition-log.js";
import type { CleanedSegmentWriter } from "../segment-swap.js";
import { emptyBatchHeader, filterBatch, keyedRecordsOf, type FilterContext } from "./batch-filter.js";
import { cleanableRange, groupSegments, type CleanableRange } from "./cleanable.js";
import type { CleanerCheckpoint } from "./cleaner-checkpoint.js";
import { CleanedSegmentTooLargeError, DedupeBufferTooSmallError } from "./errors.js";
import { OffsetMap } from "./offset-map.js";

export interface CleanParams {
  /** The clean's wall time: compaction lag, delete horizons. */
  readonly nowMs: number;
  readonly checkpoint: CleanerCheckpoint | undefined;
  /** Records at or above this may still be truncated (the high watermark). */
  readonly stableOffset: number;
  readonly dedupeBufferBytes: number;
  readonly throttle: IoThrottle | undefined;
  readonly yieldEveryBytes: number;
  readonly yieldToEventLoop: () => Promise<void>;
  /** Throws (CompactionAbortedError) when the clean must stop. */
  readonly checkCancelled: () => void;
}

export interface CleanResult {
  readonly dir: string;
  readonly firstDirtyOffset: number;
  readonly firstUncleanableOffset: number;
  /** Offsets below this are now clean: the new cleaner checkpoint. */
  readonly cleanedThroughOffset: number;
  /** The offset map filled before the dirty section ended; the next clean continues at cleanedThroughOffset. */
  readonly mapFull: boolean;
  readonly mapKeys: number;
  readonly groupsSwapped: number;
  /** The base offsets of each group of segments replaced, in swap order (oldest first). */
  readonly swappedGroups: ReadonlyArray<readonly number[]>;
  readonly segmentsReplaced: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly batchesRead: number;
  readonly batchesRebuilt: number;
  readonly batchesDropped: number;
  /** Batches kept whole because their records did not decode or could not be rebuilt faithfully. */
  readonly batchesKeptOpaque: number;
  readonly recordsRemoved: number;
  readonly tombstonesRemoved: number;
  /** Earliest delete horizon among tombstones left in the clean section (for scheduling the next clean). */
  readonly earliestHorizonMs: number | undefined;
}

interface Counters {
  bytesRead: number;
  bytesWritten: number;
  batchesRead: number;
  batchesRebuilt: number;
  batchesDropped: number;
  batchesKeptOpaque: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  sinceYield: number;
}

class Pacer {
  constructor(
    readonly params: CleanParams,
    readonly counters: Counters,
  ) {}

  /** After each batch read (`again` for a second read of a batch): stop if asked, give the event loop a turn now and then. */
  async read(bytes: number, again = false): Promise<void> {
    this.counters.bytesRead += bytes;
    if (!again) this.counters.batchesRead++;
    this.counters.sinceYield += bytes;
    this.params.checkCancelled();
    if (this.counters.sinceYield >= this.params.yieldEveryBytes) {
      this.counters.sinceYield = 0;
      await this.params.yieldToEventLoop();
      this.params.checkCancelled();
    }
  }
}

/**
 * The batches of one source segment. A segment that retention deleted or a truncation cut while
 * the clean read it is a conflict (the next round retries), not an error: the read fails, and
 * whether the segment is still there, whole, tells the two apart.
 */
async function* batchesOf(log: PartitionLog, base: number, throttle: IoThrottle | undefined): AsyncGenerator<{ batch: BatchSummary; bytes: Buffer }> {
  try {
    yield* log.readSegmentBatches(base, throttle);
  } catch (error) {
    if (error instanceof SegmentSwapConflictError) throw error;
    let now: { sizeBytes: number; active: boolean } | undefined;
    try {
      now = (await log.segmentInfos()).find((s) => s.baseOffset === base);
    } catch {
      throw error;
    }
    const cut = error instanceof CorruptRecordError && now !== undefined && error.position !== undefined && error.position >= now.sizeBytes;
    if (now === undefined || now.active || cut) throw new SegmentSwapConflictError(`segment ${base} was deleted or truncated during the clean`);
    throw error;
  }
}

/** Pass 1. Returns where the map stopped (everything below is mapped) and whether it was full. */
async function buildOffsetMap(log: PartitionLog, range: CleanableRange, bases: readonly number[], map: OffsetMap, pacer: Pacer, throttle: IoThrottle | undefined): Promise<{ end: number; full: boolean }> {
  const { firstDirtyOffset: from, firstUncleanableOffset: until } = range;
  let mappedAny = false;
  for (const base of bases) {
    for await (const { batch, bytes } of batchesOf(log, base, throttle)) {
      await pacer.read(batch.sizeBytes);
      if (batch.lastOffset < from) continue;
      if (batch.lastOffset >= until) return { end: Math.min(batch.baseOffset, until), full: false };
      // Records that do not decode have no keys to map; pass 2 keeps their batch whole.
      const keyed = keyedRecordsOf(bytes);
      if (keyed === undefined) continue;
      const { put, newKeys } = map.putBatch(keyed);
      if (!put) {
        if (!mappedAny) throw new DedupeBufferTooSmallError(map.budgetBytes, batch.baseOffset, newKeys);
        return { end: batch.baseOffset, full: true };
      }
      mappedAny = true;
    }
  }
  return { end: until, full: false };
}

interface GroupOutcome {
  readonly swapped: boolean;
  readonly recordsRemoved: number;
  readonly tombstonesRemoved: number;
  readonly batchesRebuilt: number;
  readonly batchesDropped: number;
  readonly bytesWritten: number;
  readonly earliestHorizonMs: number | undefined;
}

/** Pass 2 for one group of consecutive segments. */
async function cleanGroup(log: PartitionLog, bases: readonly number[], cleanBound: number, ctx: FilterContext, pacer: Pacer, throttle: IoThrottle | undefined): Promise<GroupOutcome> {
  let writer: CleanedSegmentWriter | undefined;
  let swapStarted = false;
  let recordsRemoved = 0;
  let tombstonesRemoved = 0;
  let batchesRebuilt = 0;
  let batchesDropped = 0;
  let opaque = 0;
  let earliestHorizonMs: number | undefined;
  /** The bare header of the last batch read, if it was dropped (written only if it stays the group's last). */
  let droppedHeader: Buffer | undefined;

  const write = async (bytes: Buffer): Promise<void> => {
    assert(writer !== undefined);
    // Only stamping delete horizons can grow a group past its sources; refuse rather than break the int32 index.
    if (writer.sizeBytes + bytes.byteLength > SEGMENT_BYTES_MAX) throw new CleanedSegmentTooLargeError(writer.baseOffset, SEGMENT_BYTES_MAX);
    await writer.append(bytes);
  };

  /** First change in the group: start the writer and copy the unchanged batches before `upTo`. */
  const startWriter = async (upTo: number): Promise<void> => {
    writer = await log.createCleanedSegment(bases, throttle);
    for (const base of bases) {
      for await (const { batch, bytes } of batchesOf(log, base, throttle)) {
        await pacer.read(batch.sizeBytes, true);
        if (batch.baseOffset >= upTo) return;
        await write(bytes);
      }
    }
  };

  try {
    for (const base of bases) {
      for await (const { batch, bytes } of batchesOf(log, base, throttle)) {
        await pacer.read(batch.sizeBytes);
        if (batch.lastOffset >= cleanBound) {
          if (writer !== undefined) await write(bytes);
          droppedHeader = undefined;
          continue;
        }
        const filtered = filterBatch(bytes, ctx);
        if (filtered.kept !== "normally") opaque++;
        if (filtered.tombstoneHorizonMs !== undefined) earliestHorizonMs = Math.min(earliestHorizonMs ?? Infinity, filtered.tombstoneHorizonMs);
        recordsRemoved += filtered.recordsRemoved;
        tombstonesRemoved += filtered.tombstonesRemoved;
        if (filtered.action === "keep") {
          if (writer !== undefined) await write(bytes);
          droppedHeader = undefined;
          continue;
        }
        if (writer === undefined) await startWriter(batch.baseOffset);
        if (filtered.action === "rebuild") {
          batchesRebuilt++;
          await write(filtered.bytes as Buffer);
          droppedHeader = undefined;
        } else {
          batchesDropped++;
          droppedHeader = emptyBatchHeader(bytes);
        }
      }
    }
    pacer.counters.batchesKeptOpaque += opaque;
    if (writer === undefined) {
      return { swapped: false, recordsRemoved: 0, tombstonesRemoved: 0, batchesRebuilt: 0, batchesDropped: 0, bytesWritten: 0, earliestHorizonMs };
    }
    if (droppedHeader !== undefined) {
      // The group's last batch was emptied: its header keeps the segment's offset range.
      await write(droppedHeader);
      batchesDropped--;
    }
    await writer.finish();
    pacer.params.checkCancelled();
    swapStarted = true;
    await log.replaceSegments(writer);
    return { swapped: true, recordsRemoved, tombstonesRemoved, batchesRebuilt, batchesDropped, bytesWritten: writer.sizeBytes, earliestHorizonMs };
  } catch (error) {
    // Before the swap, or a swap refused before it changed anything: the .cleaned files go.
    // A swap that failed part way is recovery's to finish (the log is offline by then).
    if (writer !== undefined && (!swapStarted || error instanceof SegmentSwapConflictError)) await writer.abort().catch(() => undefined);
    throw error;
  }
}

/** Cleans `log` once (see the module comment). The caller serializes cleans of one log. */
export async function cleanLog(log: PartitionLog, params: CleanParams): Promise<CleanResult> {
  const counters: Counters = {
    bytesRead: 0,
    bytesWritten: 0,
    batchesRead: 0,
    batchesRebuilt: 0,
    batchesDropped: 0,
    batchesKeptOpaque: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    sinceYield: 0,
  };
  const pacer = new Pacer(params, counters);
  const throttle = params.throttle;
  const config = log.config;
  const infos = await log.segmentInfos();
  const range = cleanableRange({
    segments: infos,
    logStartOffset: log.logStartOffset,
    logEndOffset: log.logEndOffset,
    checkpoint: params.checkpoint?.cleanedThroughOffset,
    stableOffset: params.stableOffset,
    nowMs: params.nowMs,
    minCompactionLagMs: config.minCompactionLagMs,
  });
  const candidates = infos.slice(range.firstSegmentIndex, infos.length - 1);
  const endOf = (i: number): number => infos[range.firstSegmentIndex + i + 1]?.baseOffset ?? log.logEndOffset;

  // Pass 1: the dirty segments (those overlapping [firstDirty, firstUncleanable)).
  const map = new OffsetMap(params.dedupeBufferBytes);
  let mapped = { end: range.firstDirtyOffset, full: false };
  if (range.firstDirtyOffset < range.firstUncleanableOffset) {
    const dirtyBases = candidates.filter((s, i) => endOf(i) > range.firstDirtyOffset && s.baseOffset < range.firstUncleanableOffset).map((s) => s.baseOffset);
    mapped = await buildOffsetMap(log, range, dirtyBases, map, pacer, throttle);
  }
  const cleanedThrough = Math.max(range.firstDirtyOffset, mapped.end);
  const cleanBound = Math.min(cleanedThrough, range.firstUncleanableOffset);

  // Pass 2: every segment holding offsets below the bound, in groups.
  const toClean = candidates.filter((s) => s.baseOffset < cleanBound);
  const groupsEnd = infos[range.firstSegmentIndex + toClean.length]?.baseOffset ?? log.logEndOffset;
  const groups = groupSegments(toClean, groupsEnd, Math.min(config.segmentBytes, SEGMENT_BYTES_MAX));
  const ctx: FilterContext = { map, nowMs: params.nowMs, deleteRetentionMs: config.deleteRetentionMs };
  const swappedGroups: number[][] = [];
  let segmentsReplaced = 0;
  let earliestHorizonMs: number | undefined;
  for (const group of groups) {
    params.checkCancelled();
    const outcome = await cleanGroup(log, group, cleanBound, ctx, pacer, throttle);
    if (outcome.earliestHorizonMs !== undefined) earliestHorizonMs = Math.min(earliestHorizonMs ?? Infinity, outcome.earliestHorizonMs);
    if (!outcome.swapped) continue;
    swappedGroups.push(group);
    segmentsReplaced += group.length;
    counters.bytesWritten += outcome.bytesWritten;
    counters.recordsRemoved += outcome.recordsRemoved;
    counters.tombstonesRemoved += outcome.tombstonesRemoved;
    counters.batchesRebuilt += outcome.batchesRebuilt;
    counters.batchesDropped += outcome.batchesDropped;
  }
  // Tombstones between the bound and the checkpoint (the stable offset moved back) were not visited: keep the old horizon for them.
  const previousHorizon = cleanBound < cleanedThrough ? params.checkpoint?.earliestHorizonMs : undefined;
  if (previousHorizon !== undefined) earliestHorizonMs = Math.min(earliestHorizonMs ?? Infinity, previousHorizon);

  return {
    dir: log.dir,
    firstDirtyOffset: range.firstDirtyOffset,
    firstUncleanableOffset: range.firstUncleanableOffset,
    cleanedThroughOffset: cleanedThrough,
    mapFull: mapped.full,
    mapKeys: map.size,
    groupsSwapped: swappedGroups.length,
    swappedGroups,
    segmentsReplaced,
    bytesRead: counters.bytesRead,
    bytesWritten: counters.bytesWritten,
    batchesRead: counters.batchesRead,
    batchesRebuilt: counters.batchesRebuilt,
    batchesDropped: counters.batchesDropped,
    batchesKeptOpaque: counters.batchesKeptOpaque,
    recordsRemoved: counters.recordsRemoved,
    tombstonesRemoved: counters.tombstonesRemoved,
    earliestHorizonMs,
  };
}
