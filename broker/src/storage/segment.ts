/**
 * One segment of a partition log: a `.log` file of whole batches plus its `.index` and
 * `.timeindex` (formats in offset-index.ts and time-index.ts), all reached through the shared
 * `FileHandlePool`.
 *
 * Invariants:
 * - `sizeBytes` covers only whole batches whose write completed; reads never look past it.
 * - Batches in a segment have strictly increasing offsets, all >= `baseOffset`, and
 *   `lastOffset - baseOffset` fits an int32 (the index's relative offset).
 * - The in-memory indexes describe exactly the bytes in [0, sizeBytes). Index files on disk are
 *   trusted only for segments below the recovery point, and even then sanity-checked on load;
 *   a damaged index is rebuilt from the log, never used.
 * - Every batch a read returns has passed its CRC check (STYLE.md habit 6).
 *
 * Concurrency: `PartitionLog` serializes every mutation (append, truncate, finalize, retire)
 * through its queue; reads run beside them and must never see bytes change under them:
 * - Truncation waits for the reads of this segment already running, and reads that arrive
 *   meanwhile wait for it (`truncateAt`): truncations are rare (a Raft conflict) and short.
 * - A segment leaving the log is `retire`d before its files are unlinked or renamed over (a
 *   compaction swap reuses its base's names at once). If reads can still reach it, retiring
 *   first opens a handle on its log file, and from then on every read of the segment goes
 *   through that handle (the inode outlives its names, as on Linux); reads never open a
 *   retired segment's files by name, which may by then belong to its replacement.
 *   `releaseRetainedFile` closes the handle after the last such read. These handles are outside
 *   the file pool's bound: at most one per segment removed while a read that began before the
 *   removal still runs (a read is short: one segment, at most its byte budget).
 */
import { CorruptRecordError, SluiceError, assert, validateBatch } from "@sluice/protocol";
import { checkHeaderAt, walkBatches, type BatchSummary, type ReadAt, type WalkItem } from "./batch-scan.js";
import type { FileHandlePool } from "./fs/file-pool.js";
import { FsError, isNotFound, joinPath, type StorageFile } from "./fs/storage-fs.js";
import { MAX_MESSAGE_BYTES_MAX, SCAN_CHUNK_BYTES } from "./limits.js";
import type { IndexCache } from "./index-cache.js";
import { OffsetIndex } from "./offset-index.js";
import { segmentFileName } from "./segment-files.js";
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from "./time-index.js";

/** Header walks for lookups read this much at a time: an index interval of headers and then some. */
const LOOKUP_CHUNK_BYTES = 64 * 1024;
const INT32_MAX = 0x7fff_ffff;

export interface SegmentContext {
  readonly pool: FileHandlePool;
  readonly dir: string;
  readonly indexIntervalBytes: number;
  /** Bounds the memory of loaded indexes (shared across logs); none means unbounded. */
  readonly indexCache?: IndexCache;
}

/** A batch being appended, as the log validated and stamped it. */
export interface AppendedBatch {
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampMs: number;
}

export interface SegmentRead {
  /** Whole, CRC-checked batches (a view of one read buffer). Empty when the first one is past `maxOffset`. */
  readonly records: Buffer;
  readonly firstOffset: number;
  /** lastOffset + 1 of the last batch returned (or the asked offset when none). */
  readonly nextOffset: number;
}

export interface SegmentRecovery {
  readonly validBytes: number;
  readonly truncatedBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  readonly problem: string | undefined;
}

/** Public facts about a segment, for retention and compaction. */
export interface SegmentInfo {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  /** The segment's largest batch timestamp; -1 when unknown or empty. */
  readonly largestTimestampMs: number;
  readonly active: boolean;
}

/** A write that failed; `rolledBack` says the file was cut back to its size before the write. */
export class SegmentWriteError extends Error {
  constructor(
    readonly rolledBack: boolean,
    options: { cause: unknown },
  ) {
    super(`segment write failed${rolledBack ? "" : " and could not be rolled back"}`, options);
    this.name = "SegmentWriteError";
  }
}

/** Checks a stored batch; any failure is corruption (the batch passed these checks when written). */
export function verifyStoredBatch(buf: Buffer, at: number, position: number): void {
  try {
    validateBatch(buf, at, MAX_MESSAGE_BYTES_MAX);
  } catch (error) {
    if (error instanceof CorruptRecordError) throw new CorruptRecordError(error.message, position);
    if (error instanceof SluiceError) throw new CorruptRecordError(error.message, position, { cause: error });
    throw error;
  }
}

export class LogSegment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;

  private size: number;
  /** Offset after the last batch; undefined until computed for a lazily opened segment. */
  private next: number | undefined;
  private index: OffsetIndex | undefined;
  private timeIndex: TimeIndex | undefined;
  private loading: Promise<void> | undefined;
  private maxTimestamp = -1;
  private offsetOfMaxTimestamp = -1;
  private maxTimestampKnown = false;
  /** The time index's last entry, read without loading the indexes (retention of cold segments). */
  private cachedLargestTimestamp: number | undefined;
  private bytesSinceIndexEntry = 0;
  private bytesSinceTimeEntry = 0;
  /** In-memory indexes differ from the files. */
  indexesDirty = false;
  /** When the segment took its first append (segment.ms counts from here). */
  rollStartMs: number | undefined;
  /** Bumped by every truncation, so a clean can tell its source changed (the swap is then refused). */
  generation = 0;
  /** Group-commit bookkeeping: write sequence of the last write, and the last sequence synced. */
  lastWriteSeq = 0;
  syncedSeq = 0;
  /** Out of the log: its files are gone or going (a sync racing the deletion has nothing to do). */
  retired = false;
  /** The log file, held open for reads that can still reach this segment after it retired. */
  private retainedLog: StorageFile | undefined;
  /** Bumped when the segment retires: a file opened by name before that may no longer be this segment's. */
  private fileEpoch = 0;
  /** Reads (`read`, `findByTimestamp`) running now, and the truncation they hold up, if any. */
  private activeReads = 0;
  private truncating: Promise<void> | undefined;
  private readsDrained: (() => void) | undefined;

  private readonly readAt: ReadAt;

  private constructor(
    private readonly ctx: SegmentContext,
    readonly baseOffset: number,
    sizeBytes: number,
    /** "" for a live segment, ".cleaned" for a compacted replacement being written. */
    readonly suffix = "",
  ) {
    this.logPath = joinPath(ctx.dir, segmentFileName(baseOffset, "log") + suffix);
    this.indexPath = joinPath(ctx.dir, segmentFileName(baseOffset, "index") + suffix);
    this.timeIndexPath = joinPath(ctx.dir, segmentFileName(baseOffset, "timeindex") + suffix);
    this.size = sizeBytes;
    this.readAt = (buffer, offset, length, position) => this.readLog(buffer, offset, length, position);
  }

  /**
   * Reads this segment's log file: by name through the pool while the segment is live, through
   * the retained handle once it retired. A read by name that the retirement overtook is redone
   * through the handle (its bytes may be the replacement's); a retired segment without a handle
   * is one no read can reach, so it reads as gone.
   */
  private async readLog(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    // Goes round at most once more: a segment retires once.
    for (;;) {
      if (this.retainedLog !== undefined) return this.retainedLog.read(buffer, offset, length, position);
      if (this.retired) throw new FsError("ENOENT", `${this.logPath} was deleted`);
      const epoch = this.fileEpoch;
      let n: number | undefined;
      try {
        n = await this.ctx.pool.use(this.logPath, "write", async (file) => (this.fileEpoch === epoch ? file.read(buffer, offset, length, position) : undefined));
      } catch (error) {
        if (this.fileEpoch !== epoch) continue;
        throw error;
      }
      if (n !== undefined && this.fileEpoch === epoch) return n;
    }
  }

  /** Creates an empty segment file (emptying a stale one left by a crash). */
  static async create(ctx: SegmentContext, baseOffset: number, suffix = ""): Promise<LogSegment> {
    const segment = new LogSegment(ctx, baseOffset, 0, suffix);
    await ctx.pool.use(segment.logPath, "create", async (file) => {
      if ((await file.size()) > 0) await file.truncate(0);
    });
    segment.index = new OffsetIndex();
    segment.timeIndex = new TimeIndex();
    segment.next = baseOffset;
    segment.maxTimestampKnown = true;
    segment.indexesDirty = true;
    return segment;
  }

  /** A segment found on disk; nothing is read until it is used. */
  static existing(ctx: SegmentContext, baseOffset: number, sizeBytes: number): LogSegment {
    return new LogSegment(ctx, baseOffset, sizeBytes);
  }

  /** A segment whose files were just written whole (a compaction swap), with its indexes. */
  static fromParts(ctx: SegmentContext, baseOffset: number, sizeBytes: number, nextOffset: number, index: OffsetIndex, timeIndex: TimeIndex): LogSegment {
    const segment = new LogSegment(ctx, baseOffset, sizeBytes);
    segment.index = index;
    segment.timeIndex = timeIndex;
    segment.next = nextOffset;
    const last = timeIndex.lastEntry();
    segment.maxTimestamp = last?.timestampMs ?? -1;
    segment.offsetOfMaxTimestamp = last === undefined ? -1 : baseOffset + last.relativeOffset;
    segment.maxTimestampKnown = true;
    return segment;
  }

  get sizeBytes(): number {
    return this.size;
  }

  /** Offset after the last batch if known without I/O. */
  get knownNextOffset(): number | undefined {
    return this.next;
  }

  get indexesLoaded(): boolean {
    return this.index !== undefined && this.timeIndex !== undefined;
  }

  /** Frees the in-memory indexes when the files hold the same (they reload on the next lookup). */
  dropIndexes(): boolean {
    if (this.indexesDirty || this.loading !== undefined) return false;
    this.index = undefined;
    this.timeIndex = undefined;
    return true;
  }

  private indexMemoryBytes(): number {
    return (this.index?.entries ?? 0) * 8 + (this.timeIndex?.entries ?? 0) * 12 + 64;
  }

  // ---- indexes ---------------------------------------------------------------------------

  async ensureIndexes(): Promise<{ index: OffsetIndex; timeIndex: TimeIndex }> {
    for (;;) {
      if (this.index === undefined || this.timeIndex === undefined) {
        this.loading ??= this.loadIndexes().finally(() => {
          this.loading = undefined;
        });
        await this.loading;
      }
      const index = this.index;
      const timeIndex = this.timeIndex;
      // Another segment's touch may have evicted these between the load and here: load again.
      if (index === undefined || timeIndex === undefined) continue;
      if (!this.retired) this.ctx.indexCache?.touch(this, this.indexMemoryBytes());
      return { index, timeIndex };
    }
  }

  private async readSmallFile(path: string): Promise<Buffer | undefined> {
    try {
      return await this.ctx.pool.use(path, "read", async (file) => {
        const size = await file.size();
        const buf = Buffer.allocUnsafe(size);
        let got = 0;
        while (got < size) {
          const n = await file.read(buf, got, size - got, got);
          if (n === 0) break;
          got += n;
        }
        return buf.subarray(0, got);
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async loadIndexes(): Promise<void> {
    const epoch = this.fileEpoch;
    // A retired segment's index files may already be its replacement's: rebuild from the log it reads.
    if (this.retired) {
      await this.rebuildIndexes();
      return;
    }
    const [indexBytes, timeBytes] = [await this.readSmallFile(this.indexPath), await this.readSmallFile(this.timeIndexPath)];
    const index = indexBytes === undefined ? undefined : OffsetIndex.fromBuffer(indexBytes, this.size);
    const timeIndex = timeBytes === undefined ? undefined : TimeIndex.fromBuffer(timeBytes);
    let sane = index !== undefined && timeIndex !== undefined && (this.size === 0 || index.entries > 0);
    if (sane && index !== undefined && index.entries > 0) {
      // The last entry must point at a batch header carrying the offset it claims.
      const last = index.lastEntry();
      assert(last !== undefined);
      const header = Buffer.allocUnsafe(61);
      const got = await this.readAt(header, 0, 61, last.position);
      const check = checkHeaderAt(header, 0, got, last.position, this.size - last.position);
      sane = check.kind === "ok" && check.batch.baseOffset === this.baseOffset + last.relativeOffset;
    }
    if (sane && index !== undefined && timeIndex !== undefined && this.fileEpoch === epoch) {
      this.index = index;
      this.timeIndex = timeIndex;
      const lastTime = timeIndex.lastEntry();
      if (!this.maxTimestampKnown) {
        this.maxTimestamp = lastTime?.timestampMs ?? -1;
        this.offsetOfMaxTimestamp = lastTime === undefined ? -1 : this.baseOffset + lastTime.relativeOffset;
        this.maxTimestampKnown = true;
      }
      const lastEntry = index.lastEntry();
      this.bytesSinceIndexEntry = lastEntry === undefined ? 0 : this.size - lastEntry.position;
      this.bytesSinceTimeEntry = this.ctx.indexIntervalBytes;
      return;
    }
    await this.rebuildIndexes();
    // Write the rebuilt indexes back so the next open (and the index cache) can use the files.
    try {
      await this.writeIndexFiles(epoch);
    } catch {
      // Still correct in memory; the files are rebuilt again next time.
    }
  }

  /** Writes both index files, unless the segment retires first (its names are then not its own). */
  private async writeIndexFiles(epoch = this.fileEpoch): Promise<void> {
    if (this.index === undefined || this.timeIndex === undefined || this.retired) return;
    const indexBytes = this.index.toBuffer();
    const timeBytes = this.timeIndex.toBuffer();
    const stillOurs = (): boolean => this.fileEpoch === epoch;
    if (!(await writeIndexFile(this.ctx.pool, this.indexPath, indexBytes, stillOurs))) return;
    if (!(await writeIndexFile(this.ctx.pool, this.timeIndexPath, timeBytes, stillOurs))) return;
    this.indexesDirty = false;
  }

  /** Rebuilds both indexes from a header walk of the whole file (no truncation). */
  private async rebuildIndexes(): Promise<void> {
    this.index = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.resetIndexCounters();
    let end = 0;
    let next = this.baseOffset;
    for await (const item of walkBatches(this.readAt, { from: 0, to: this.size, chunkBytes: SCAN_CHUNK_BYTES, withBodies: false })) {
      if (item.kind !== "batch") break;
      this.indexBatch(item.batch, item.batch.position);
      end = item.batch.position + item.batch.sizeBytes;
      next = item.batch.lastOffset + 1;
    }
    // The time index's last entry is the segment's largest timestamp (as after finalize), so a
    // rebuilt index written back still tells retention and timestamp lookups the truth.
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
    // Bytes past the last good header stay (a read of them reports corruption), but the
    // segment's known end is the last batch the walk could parse.
    if (end === this.size) this.next = next;
    this.maxTimestampKnown = true;
    this.indexesDirty = true;
  }

  private resetIndexCounters(): void {
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    this.bytesSinceTimeEntry = 0;
  }

  /** Adds index entries for a batch at `position` (called in log order). */
  private indexBatch(batch: { baseOffset: number; maxTimestampMs: number; sizeBytes: number }, position: number): void {
    const index = this.index;
    const timeIndex = this.timeIndex;
    assert(index !== undefined && timeIndex !== undefined, "indexes loaded before indexing");
    const interval = this.ctx.indexIntervalBytes;
    if (index.entries === 0 || this.bytesSinceIndexEntry >= interval) {
      index.append(batch.baseOffset - this.baseOffset, position);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += batch.sizeBytes;
    if (batch.maxTimestampMs > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestampMs;
      this.offsetOfMaxTimestamp = batch.baseOffset;
    }
    if (this.maxTimestamp >= 0 && (timeIndex.entries === 0 || this.bytesSinceTimeEntry >= interval)) {
      if (timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset)) this.bytesSinceTimeEntry = 0;
    }
    this.bytesSinceTimeEntry += batch.sizeBytes;
  }

  /** The segment's largest timestamp (-1 if none), reading only the time index's last entry if needed. */
  async largestTimestampMs(): Promise<number> {
    if (this.maxTimestampKnown) return this.maxTimestamp;
    if (this.cachedLargestTimestamp !== undefined) return this.cachedLargestTimestamp;
    const bytes = this.retired ? undefined : await this.readSmallFile(this.timeIndexPath);
    if (bytes !== undefined && bytes.byteLength >= TIME_INDEX_ENTRY_BYTES && bytes.byteLength % TIME_INDEX_ENTRY_BYTES === 0) {
      const ts = Number(bytes.readBigInt64BE(bytes.byteLength - TIME_INDEX_ENTRY_BYTES));
      if (Number.isSafeInteger(ts)) {
        this.cachedLargestTimestamp = ts;
        return ts;
      }
    }
    await this.ensureIndexes();
    return this.maxTimestamp;
  }

  info(active: boolean): SegmentInfo {
    return { baseOffset: this.baseOffset, sizeBytes: this.size, largestTimestampMs: this.maxTimestampKnown ? this.maxTimestamp : -1, active };
  }

  // ---- append ----------------------------------------------------------------------------

  /** Writes `buffers` (exactly the bytes of `batches`) at the end of the file and indexes them. */
  async append(buffers: readonly Buffer[], batches: readonly AppendedBatch[], nowMs: number, writeSeq: number): Promise<void> {
    await this.ensureIndexes();
    // Dirty before the first await: the index cache never evicts indexes about to change.
    this.indexesDirty = true;
    const position = this.size;
    try {
      await this.ctx.pool.use(this.logPath, "write", (file) => file.write(buffers, position));
    } catch (error) {
      let rolledBack = false;
      try {
        await this.ctx.pool.use(this.logPath, "write", (file) => file.truncate(position));
        rolledBack = true;
      } catch {
        rolledBack = false;
      }
      throw new SegmentWriteError(rolledBack, { cause: error });
    }
    let at = position;
    for (const batch of batches) {
      this.indexBatch(batch, at);
      at += batch.sizeBytes;
    }
    const last = batches[batches.length - 1];
    if (last !== undefined) this.next = last.lastOffset + 1;
    this.size = at;
    this.indexesDirty = true;
    this.rollStartMs ??= nowMs;
    this.lastWriteSeq = writeSeq;
  }

  /** Whether a batch ending at `lastOffset` can go in this segment (relative offsets are int32). */
  fitsOffset(lastOffset: number): boolean {
    return lastOffset - this.baseOffset <= INT32_MAX;
  }

  /** Makes the log file's bytes durable; nothing to do once the segment retired (its bytes are going). */
  async datasync(): Promise<void> {
    if (this.retired) return;
    await this.ctx.pool.use(this.logPath, "write", (file) => file.datasync());
  }

  // ---- reads against truncation ------------------------------------------------------------

  /** Runs a read of this segment's bytes, after any truncation in progress and before any that comes later. */
  private async reading<T>(fn: () => Promise<T>): Promise<T> {
    while (this.truncating !== undefined) await this.truncating;
    this.activeReads++;
    try {
      return await fn();
    } finally {
      this.activeReads--;
      if (this.activeReads === 0) this.readsDrained?.();
    }
  }

  /** Runs a truncation once the reads already running end; reads arriving meanwhile wait for it. */
  private async exclusively<T>(fn: () => Promise<T>): Promise<T> {
    assert(this.truncating === undefined, "one truncation of a segment at a time");
    let done: () => void = () => undefined;
    this.truncating = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      if (this.activeReads > 0) {
        await new Promise<void>((resolve) => {
          this.readsDrained = resolve;
        });
      }
      this.readsDrained = undefined;
      return await fn();
    } finally {
      this.truncating = undefined;
      done();
    }
  }

  // ---- read ------------------------------------------------------------------------------

  /**
   * Reads whole batches starting at the first batch whose lastOffset >= `offset`, up to
   * `maxBytes` (at least one batch), stopping before a batch whose lastOffset >= `maxOffset`.
   * Returns undefined when this segment holds no batch at or after `offset`. With `scratch`, the
   * bytes are read into it when they fit (the result is then a view of `scratch`).
   * Throws CorruptRecordError when the first batch to return is damaged; a damaged later batch
   * just ends the result (the next read reports it).
   */
  read(offset: number, maxBytes: number, maxOffset: number, lookaheadBytes: number, scratch?: Buffer): Promise<SegmentRead | undefined> {
    return this.reading(() => this.readBatches(offset, maxBytes, maxOffset, lookaheadBytes, scratch));
  }

  private async readBatches(offset: number, maxBytes: number, maxOffset: number, lookaheadBytes: number, scratch?: Buffer): Promise<SegmentRead | undefined> {
    const { index } = await this.ensureIndexes();
    const size = this.size;
    const entry = index.lookup(offset - this.baseOffset);
    let bufStart = entry?.position ?? 0;
    if (bufStart >= size) return undefined;
    let buf: Buffer = Buffer.alloc(0);
    let got = 0;
    // Reads [position, position + max(need, budget + lookahead)) into a fresh buffer; `buf` is
    // cut to the bytes actually read (fewer if a truncation raced us).
    const refill = async (position: number, need: number): Promise<void> => {
      const length = Math.min(size - position, Math.max(need, maxBytes + lookaheadBytes));
      // The caller's scratch buffer when it is big enough (no allocation, no page faults).
      const fresh: Buffer = scratch !== undefined && scratch.byteLength >= length ? scratch : Buffer.allocUnsafe(length);
      got = await this.readFully(fresh, length, position);
      buf = fresh.subarray(0, got);
      bufStart = position;
    };
    await refill(bufStart, 0);

    // Find the first batch with lastOffset >= offset.
    let position = bufStart;
    let previousEnd = entry === undefined ? this.baseOffset : this.baseOffset + entry.relativeOffset;
    let first: BatchSummary | undefined;
    while (first === undefined) {
      if (position >= size) return undefined;
      let check = checkHeaderAt(buf, position - bufStart, got, bufStart, size - position);
      if (check.kind === "short") {
        await refill(position, 61);
        check = checkHeaderAt(buf, 0, got, bufStart, size - position);
      }
      if (check.kind !== "ok") {
        const detail = check.kind === "bad" ? check.detail : "batch cut short";
        throw new CorruptRecordError(`segment ${this.baseOffset}: ${detail}`, position);
      }
      if (check.batch.baseOffset < previousEnd) {
        throw new CorruptRecordError(`segment ${this.baseOffset}: batch offset ${check.batch.baseOffset} below ${previousEnd}`, position);
      }
      if (check.batch.lastOffset >= offset) first = check.batch;
      else {
        position += check.batch.sizeBytes;
        previousEnd = check.batch.lastOffset + 1;
      }
    }
    if (first.lastOffset >= maxOffset) return { records: Buffer.alloc(0), firstOffset: offset, nextOffset: offset };
    if (position + first.sizeBytes > bufStart + got) await refill(position, first.sizeBytes);
    verifyStoredBatch(buf, position - bufStart, position);

    const start = position - bufStart;
    let end = start + first.sizeBytes;
    let nextOffset = first.lastOffset + 1;
    let previousLast = first.lastOffset;
    while (bufStart + end < size) {
      const check = checkHeaderAt(buf, end, got, bufStart, size - (bufStart + end));
      if (check.kind !== "ok") break;
      const batch = check.batch;
      if (end + batch.sizeBytes > got || end + batch.sizeBytes - start > maxBytes) break;
      if (batch.lastOffset >= maxOffset || batch.baseOffset <= previousLast) break;
      try {
        verifyStoredBatch(buf, end, bufStart + end);
      } catch (error) {
        if (error instanceof CorruptRecordError) break;
        throw error;
      }
      end += batch.sizeBytes;
      nextOffset = batch.lastOffset + 1;
      previousLast = batch.lastOffset;
    }
    return { records: buf.subarray(start, end), firstOffset: first.baseOffset, nextOffset };
  }

  private async readFully(buf: Buffer, length: number, position: number): Promise<number> {
    let got = 0;
    while (got < length) {
      const n = await this.readAt(buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /**
   * Finds the first batch whose lastOffset >= `offset` by index lookup and a header walk.
   * `previousEnd` is lastOffset + 1 of the batch before it (or the segment base).
   */
  async findBatch(offset: number): Promise<{ batch: BatchSummary | undefined; position: number; previousEnd: number }> {
    const { index } = await this.ensureIndexes();
    // Start from an entry strictly before `offset` so the batch before the target is seen too.
    const entry = index.lookup(offset - this.baseOffset - 1);
    let previousEnd = this.baseOffset;
    for await (const item of walkBatches(this.readAt, { from: entry?.position ?? 0, to: this.size, chunkBytes: LOOKUP_CHUNK_BYTES, withBodies: false })) {
      if (item.kind !== "batch") throw this.walkProblem(item);
      if (item.batch.lastOffset >= offset) return { batch: item.batch, position: item.batch.position, previousEnd };
      previousEnd = item.batch.lastOffset + 1;
    }
    return { batch: undefined, position: this.size, previousEnd };
  }

  private walkProblem(item: Exclude<WalkItem, { kind: "batch" }>): CorruptRecordError {
    const detail = item.kind === "bad" ? item.detail : "batch cut short";
    return new CorruptRecordError(`segment ${this.baseOffset}: ${detail}`, item.position);
  }

  /** Offset after the last batch, walking from the last index entry if not yet known. */
  async nextOffset(): Promise<number> {
    if (this.next !== undefined) return this.next;
    const { index } = await this.ensureIndexes();
    if (this.next !== undefined) return this.next;
    let next = this.baseOffset;
    for await (const item of walkBatches(this.readAt, { from: index.lastEntry()?.position ?? 0, to: this.size, chunkBytes: LOOKUP_CHUNK_BYTES, withBodies: false })) {
      if (item.kind !== "batch") throw this.walkProblem(item);
      next = item.batch.lastOffset + 1;
    }
    this.next = next;
    return next;
  }

  /**
   * The first batch with maxTimestamp >= `timestampMs` and lastOffset >= `minOffset`, via the
   * time index then a header walk.
   */
  findByTimestamp(timestampMs: number, minOffset: number): Promise<BatchSummary | undefined> {
    return this.reading(async () => {
      const { index, timeIndex } = await this.ensureIndexes();
      const timeEntry = timeIndex.lastBefore(timestampMs);
      const fromOffset = Math.max(timeEntry === undefined ? 0 : timeEntry.relativeOffset, minOffset - this.baseOffset);
      const from = index.lookup(fromOffset)?.position ?? 0;
      for await (const item of walkBatches(this.readAt, { from, to: this.size, chunkBytes: LOOKUP_CHUNK_BYTES, withBodies: false })) {
        if (item.kind !== "batch") throw this.walkProblem(item);
        if (item.batch.maxTimestampMs >= timestampMs && item.batch.lastOffset >= minOffset) return item.batch;
      }
      return undefined;
    });
  }

  // ---- truncate, recover, finalize -------------------------------------------------------

  /**
   * Cuts the file at `position` (a batch boundary found by `findBatch`), whose preceding batch
   * ends at `nextOffset`; makes the cut durable and fixes the indexes and the largest timestamp.
   * Waits for the reads of this segment already running (see the module comment).
   */
  truncateAt(position: number, nextOffset: number): Promise<number> {
    return this.exclusively(() => this.cutAt(position, nextOffset));
  }

  private async cutAt(position: number, nextOffset: number): Promise<number> {
    const { index, timeIndex } = await this.ensureIndexes();
    this.indexesDirty = true;
    const removed = this.size - position;
    await this.ctx.pool.use(this.logPath, "write", async (file) => {
      await file.truncate(position);
      await file.datasync();
    });
    this.generation++;
    this.size = position;
    this.next = nextOffset;
    index.truncateToPosition(position);
    timeIndex.truncateToRelativeOffset(nextOffset - this.baseOffset);
    // The running maximum: the last time entry, then whatever the batches after it hold.
    const lastTime = timeIndex.lastEntry();
    this.maxTimestamp = lastTime?.timestampMs ?? -1;
    this.offsetOfMaxTimestamp = lastTime === undefined ? -1 : this.baseOffset + lastTime.relativeOffset;
    const from = lastTime === undefined ? 0 : (index.lookup(lastTime.relativeOffset)?.position ?? 0);
    for await (const item of walkBatches(this.readAt, { from, to: position, chunkBytes: SCAN_CHUNK_BYTES, withBodies: false })) {
      if (item.kind !== "batch") break;
      if (item.batch.maxTimestampMs > this.maxTimestamp) {
        this.maxTimestamp = item.batch.maxTimestampMs;
        this.offsetOfMaxTimestamp = item.batch.baseOffset;
      }
    }
    this.maxTimestampKnown = true;
    const lastEntry = index.lastEntry();
    this.bytesSinceIndexEntry = lastEntry === undefined ? 0 : position - lastEntry.position;
    this.bytesSinceTimeEntry = this.ctx.indexIntervalBytes;
    this.indexesDirty = true;
    if (position === 0) this.rollStartMs = undefined;
    return removed;
  }

  /**
   * Rescans the whole file after an unclean shutdown: checks every batch (structure, CRC,
   * offsets increasing from `minBaseOffset`), rebuilds both indexes, and cuts the file at the
   * first batch that fails. `onBatch` sees each valid batch in order.
   */
  async recover(minBaseOffset: number, onBatch: (batch: BatchSummary) => void): Promise<SegmentRecovery> {
    this.indexesDirty = true;
    const fileSize = await this.ctx.pool.use(this.logPath, "write", (file) => file.size());
    this.size = fileSize;
    this.index = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.resetIndexCounters();
    let validEnd = 0;
    let expectedMin = Math.max(minBaseOffset, this.baseOffset);
    let next = this.baseOffset;
    let problem: string | undefined;
    for await (const item of walkBatches(this.readAt, { from: 0, to: fileSize, chunkBytes: SCAN_CHUNK_BYTES, withBodies: true })) {
      if (item.kind !== "batch") {
        problem = item.kind === "bad" ? item.detail : "torn batch at end of file";
        break;
      }
      const { batch, bytes } = item;
      assert(bytes !== undefined);
      try {
        verifyStoredBatch(bytes, 0, batch.position);
      } catch (error) {
        if (!(error instanceof CorruptRecordError)) throw error;
        problem = error.message;
        break;
      }
      if (batch.baseOffset < expectedMin || !this.fitsOffset(batch.lastOffset)) {
        problem = `batch offset ${batch.baseOffset} out of order (expected >= ${expectedMin})`;
        break;
      }
      this.indexBatch(batch, batch.position);
      onBatch(batch);
      validEnd = batch.position + batch.sizeBytes;
      expectedMin = batch.lastOffset + 1;
      next = batch.lastOffset + 1;
    }
    if (validEnd < fileSize) {
      await this.ctx.pool.use(this.logPath, "write", async (file) => {
        await file.truncate(validEnd);
        await file.datasync();
      });
      this.generation++;
    }
    this.size = validEnd;
    this.next = next;
    this.maxTimestampKnown = true;
    this.indexesDirty = true;
    return { validBytes: validEnd, truncatedBytes: fileSize - validEnd, problem };
  }

  /**
   * The segment stops taking appends (roll) or the log closes: record the final largest
   * timestamp in the time index and write both index files durably if they changed.
   */
  async finalize(): Promise<void> {
    const { timeIndex } = await this.ensureIndexes();
    if (this.maxTimestamp >= 0 && timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset)) {
      this.indexesDirty = true;
    }
    if (this.indexesDirty) await this.writeIndexFiles();
  }

  /**
   * Takes the segment out of the log before its files are unlinked or renamed over. With
   * `keepReadable` (reads can still reach it) its log file is first opened, and reads go on
   * through that handle until `releaseRetainedFile`. Idempotent.
   */
  async retire(keepReadable: boolean): Promise<void> {
    if (this.retired) return;
    let retained: StorageFile | undefined;
    if (keepReadable) {
      try {
        retained = await this.ctx.pool.fs.open(this.logPath, "read");
      } catch (error) {
        // Already gone (a deletion that failed half way and is being redone): nothing left to keep.
        if (!isNotFound(error)) throw error;
      }
    }
    // From here no read opens these names again; a read that opened one before goes through `retained`.
    this.retainedLog = retained;
    this.retired = true;
    this.fileEpoch++;
    this.ctx.indexCache?.remove(this);
    for (const path of [this.logPath, this.indexPath, this.timeIndexPath]) this.ctx.pool.forget(path);
  }

  /** Closes the handle `retire` kept, once no read can use it. */
  async releaseRetainedFile(): Promise<void> {
    const retained = this.retainedLog;
    if (retained === undefined) return;
    this.retainedLog = undefined;
    await retained.close();
  }

  /** Retires the segment (if not already) and unlinks its files (the log first: an index without a log is cleaned up on open). */
  async deleteFiles(): Promise<void> {
    await this.retire(false);
    const { pool } = this.ctx;
    for (const path of [this.logPath, this.indexPath, this.timeIndexPath]) {
      try {
        await pool.fs.unlink(path);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      // Nothing may stay cached under a name that no longer exists (a later file may take it).
      pool.forget(path);
    }
  }

  /**
   * Every batch of the segment in order, CRC-checked (for compaction). `bytes` is a view into a
   * reused buffer: copy it to keep it past the next iteration.
   */
  async *batches(chunkBytes = 1024 * 1024): AsyncGenerator<{ batch: BatchSummary; bytes: Buffer }> {
    for await (const item of walkBatches(this.readAt, { from: 0, to: this.size, chunkBytes, withBodies: true })) {
      if (item.kind !== "batch") throw this.walkProblem(item);
      assert(item.bytes !== undefined);
      verifyStoredBatch(item.bytes, 0, item.batch.position);
      yield { batch: item.batch, bytes: item.bytes };
    }
  }
}

/**
 * Writes a whole index file in place and makes it durable; with `stillOurs`, only if it holds
 * once the file is open (false: nothing written).
 */
export async function writeIndexFile(pool: FileHandlePool, path: string, bytes: Buffer, stillOurs: () => boolean = () => true): Promise<boolean> {
  return pool.use(path, "create", async (file) => {
    if (!stillOurs()) return false;
    if (bytes.byteLength > 0) await file.write([bytes], 0);
    await file.truncate(bytes.byteLength);
    await file.datasync();
    return true;
  });
}
