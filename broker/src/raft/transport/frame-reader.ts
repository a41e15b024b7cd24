/**
 * Splits a TCP byte stream into frames (`u32 bodyLength, u32 crc32c, body`, see codec.ts).
 * Chunks arrive in arbitrary pieces; a frame inside one chunk is returned as a view of it (no
 * copy), a frame spanning chunks is assembled once.
 *
 * Invariants: a length above `frameBytesMax` or a CRC mismatch raises FrameDecodeError before
 * the body is buffered or handed on; after an error the reader is poisoned (the connection is
 * dropped, so nothing later in the stream can be trusted).
 */
import { FrameDecodeError } from "./errors.js";
import { FRAME_HEADER_BYTES, verifyFrameCrc } from "./codec.js";
import { transportLimits } from "./limits.js";

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameDecodeError | null = null;

  constructor(private readonly frameBytesMax: number = transportLimits.frameBytesMax) {}

  /** Bytes received but not yet returned as a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds `chunk` and returns every frame body now complete (CRC-checked), in stream order. */
  push(chunk: Buffer): Buffer[] {
    if (this.failed !== null) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Buffer[] = [];
    try {
      for (;;) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const header = this.peek(FRAME_HEADER_BYTES);
        const bodyLength = header.readUInt32BE(0);
        if (bodyLength === 0 || bodyLength > this.frameBytesMax) {
          throw new FrameDecodeError(`frame body length ${bodyLength} outside [1, ${this.frameBytesMax}]`);
        }
        if (this.buffered < FRAME_HEADER_BYTES + bodyLength) break;
        const crc = header.readUInt32BE(4);
        const frame = this.take(FRAME_HEADER_BYTES + bodyLength);
        const body = frame.subarray(FRAME_HEADER_BYTES);
        verifyFrameCrc(body, crc);
        out.push(body);
      }
    } catch (error) {
      this.failed = error instanceof FrameDecodeError ? error : new FrameDecodeError("stream error", undefined, { cause: error });
      this.chunks = [];
      this.buffered = 0;
      throw this.failed;
    }
    return out;
  }

  /** The first `n` buffered bytes (n <= buffered), without consuming them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const chunk of this.chunks) {
      const take = Math.min(n - filled, chunk.length);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (filled === n) break;
    }
    return out;
  }

  /** Consumes and returns the first `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      this.buffered -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const take = Math.min(n - filled, chunk.length);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    this.buffered -= n;
    return out;
  }
}
