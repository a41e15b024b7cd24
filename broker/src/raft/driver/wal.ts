/**
 * A durable RaftPersistence: one append-only write-ahead log per broker shared by all its
 * groups, so one fdatasync makes a whole driver pass durable (group commit across groups),
 * with each group's state also held in memory (a MemoryStorage the core reads).
 *
 * Records use the transport's framing (u32 bodyLength, u32 crc32c, body) with bodies
 * `u8 type, u32 group, payload`:
 *
 *     1 base        snapshot          the group's state starts over here (creation, checkpoint)
 *     2 entries     u32 n, n x entry  append, discarding the stored suffix from the first entry
 *     3 hard-state  i64 term, i32 vote, i64 commit
 *     4 snapshot    snapshot          installed from the leader (ignored unless newer)
 *     5 compact     i64 offset, u32 length + data   entries up to offset dropped, snapshot recorded
 *     6 remove      -                 the group left this broker
 *     7 checkpoint  u32 groups        (group 0) the live state of every group precedes this record
 *
 * Segments `raft-wal-<seq>.log`. Each starts with a checkpoint (the live state of every group,
 * then a checkpoint record); the first segment's checkpoint is empty. When the active segment
 * exceeds `segmentBytes` (and holds at least twice the live state), the next segment is written
 * with a fresh checkpoint, synced, and only then are older segments deleted.
 *
 * Recovery: the newest segment whose checkpoint is complete is replayed; newer segments (a roll
 * cut short by a crash) and older ones are deleted; replay stops at the first torn or corrupt
 * record and the file is truncated there (only unsynced writes can be lost that way).
 *
 * Limits: all retained entries live in memory (compact() bounds them); a checkpoint rewrites
 * them, so keep the retained tail small relative to segmentBytes.
 */
import { crc32c } from "@node-rs/crc32";
import { asOffset, StorageError, type Offset } from "@sluice/protocol";
import type { Logger } from "pino";
import type { StorageFile, StorageFs } from "../../storage/index.js";
import { joinPath } from "../../storage/index.js";
import type { GroupId } from "../core/multi-group.js";
import { MemoryStorage, type RaftStorage } from "../core/storage.js";
import type { Configuration, Entry, HardState, NodeId, Snapshot, Term } from "../core/types.js";
import { decodeEntry, decodeSnapshot, encodeEntry, encodeSnapshot, finishFrame, FRAME_HEADER_BYTES, startFrame } from "../transport/codec.js";
import { WireReader, type ChunkWriter } from "../transport/wire.js";
import { InvalidDriverRequestError } from "./errors.js";
import { walLimits, type WalLimits } from "./limits.js";
import { checkCompaction, type RaftPersistence } from "./persistence.js";

const REC_BASE = 1;
const REC_ENTRIES = 2;
const REC_HARD_STATE = 3;
const REC_SNAPSHOT = 4;
const REC_COMPACT = 5;
const REC_REMOVE = 6;
const REC_CHECKPOINT = 7;

const SEGMENT_PATTERN = /^raft-wal-(\d{12})\.log$/;
const segmentName = (seq: number): string => `raft-wal-${String(seq).padStart(12, "0")}.log`;

export interface WalPersistenceOptions {
  readonly fs: StorageFs;
  readonly dir: string;
  readonly limits?: Partial<WalLimits>;
  readonly logger?: Logger;
}

export interface WalStats {
  readonly syncs: number;
  readonly bytesWritten: number;
  /** Sequence number of the active segment. */
  readonly segment: number;
  readonly rolls: number;
  /** Bytes cut off the tail on recovery (a torn or corrupt record). */
  readonly recoveredTornBytes: number;
}

interface ParsedSegment {
  readonly records: Buffer[];
  readonly validBytes: number;
  readonly checkpointComplete: boolean;
}

export class WalPersistence implements RaftPersistence {
  private readonly groups = new Map<GroupId, MemoryStorage>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private file: StorageFile;
  private position: number;
  private seq: number;
  private readonly limits: WalLimits;
  private syncChain: Promise<void> = Promise.resolve();
  private failure: StorageError | null = null;
  private stats_ = { syncs: 0, bytesWritten: 0, rolls: 0, recoveredTornBytes: 0 };
  private nextRollCheckAt: number;

  private constructor(
    private readonly options: WalPersistenceOptions,
    file: StorageFile,
    seq: number,
    position: number,
  ) {
    this.file = file;
    this.seq = seq;
    this.position = position;
    this.limits = { ...walLimits, ...options.limits };
    this.nextRollCheckAt = this.limits.segmentBytes;
  }

  /** Opens (recovering) or creates the write-ahead log in `dir`. */
  static async open(options: WalPersistenceOptions): Promise<WalPersistence> {
    const { fs, dir } = options;
    const limits = { ...walLimits, ...options.limits };
    try {
      await mkdirDurable(fs, dir);
      const seqs = (await fs.readdir(dir))
        .map((name) => SEGMENT_PATTERN.exec(name))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
      if (seqs.length === 0) {
        const file = await fs.open(joinPath(dir, segmentName(1)), "create");
        const wal = new WalPersistence(options, file, 1, 0);
        wal.queue(checkpointRecord(0));
        await wal.flushAndSync();
        await fs.fsyncDir(dir);
        return wal;
      }
      for (let i = seqs.length - 1; i >= 0; i--) {
        const seq = seqs[i] as number;
        const path = joinPath(dir, segmentName(seq));
        const file = await fs.open(path, "write");
        const size = await file.size();
        const bytes = Buffer.allocUnsafe(size);
        let read = 0;
        while (read < size) {
          const n = await file.read(bytes, read, size - read, read);
          if (n === 0) break;
          read += n;
        }
        const parsed = parseSegment(bytes.subarray(0, read), limits.recordBytesMax);
        if (!parsed.checkpointComplete) {
          await file.close();
          options.logger?.warn({ segment: path }, "raft WAL segment without a complete checkpoint ignored");
          continue;
        }
        const wal = new WalPersistence(options, file, seq, parsed.validBytes);
        wal.stats_.recoveredTornBytes = read - parsed.validBytes;
        for (const record of parsed.records) wal.replay(record);
        if (parsed.validBytes < size) {
          options.logger?.warn({ segment: path, validBytes: parsed.validBytes, size }, "raft WAL torn tail truncated");
          await file.truncate(parsed.validBytes);
          await file.datasync();
        }
        for (const other of seqs) if (other !== seq) await fs.unlink(joinPath(dir, segmentName(other)));
        if (seqs.length > 1) await fs.fsyncDir(dir);
        return wal;
      }
      throw new StorageError(`raft WAL in ${dir}: no segment with a complete checkpoint`);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(`raft WAL in ${dir}: ${(error as Error).message}`, { cause: error });
    }
  }

  get stats(): WalStats {
    return { ...this.stats_, segment: this.seq };
  }

  storedGroups(): GroupId[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  openGroup(group: GroupId, bootstrap: Configuration): RaftStorage {
    this.checkUsable();
    let storage = this.groups.get(group);
    if (storage === undefined) {
      storage = new MemoryStorage(bootstrap);
      this.groups.set(group, storage);
      this.queue(snapshotRecord(REC_BASE, group, storage.snapshot()));
    }
    return storage;
  }

  /** The in-memory view of a group (tests inspect it). */
  storage(group: GroupId): MemoryStorage | undefined {
    return this.groups.get(group);
  }

  write(group: GroupId, snapshot: Snapshot | null, entries: readonly Entry[], hardState: HardState | null): void {
    this.checkUsable();
    const storage = this.groups.get(group);
    if (storage === undefined) throw new InvalidDriverRequestError(`group ${group} was not opened`);
    if (snapshot !== null) {
      storage.applySnapshot(snapshot);
      this.queue(snapshotRecord(REC_SNAPSHOT, group, snapshot));
    }
    if (entries.length > 0) {
      storage.append(entries);
      this.queue(entriesRecord(group, entries));
    }
    if (hardState !== null) {
      storage.setHardState(hardState);
      this.queue(hardStateRecord(group, hardState));
    }
  }

  compact(group: GroupId, offset: Offset, data: Uint8Array): void {
    this.checkUsable();
    const storage = this.groups.get(group);
    if (storage === undefined) throw new InvalidDriverRequestError(`group ${group} was not opened`);
    if (!checkCompaction(storage, group, offset)) return;
    storage.compact(offset, data);
    const w = startFrame(REC_COMPACT);
    w.u32(group);
    w.i64(offset);
    w.u32(data.byteLength);
    w.bytes(data);
    this.queue(finishFrame(w));
  }

  removeGroup(group: GroupId): void {
    this.checkUsable();
    if (!this.groups.delete(group)) return;
    const w = startFrame(REC_REMOVE);
    w.u32(group);
    this.queue(finishFrame(w));
  }

  sync(): Promise<void> {
    const next = this.syncChain.then(() => this.flushAndSync());
    this.syncChain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.failure === null) await this.sync();
    this.failure ??= new StorageError("raft WAL closed");
    await this.file.close();
  }

  // ---------------------------------------------------------------- writing

  private checkUsable(): void {
    if (this.failure !== null) throw this.failure;
  }

  private queue(chunks: Buffer[]): void {
    for (const chunk of chunks) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
  }

  private async flushAndSync(): Promise<void> {
    this.checkUsable();
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.file.write(chunks, this.position);
      this.position += bytes;
      await this.file.datasync();
      this.stats_.syncs++;
      this.stats_.bytesWritten += bytes;
      // Roll only with nothing queued: the checkpoint must describe exactly what precedes the
      // records written after it (replaying a queued record on top of it is not idempotent).
      if (this.position >= this.nextRollCheckAt && this.pending.length === 0) await this.maybeRoll();
    } catch (error) {
      // What reached the file is unknown: stop here; reopening recovers from the last valid record.
      this.failure = error instanceof StorageError ? error : new StorageError(`raft WAL write failed: ${(error as Error).message}`, { cause: error });
      throw this.failure;
    }
  }

  /**
   * Starts a new segment with a checkpoint of the live state, then deletes the old one. The
   * checkpoint is taken synchronously, so writes queued while the new segment is being written
   * land after it, in order.
   */
  private async maybeRoll(): Promise<void> {
    const checkpoint: Buffer[] = [];
    let liveBytes = 0;
    for (const [group, storage] of this.groups) {
      for (const chunk of checkpointOfGroup(group, storage)) {
        checkpoint.push(chunk);
        liveBytes += chunk.length;
      }
    }
    if (liveBytes * 2 > this.position) {
      // Mostly live data: rolling would rewrite nearly everything. Look again after more growth.
      this.nextRollCheckAt = this.position + this.limits.segmentBytes;
      return;
    }
    for (const chunk of checkpointRecord(this.groups.size)) {
      checkpoint.push(chunk);
      liveBytes += chunk.length;
    }
    const { fs, dir } = this.options;
    const nextSeq = this.seq + 1;
    const file = await fs.open(joinPath(dir, segmentName(nextSeq)), "create");
    await file.truncate(0);
    await file.write(checkpoint, 0);
    await file.datasync();
    await fs.fsyncDir(dir);
    const old = this.file;
    const oldSeq = this.seq;
    this.file = file;
    this.seq = nextSeq;
    this.position = liveBytes;
    this.nextRollCheckAt = Math.max(this.limits.segmentBytes, liveBytes * 2);
    this.stats_.rolls++;
    this.stats_.bytesWritten += liveBytes;
    await old.close();
    await fs.unlink(joinPath(dir, segmentName(oldSeq)));
    await fs.fsyncDir(dir);
  }

  // ---------------------------------------------------------------- replay

  private replay(body: Buffer): void {
    const r = new WireReader(body);
    const type = r.u8("record type");
    const group = r.u32("group") as GroupId;
    const storage = this.groups.get(group);
    const missing = (): never => {
      throw new StorageError(`raft WAL: record type ${type} for group ${group}, which has no base record`);
    };
    switch (type) {
      case REC_BASE: {
        const snapshot = decodeSnapshot(r);
        const fresh = new MemoryStorage(snapshot.meta.config);
        if (snapshot.meta.offset >= 0) fresh.applySnapshot(snapshot);
        this.groups.set(group, fresh);
        break;
      }
      case REC_ENTRIES: {
        if (storage === undefined) return missing();
        const n = r.u32("entry count");
        const entries: Entry[] = [];
        for (let i = 0; i < n; i++) entries.push(decodeEntry(r));
        checkReplayAppend(storage, group, entries);
        storage.append(entries);
        break;
      }
      case REC_HARD_STATE: {
        if (storage === undefined) return missing();
        const term = r.i64("term") as Term;
        const vote = r.i32("vote") as NodeId;
        const commit = asOffset(r.i64("commit"));
        storage.setHardState({ term, vote, commit });
        break;
      }
      case REC_SNAPSHOT:
        if (storage === undefined) return missing();
        storage.applySnapshot(decodeSnapshot(r));
        break;
      case REC_COMPACT: {
        if (storage === undefined) return missing();
        const offset = asOffset(r.i64("offset"));
        const data = Buffer.from(r.bytes(r.u32("data length")));
        try {
          if (checkCompaction(storage, group, offset)) storage.compact(offset, data);
        } catch (error) {
          throw new StorageError(`raft WAL: ${(error as Error).message}`, { cause: error });
        }
        break;
      }
      case REC_REMOVE:
        this.groups.delete(group);
        break;
      case REC_CHECKPOINT:
        break;
      default:
        throw new StorageError(`raft WAL: unknown record type ${type}`);
    }
  }
}

/** Creates `dir` (and missing parents) so that its name survives a crash: each new name's parent is fsynced. */
async function mkdirDurable(fs: StorageFs, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let probe = dir; (await fs.stat(probe)) === undefined; ) {
    missing.push(probe);
    const up = probe.includes("/") ? probe.slice(0, probe.lastIndexOf("/")) || "/" : ".";
    if (up === probe) break;
    probe = up;
  }
  if (missing.length === 0) return;
  await fs.mkdir(dir);
  for (const created of missing.reverse()) {
    const parent = created.includes("/") ? created.slice(0, created.lastIndexOf("/")) || "/" : ".";
    await fs.fsyncDir(parent);
  }
}

/** Splits a segment into CRC-valid records, stopping at the first torn or corrupt one. */
function parseSegment(bytes: Buffer, recordBytesMax: number): ParsedSegment {
  const records: Buffer[] = [];
  let at = 0;
  let checkpointComplete = false;
  while (at + FRAME_HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const crc = bytes.readUInt32BE(at + 4);
    if (length === 0 || length > recordBytesMax || at + FRAME_HEADER_BYTES + length > bytes.length) break;
    const body = bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
    if (crc32c(body) >>> 0 !== crc) break;
    if (body[0] === REC_CHECKPOINT) checkpointComplete = true;
    records.push(body);
    at += FRAME_HEADER_BYTES + length;
  }
  return { records, validBytes: at, checkpointComplete };
}

function checkReplayAppend(storage: MemoryStorage, group: GroupId, entries: readonly Entry[]): void {
  const first = entries[0];
  if (first === undefined) return;
  const snapshotOffset = storage.snapshotMeta().offset;
  const last = storage.lastOffset();
  const boundary = first.baseOffset === last + 1 || storage.entryAt(first.baseOffset)?.baseOffset === first.baseOffset;
  if (first.baseOffset <= snapshotOffset || first.baseOffset > last + 1 || !boundary) {
    throw new StorageError(`raft WAL: group ${group} entries at ${first.baseOffset} do not follow the log (snapshot ${snapshotOffset}, last ${last})`);
  }
}

function snapshotRecord(type: number, group: GroupId, snapshot: Snapshot): Buffer[] {
  const w = startFrame(type);
  w.u32(group);
  encodeSnapshot(w, snapshot);
  return finishFrame(w);
}

function entriesRecord(group: GroupId, entries: readonly Entry[]): Buffer[] {
  const w: ChunkWriter = startFrame(REC_ENTRIES);
  w.u32(group);
  w.u32(entries.length);
  for (const entry of entries) encodeEntry(w, entry);
  return finishFrame(w);
}

function hardStateRecord(group: GroupId, hs: HardState): Buffer[] {
  const w = startFrame(REC_HARD_STATE);
  w.u32(group);
  w.i64(hs.term);
  w.i32(hs.vote);
  w.i64(hs.commit);
  return finishFrame(w);
}

function checkpointRecord(groups: number): Buffer[] {
  const w = startFrame(REC_CHECKPOINT);
  w.u32(0);
  w.u32(groups);
  return finishFrame(w);
}

function checkpointOfGroup(group: GroupId, storage: MemoryStorage): Buffer[] {
  const chunks = snapshotRecord(REC_BASE, group, storage.snapshot());
  const entries = storage.allEntries();
  if (entries.length > 0) chunks.push(...entriesRecord(group, entries));
  chunks.push(...hardStateRecord(group, storage.hardState()));
  return chunks;
}
