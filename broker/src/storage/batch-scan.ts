/**
 * Walking batches in bytes, without decoding records: the header fields storage needs, read
 * straight from a buffer, plus a chunked walker over a segment file used by reads, recovery,
 * index rebuilds and compaction.
 *
 * Invariants: a walk never trusts a length it has not bounds-checked; it stops at the first
 * header that cannot be a batch (reported as `bad`) or at bytes that end mid-batch (`torn`);
 * CRC checks are the caller's choice (`validateBatch` from @sluice/protocol).
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  HeaderOffset,
  MAGIC_V2,
} from "@sluice/protocol";

/** What storage knows about a batch without reading its records. */
export interface BatchSummary {
  /** Byte position of the batch (in the file or buffer being walked). */
  readonly position: number;
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly leaderEpoch: number;
  readonly maxTimestampMs: number;
}

function readInt64At(buf: Buffer, at: number): number {
  const hi = buf.readInt32BE(at);
  const lo = buf.readUInt32BE(at + 4);
  return hi * 0x1_0000_0000 + lo;
}

export type HeaderCheck =
  | { readonly kind: "ok"; readonly batch: BatchSummary }
  /** More bytes of the buffer are needed to tell; `sizeBytes` once the length prefix is there. */
  | { readonly kind: "short"; readonly sizeBytes: number | undefined }
  /** The file ends before this batch does: a torn write. */
  | { readonly kind: "torn" }
  | { readonly kind: "bad"; readonly detail: string };

/**
 * Reads the header of the batch at `at` of `buf`, whose first byte sits at file position
 * `basePosition`. `limit` is where valid bytes end in `buf`; `fileRemaining` is how many bytes
 * the file holds from this batch's position on (a batch claiming more is torn).
 */
export function checkHeaderAt(buf: Buffer, at: number, limit: number, basePosition: number, fileRemaining: number): HeaderCheck {
  if (fileRemaining < BATCH_LENGTH_PREFIX_BYTES) return { kind: "torn" };
  if (limit - at < BATCH_LENGTH_PREFIX_BYTES) return { kind: "short", sizeBytes: undefined };
  const batchLength = buf.readInt32BE(at + HeaderOffset.batchLength);
  const sizeBytes = batchLength + BATCH_LENGTH_PREFIX_BYTES;
  if (batchLength < BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES) {
    return { kind: "bad", detail: `batchLength ${batchLength} is smaller than a header` };
  }
  if (sizeBytes > fileRemaining) return { kind: "torn" };
  if (limit - at < BATCH_HEADER_BYTES) return { kind: "short", sizeBytes };
  const magic = buf.readInt8(at + HeaderOffset.magic);
  if (magic !== MAGIC_V2) return { kind: "bad", detail: `magic ${magic}, expected ${MAGIC_V2}` };
  const baseOffset = readInt64At(buf, at + HeaderOffset.baseOffset);
  const lastOffsetDelta = buf.readInt32BE(at + HeaderOffset.lastOffsetDelta);
  const maxTimestampMs = readInt64At(buf, at + HeaderOffset.maxTimestamp);
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || lastOffsetDelta < 0 || !Number.isSafeInteger(maxTimestampMs)) {
    return { kind: "bad", detail: `impossible header: baseOffset ${baseOffset}, lastOffsetDelta ${lastOffsetDelta}` };
  }
  return {
    kind: "ok",
    batch: {
      position: basePosition + at,
      sizeBytes,
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      leaderEpoch: buf.readInt32BE(at + HeaderOffset.partitionLeaderEpoch),
      maxTimestampMs,
    },
  };
}

export type WalkItem =
  /** `bytes` is the whole batch when the walk reads bodies, else undefined; valid until the next item. */
  | { readonly kind: "batch"; readonly batch: BatchSummary; readonly bytes: Buffer | undefined }
  | { readonly kind: "torn"; readonly position: number }
  | { readonly kind: "bad"; readonly position: number; readonly detail: string };

export type ReadAt = (buffer: Buffer, offset: number, length: number, position: number) => Promise<number>;

export interface WalkOptions {
  /** Where to start (a batch boundary). */
  readonly from: number;
  /** Where the walk ends (the file's size). */
  readonly to: number;
  readonly chunkBytes: number;
  /** Read each batch's full bytes (recovery, compaction) or only its header (lookups). */
  readonly withBodies: boolean;
}

async function readFully(readAt: ReadAt, buffer: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await readAt(buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Walks the batches in [from, to) of a file, reading `chunkBytes` at a time (more when one batch
 * is bigger). Ends after the last whole batch, or with a `torn`/`bad` item at the first
 * position that does not hold one. The chunk buffer is reused: copy `bytes` to keep them.
 */
export async function* walkBatches(readAt: ReadAt, options: WalkOptions): AsyncGenerator<WalkItem> {
  const { to, withBodies, chunkBytes } = options;
  let chunk = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES, Math.min(chunkBytes, Math.max(to - options.from, 0))));
  let chunkStart = options.from;
  let chunkLength = 0;
  let position = options.from;
  while (position < to) {
    let at = position - chunkStart;
    let check = checkHeaderAt(chunk, at, chunkLength, chunkStart, to - position);
    // At most two refills: one may only reveal the batch's size, the next reads all of it.
    for (let refills = 0; refills < 2; refills++) {
      const incomplete = check.kind === "short" || (withBodies && check.kind === "ok" && at + check.batch.sizeBytes > chunkLength);
      if (!incomplete) break;
      const known = check.kind === "ok" ? check.batch.sizeBytes : check.kind === "short" ? check.sizeBytes : undefined;
      const want = withBodies ? Math.max(chunkBytes, known ?? BATCH_HEADER_BYTES) : Math.max(chunkBytes, BATCH_HEADER_BYTES);
      const length = Math.min(want, to - position);
      if (chunk.byteLength < length) chunk = Buffer.allocUnsafe(length);
      chunkLength = await readFully(readAt, chunk, length, position);
      chunkStart = position;
      at = 0;
      check = checkHeaderAt(chunk, 0, chunkLength, chunkStart, to - position);
    }
    // Still short after reading what the file should hold: the file shrank under us.
    if (check.kind === "short" || (withBodies && check.kind === "ok" && at + check.batch.sizeBytes > chunkLength)) check = { kind: "torn" };
    if (check.kind === "torn") {
      yield { kind: "torn", position };
      return;
    }
    if (check.kind === "bad") {
      yield { kind: "bad", position, detail: check.detail };
      return;
    }
    const batch = check.batch;
    yield { kind: "batch", batch, bytes: withBodies ? chunk.subarray(at, at + batch.sizeBytes) : undefined };
    position += batch.sizeBytes;
  }
}
