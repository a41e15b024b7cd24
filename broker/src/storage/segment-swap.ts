/**
 * Segment-level primitives for compaction (the policy lives elsewhere): writing a replacement
 * segment under the `.cleaned` suffix, and the crash-safe protocol that swaps a group of old
 * segments for it.
 *
 * Swap protocol (PartitionLog.replaceSegments runs it inside the log's queue):
 *
 *   1. The cleaner writes `<B>.log.cleaned`, `<B>.index.cleaned`, `<B>.timeindex.cleaned`
 *      (B = base offset of the first old segment) and fdatasyncs all three.
 *   2. `swap-manifest` is written atomically (tmp + fdatasync + rename + fsync dir), listing B
 *      and the base offsets of the old segments. THIS IS THE COMMIT POINT. The old segments are
 *      then retired (segment.ts): reads still using them go on through held handles.
 *   3. The old segments other than B are unlinked; each `.cleaned` file is renamed over its
 *      final name (replacing B's old files atomically); the directory is fsynced.
 *   4. `swap-manifest` is unlinked and the directory fsynced.
 *
 * Recovery on open (`recoverSegmentSwap`), before anything else reads the directory:
 *   - manifest present and valid -> roll forward: redo step 3 for whatever is left (renames of
 *     `.cleaned` files still present, unlinks of old files still present), then step 4;
 *   - no manifest -> roll back: every `.cleaned` file is deleted; the old segments are intact.
 * Each step is idempotent, so a crash during recovery is recovered the same way.
 */
import { SluiceError, assert, validateBatch } from "@sluice/protocol";
import { checkHeaderAt } from "./batch-scan.js";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { joinPath, unlinkIfExists, type Opener, type StorageFs } from "./fs/storage-fs.js";
import type { IoThrottle } from "./io-throttle.js";
import { MAX_MESSAGE_BYTES_MAX } from "./limits.js";
import { LogSegment, type AppendedBatch, type SegmentContext } from "./segment.js";
import { CLEANED_SUFFIX, SWAP_MANIFEST_FILE, parseSegmentFileName, segmentFileName, type SegmentFileKind } from "./segment-files.js";

/** Buffered bytes before the writer issues a write: few syscalls, bounded memory. */
const CLEANED_WRITE_BUFFER_BYTES = 1024 * 1024;
const KINDS: readonly SegmentFileKind[] = ["log", "index", "timeindex"];

/**
 * Writes a replacement segment under `.cleaned` names. Batches must be whole, valid v2
 * batches with strictly increasing offsets, none below `baseOffset`; they are CRC-checked
 * again here (the cleaner may have rebuilt them).
 */
export class CleanedSegmentWriter {
  private pending: Buffer[] = [];
  private pendingBatches: AppendedBatch[] = [];
  private pendingBytes = 0;
  private nextExpected: number;
  private state: "open" | "finished" | "aborted" = "open";

  private constructor(
    private readonly segment: LogSegment,
    /** The live segments this replacement is meant to replace (checked at swap time). */
    readonly sources: readonly LogSegment[],
    /** Their truncation generations when cleaning began (a changed one refuses the swap). */
    readonly sourceGenerations: readonly number[],
    private readonly throttle: IoThrottle | undefined,
  ) {
    this.nextExpected = segment.baseOffset;
  }

  static async create(ctx: SegmentContext, sources: readonly LogSegment[], throttle: IoThrottle | undefined, sourceGenerations: readonly number[]): Promise<CleanedSegmentWriter> {
    const first = sources[0];
    assert(first !== undefined, "a cleaned segment replaces at least one segment");
    const segment = await LogSegment.create(ctx, first.baseOffset, CLEANED_SUFFIX);
    return new CleanedSegmentWriter(segment, sources, sourceGenerations, throttle);
  }

  get baseOffset(): number {
    return this.segment.baseOffset;
  }

  /** Bytes written or buffered so far. */
  get sizeBytes(): number {
    return this.segment.sizeBytes + this.pendingBytes;
  }

  /** One past the last offset appended (the base offset when empty). */
  get nextOffset(): number {
    return this.nextExpected;
  }

  get finished(): boolean {
    return this.state === "finished";
  }

  /** The finished segment's parts, for the log to adopt after the swap. */
  parts(): { sizeBytes: number; nextOffset: number; segment: LogSegment } {
    assert(this.state === "finished", "cleaned segment not finished");
    return { sizeBytes: this.segment.sizeBytes, nextOffset: this.nextExpected, segment: this.segment };
  }

  /** Appends whole batches (copied: the caller may reuse `bytes`). */
  async append(bytes: Buffer): Promise<void> {
    if (this.state !== "open") throw new SluiceError("INVALID_REQUEST", `cleaned segment is ${this.state}`);
    let at = 0;
    const batches: AppendedBatch[] = [];
    let expected = this.nextExpected;
    while (at < bytes.byteLength) {
      validateBatch(bytes, at, MAX_MESSAGE_BYTES_MAX);
      const check = checkHeaderAt(bytes, at, bytes.byteLength, 0, bytes.byteLength - at);
      if (check.kind !== "ok") throw new SluiceError("INVALID_RECORD", `cleaned batch at ${at} is not a batch`);
      const batch = check.batch;
      if (batch.baseOffset < expected) {
        throw new SluiceError("INVALID_RECORD", `cleaned batch offset ${batch.baseOffset} is below ${expected}`);
      }
      if (!this.segment.fitsOffset(batch.lastOffset)) throw new SluiceError("INVALID_RECORD", `offset ${batch.lastOffset} too far from base`);
      batches.push({ sizeBytes: batch.sizeBytes, baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, maxTimestampMs: batch.maxTimestampMs });
      expected = batch.lastOffset + 1;
      at += batch.sizeBytes;
    }
    this.pending.push(Buffer.from(bytes));
    this.pendingBatches.push(...batches);
    this.pendingBytes += bytes.byteLength;
    this.nextExpected = expected;
    if (this.pendingBytes >= CLEANED_WRITE_BUFFER_BYTES) await this.flushPending();
  }

  private async flushPending(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    const batches = this.pendingBatches;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBatches = [];
    this.pendingBytes = 0;
    await this.throttle?.acquire(bytes);
    await this.segment.append(buffers, batches, 0, 0);
  }

  /** Writes what is buffered and both indexes, and makes all three files durable. */
  async finish(): Promise<void> {
    if (this.state !== "open") throw new SluiceError("INVALID_REQUEST", `cleaned segment is ${this.state}`);
    await this.flushPending();
    await this.segment.datasync();
    await this.segment.finalize();
    this.state = "finished";
  }

  /** Deletes the `.cleaned` files. */
  async abort(): Promise<void> {
    if (this.state === "aborted") return;
    this.state = "aborted";
    await this.segment.deleteFiles();
  }
}

export function cleanedName(baseOffset: number, kind: SegmentFileKind): string {
  return segmentFileName(baseOffset, kind) + CLEANED_SUFFIX;
}

/** Step 2: the commit point. */
export async function writeSwapManifest(fs: StorageFs, dir: string, newBase: number, oldBases: readonly number[], open: Opener): Promise<void> {
  await writeCheckpoint(fs, dir, SWAP_MANIFEST_FILE, [[newBase], ...oldBases.map((b) => [b])], open);
}

/** Steps 3 and 4, idempotent: used by the live swap and by recovery. */
export async function applySwap(fs: StorageFs, dir: string, newBase: number, oldBases: readonly number[], forget: (path: string) => void): Promise<void> {
  // Names are forgotten before and after each unlink or rename, so no handle opened on what a
  // name meant before stays cached under it (the live swap retires the old segments first, so
  // no read opens these names meanwhile; this keeps any other user safe too).
  for (const oldBase of oldBases) {
    if (oldBase === newBase) continue;
    for (const kind of KINDS) {
      const path = joinPath(dir, segmentFileName(oldBase, kind));
      forget(path);
      await unlinkIfExists(fs, path);
      forget(path);
    }
  }
  for (const kind of KINDS) {
    const from = joinPath(dir, cleanedName(newBase, kind));
    const to = joinPath(dir, segmentFileName(newBase, kind));
    forget(from);
    forget(to);
    if ((await fs.stat(from)) !== undefined) await fs.rename(from, to);
    forget(from);
    forget(to);
  }
  await fs.fsyncDir(dir);
  await unlinkIfExists(fs, joinPath(dir, SWAP_MANIFEST_FILE));
  await fs.fsyncDir(dir);
}

export type SwapRecovery = "none" | "rolled-forward" | "rolled-back";

/** Completes or rolls back a swap a crash interrupted. `names` is the directory listing. */
export async function recoverSegmentSwap(fs: StorageFs, dir: string, names: readonly string[], forget: (path: string) => void, open: Opener): Promise<SwapRecovery> {
  const manifestPath = joinPath(dir, SWAP_MANIFEST_FILE);
  const manifest = names.includes(SWAP_MANIFEST_FILE) ? await readCheckpoint(fs, manifestPath, 1, open) : undefined;
  const newBase = manifest?.[0]?.[0];
  if (manifest !== undefined && newBase !== undefined) {
    const oldBases = manifest.slice(1).map((e) => e[0] as number);
    await applySwap(fs, dir, newBase, oldBases, forget);
    return "rolled-forward";
  }
  let removed = false;
  for (const name of names) {
    if (parseSegmentFileName(name)?.cleaned === true || name === SWAP_MANIFEST_FILE) {
      await unlinkIfExists(fs, joinPath(dir, name));
      removed = true;
    }
  }
  if (removed) await fs.fsyncDir(dir);
  return removed ? "rolled-back" : "none";
}
