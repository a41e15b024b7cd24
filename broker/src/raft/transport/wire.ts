/**
 * Byte-level primitives for the Raft wire and write-ahead formats: a writer that produces a
 * list of chunks (small fields copied into scratch memory, large payloads passed by reference
 * so a socket or file writev sends the caller's bytes without a copy) and a bounds-checked
 * reader whose every failure is a typed `FrameDecodeError`, never a RangeError or a crash.
 *
 * Integers are big-endian. A 64-bit field holds a JS safe integer (offsets, terms): written
 * as a signed high word and an unsigned low word, and rejected on read unless the value is
 * safe (same representation as Kafka's int64, see @sluice/protocol readInt64).
 *
 * Invariants: the chunks a writer returns, concatenated, are exactly the bytes written, in
 * order; scratch memory is never reused after it was handed out (sockets keep references
 * until written). A reader never reads outside [start, end) of its buffer.
 */
import { assert } from "@sluice/protocol";
import { FrameDecodeError } from "./errors.js";
import { transportLimits } from "./limits.js";

const TWO_POW_32 = 0x1_0000_0000;

export class ChunkWriter {
  private buf: Buffer;
  private pos = 0;
  private segmentStart = 0;
  private readonly chunks: Buffer[] = [];
  private flushedBytes = 0;
  private readonly zeroCopyBytesMin: number;

  constructor(initialBytes = 256, zeroCopyBytesMin: number = transportLimits.zeroCopyBytesMin) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.zeroCopyBytesMin = zeroCopyBytesMin;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.flushedBytes + this.pos - this.segmentStart;
  }

  private flushSegment(): void {
    if (this.pos > this.segmentStart) {
      this.chunks.push(this.buf.subarray(this.segmentStart, this.pos));
      this.flushedBytes += this.pos - this.segmentStart;
    }
    this.segmentStart = this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushSegment();
    const size = Math.max(n, Math.min(this.buf.length * 2, transportLimits.scratchBytesMax));
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
    this.segmentStart = 0;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  u16(value: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(value, this.pos);
    this.pos += 2;
  }

  u32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(value, this.pos);
    this.pos += 4;
  }

  i32(value: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(value, this.pos);
    this.pos += 4;
  }

  /** A safe integer as int64 (asserted: an unsafe value here is our bug, not the world's). */
  i64(value: number): void {
    assert(Number.isSafeInteger(value), `int64 field ${value} is not a safe integer`);
    this.ensure(8);
    const hi = Math.floor(value / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(value - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
  }

  /** Raw bytes (no length prefix). Large ones are referenced, not copied: do not mutate them until sent. */
  bytes(data: Uint8Array): void {
    const n = data.byteLength;
    if (n === 0) return;
    if (n >= this.zeroCopyBytesMin) {
      this.flushSegment();
      this.chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, n));
      this.flushedBytes += n;
      return;
    }
    this.ensure(n);
    this.buf.set(data, this.pos);
    this.pos += n;
  }

  /** Reserves 4 bytes to be filled in later (a length or checksum known only at the end). */
  reserveU32(): { readonly buf: Buffer; readonly at: number } {
    this.ensure(4);
    const slot = { buf: this.buf, at: this.pos };
    this.pos += 4;
    return slot;
  }

  /** The chunks written; the writer must not be used afterwards. */
  finish(): Buffer[] {
    this.flushSegment();
    return this.chunks;
  }
}

export class WireReader {
  private pos: number;

  constructor(
    readonly buf: Buffer,
    private readonly start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** Position relative to the start of the region (what error messages report). */
  get position(): number {
    return this.pos - this.start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new FrameDecodeError(`truncated ${what}: need ${n} bytes, ${this.end - this.pos} left`, this.position);
  }

  u8(what = "u8"): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  u16(what = "u16"): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = "u32"): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what = "i32"): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i64(what = "i64"): number {
    this.need(8, what);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    const value = hi * TWO_POW_32 + lo;
    if (!Number.isSafeInteger(value)) throw new FrameDecodeError(`${what} ${hi}:${lo} is not a safe integer`, this.position);
    this.pos += 8;
    return value;
  }

  /** `n` bytes as a view into the underlying buffer (no copy). */
  bytes(n: number, what = "bytes"): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  fail(detail: string): never {
    throw new FrameDecodeError(detail, this.position);
  }
}
