/**
 * Opening a partition directory: the recovery half of `PartitionLog`.
 *
 * Steps, in this order (each one safe to crash in and redo):
 *  1. Create the directory if asked (and fsync its parent so the name is durable).
 *  2. Finish or roll back an interrupted compaction swap (segment-swap.ts).
 *  3. Delete leftovers: `*.tmp` checkpoints, index files without a `.log`.
 *  4. If `clean-shutdown` exists, remove it durably before anything can be appended: from now
 *     on a crash must look unclean.
 *  5. Read the checkpoints: recovery point, log start offset, leader epochs. Missing or damaged
 *     ones fall back safely (recovery point 0 = rescan everything; log start = first segment).
 *  6. Clean open: trust every segment; only the active segment's tail is walked (headers, from
 *     its last index entry) to find the log end — if that walk fails, fall through to 7 from
 *     the active segment.
 *     Unclean open: rescan every segment from the one holding the recovery point: every batch's
 *     structure, CRC and offset order is checked, indexes are rebuilt, and the log is cut at the
 *     first torn or corrupt batch (later segments are deleted: they are past the damage and
 *     were never known durable). Offsets are never reused: the log end is the end of the last
 *     valid batch. The leader-epoch cache past the scan start is rebuilt from batch headers.
 *  7. Apply the log start offset (segments wholly below it are left to retention, as in the
 *     live log); a log start beyond the log end (possible only with fsync `never`/`interval`)
 *     empties the log and restarts it at the log start, so offsets below it are never handed
 *     out again.
 *  8. Make it durable: indexes of recovered inactive segments, the active segment's bytes, the
 *     epoch checkpoint, and a new recovery point (the active segment's base).
 */
import { CorruptRecordError, asLeaderEpoch, asOffset, assert } from "@sluice/protocol";
import {
  LEADER_EPOCH_FILE,
  LOG_START_OFFSET_FILE,
  RECOVERY_POINT_FILE,
  readCheckpoint,
  readOffsetCheckpoint,
  writeCheckpoint,
} from "./checkpoint.js";
import type { Clock } from "./clock.js";
import { joinPath, mkdirDurable, unlinkIfExists, type Opener, type StorageFs } from "./fs/storage-fs.js";
import type { FileHandlePool } from "./fs/file-pool.js";
import { LeaderEpochCache, type EpochEntry } from "./leader-epoch-cache.js";
import type { RecoveryEvent } from "./observer.js";
import { LogSegment, type SegmentContext } from "./segment.js";
import { CLEAN_SHUTDOWN_FILE, TMP_SUFFIX, parseSegmentFileName, segmentFileName } from "./segment-files.js";
import { recoverSegmentSwap } from "./segment-swap.js";

export interface LoadOptions {
  readonly fs: StorageFs;
  readonly pool: FileHandlePool;
  readonly ctx: SegmentContext;
  readonly clock: Clock;
  /** Base offset of the first segment of a brand-new (empty) directory. */
  readonly initialOffset: number;
  readonly create: boolean;
}

export interface LoadedLog {
  readonly segments: LogSegment[];
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly recoveryPoint: number;
  readonly epochs: LeaderEpochCache;
  readonly report: RecoveryEvent;
}

function epochEntriesEqual(a: readonly EpochEntry[], b: readonly EpochEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.epoch === b[i]?.epoch && e.startOffset === b[i]?.startOffset);
}

export async function writeEpochCheckpoint(fs: StorageFs, dir: string, epochs: LeaderEpochCache, open: Opener): Promise<void> {
  await writeCheckpoint(fs, dir, LEADER_EPOCH_FILE, epochs.entries().map((e) => [e.epoch, e.startOffset]), open);
}

export async function loadLog(options: LoadOptions): Promise<LoadedLog> {
  const { fs, pool, ctx, clock } = options;
  const dir = ctx.dir;
  const open = pool.transient;
  const startedMs = clock.monotonicMs();
  const problems: string[] = [];

  // 1.
  if (options.create) await mkdirDurable(fs, dir);
  let names = await fs.readdir(dir);

  // 2.
  const swap = await recoverSegmentSwap(fs, dir, names, (path) => pool.forget(path), open);
  if (swap !== "none") {
    problems.push(`segment swap ${swap}`);
    names = await fs.readdir(dir);
  }

  // 3.
  const logBases = new Set<number>();
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (parsed?.kind === "log" && !parsed.cleaned) logBases.add(parsed.baseOffset);
  }
  let removedLeftovers = false;
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    const orphanIndex = parsed !== undefined && parsed.kind !== "log" && !logBases.has(parsed.baseOffset);
    if (name.endsWith(TMP_SUFFIX) || orphanIndex) {
      await unlinkIfExists(fs, joinPath(dir, name));
      removedLeftovers = true;
    }
  }

  // 4.
  let clean = names.includes(CLEAN_SHUTDOWN_FILE);
  if (clean) await unlinkIfExists(fs, joinPath(dir, CLEAN_SHUTDOWN_FILE));
  if (clean || removedLeftovers) await fs.fsyncDir(dir);

  // 5.
  const recoveryPointCp = await readOffsetCheckpoint(fs, joinPath(dir, RECOVERY_POINT_FILE), open);
  const logStartCp = await readOffsetCheckpoint(fs, joinPath(dir, LOG_START_OFFSET_FILE), open);
  const epochLines = await readCheckpoint(fs, joinPath(dir, LEADER_EPOCH_FILE), 2, open);
  const epochs = new LeaderEpochCache(
    (epochLines ?? []).filter((l) => (l[0] ?? -1) >= 0 && (l[1] ?? -1) >= 0).map((l) => ({ epoch: asLeaderEpoch(l[0] as number), startOffset: asOffset(l[1] as number) })),
  );
  const epochsAtOpen = [...epochs.entries()];
  if (!clean && recoveryPointCp === undefined && logBases.size > 0) problems.push("no recovery point checkpoint: rescanning every segment");

  const bases = [...logBases].sort((a, b) => a - b);
  const segments: LogSegment[] = [];
  for (const base of bases) {
    const stat = await fs.stat(joinPath(dir, segmentFileName(base, "log")));
    segments.push(LogSegment.existing(ctx, base, stat?.sizeBytes ?? 0));
  }
  if (segments.length === 0) {
    const base = Math.max(options.initialOffset, logStartCp ?? 0);
    segments.push(await LogSegment.create(ctx, base));
    await fs.fsyncDir(dir);
    clean = true;
  }

  // 6.
  let recoverFrom = -1;
  if (clean) {
    const active = segments[segments.length - 1] as LogSegment;
    try {
      await active.nextOffset();
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      problems.push(`clean shutdown but active segment ${active.baseOffset} is damaged: ${error.message}`);
      recoverFrom = segments.length - 1;
    }
  } else {
    const point = recoveryPointCp ?? 0;
    recoverFrom = 0;
    for (let i = 0; i < segments.length; i++) if ((segments[i] as LogSegment).baseOffset <= point) recoverFrom = i;
  }

  let bytesScanned = 0;
  let bytesTruncated = 0;
  let segmentsScanned = 0;
  // The epoch cache describes the visible batches, [logStart, logEnd): batches still on disk
  // below the log start (awaiting retention) do not count, as in the live log.
  const visibleFrom = Math.max(logStartCp ?? 0, (segments[0] as LogSegment).baseOffset);
  if (recoverFrom >= 0) {
    const firstRecovered = segments[recoverFrom] as LogSegment;
    epochs.truncateFromEnd(firstRecovered.baseOffset);
    let minBase = firstRecovered.baseOffset;
    if (recoverFrom > 0) {
      try {
        minBase = Math.max(minBase, await (segments[recoverFrom - 1] as LogSegment).nextOffset());
      } catch (error) {
        if (!(error instanceof CorruptRecordError)) throw error;
      }
    }
    for (let i = recoverFrom; i < segments.length; i++) {
      const segment = segments[i] as LogSegment;
      const result = await segment.recover(minBase, (batch) => {
        if (batch.leaderEpoch >= 0 && batch.lastOffset >= visibleFrom) {
          const latest = epochs.latestEpoch();
          if (latest === undefined || batch.leaderEpoch > latest) epochs.assign(batch.leaderEpoch, Math.max(batch.baseOffset, visibleFrom));
        }
      });
      segmentsScanned++;
      bytesScanned += result.validBytes + result.truncatedBytes;
      bytesTruncated += result.truncatedBytes;
      minBase = await segment.nextOffset();
      if (result.problem !== undefined) {
        problems.push(`segment ${segment.baseOffset} cut at byte ${result.validBytes}: ${result.problem}`);
        // Everything after the damage is past what was ever known durable: drop it, newest first.
        for (let j = segments.length - 1; j > i; j--) {
          const later = segments[j] as LogSegment;
          bytesTruncated += later.sizeBytes;
          await later.deleteFiles();
        }
        segments.splice(i + 1);
        await fs.fsyncDir(dir);
        break;
      }
    }
    // Recovered segments that are no longer active get durable indexes now.
    for (let i = recoverFrom; i < segments.length - 1; i++) {
      const segment = segments[i] as LogSegment;
      await segment.datasync();
      await segment.finalize();
    }
    await (segments[segments.length - 1] as LogSegment).datasync();
  }

  let active = segments[segments.length - 1] as LogSegment;
  let logEnd = await active.nextOffset();
  epochs.truncateFromEnd(logEnd);

  // 7.
  const logStart = visibleFrom;
  if (logStart > logEnd) {
    problems.push(`log start ${logStart} is past the log end ${logEnd}: restarting the log at ${logStart}`);
    for (let j = segments.length - 1; j >= 0; j--) await (segments[j] as LogSegment).deleteFiles();
    segments.splice(0);
    segments.push(await LogSegment.create(ctx, logStart));
    await fs.fsyncDir(dir);
    epochs.clear();
    active = segments[0] as LogSegment;
    logEnd = logStart;
  } else {
    // Segments wholly below the log start stay until the next retention pass (its "log-start"
    // rule), exactly as in the live log: reopening never changes what the log holds.
    epochs.truncateFromStart(logStart);
    epochs.truncateFromEnd(logEnd);
  }
  if (logStartCp !== logStart) await writeCheckpoint(fs, dir, LOG_START_OFFSET_FILE, [[logStart]], open);

  // 8.
  if (!epochEntriesEqual(epochsAtOpen, epochs.entries()) || epochLines === undefined) await writeEpochCheckpoint(fs, dir, epochs, open);
  const recoveryPoint = active.baseOffset;
  if (recoveryPointCp !== recoveryPoint) await writeCheckpoint(fs, dir, RECOVERY_POINT_FILE, [[recoveryPoint]], open);
  await active.ensureIndexes();
  assert(logEnd >= active.baseOffset, "log end below the active segment's base");

  // Segment age for segment.ms: the first batch's timestamp, but never in the future.
  if (active.sizeBytes > 0) {
    const first = await active.findBatch(active.baseOffset);
    const stamped = first.batch?.maxTimestampMs ?? -1;
    active.rollStartMs = stamped >= 0 ? Math.min(stamped, clock.nowMs()) : clock.nowMs();
  }

  return {
    segments,
    logStartOffset: logStart,
    logEndOffset: logEnd,
    recoveryPoint,
    epochs,
    report: {
      dir,
      clean: recoverFrom < 0,
      segmentsScanned,
      bytesScanned,
      bytesTruncated,
      problems,
      durationMs: clock.monotonicMs() - startedMs,
    },
  };
}
