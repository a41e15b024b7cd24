/**
 * Framing of the broker's data listener: Produce and Fetch over plain TCP, next to the gRPC API.
 *
 * Why a second listener: on the hot path grpc-js costs more CPU per byte than everything else the
 * broker and the SDK do (HTTP/2 framing, a copy of every message into a framed buffer, a concat of
 * every received message, per-call objects). The data listener carries the *same protobuf
 * messages* as `sluice.v1.Sluice/Produce` and `/Fetch` (data.proto) in a length-prefixed frame, so
 * the broker runs the same handlers and record batches still travel as opaque bytes; what it drops
 * is the HTTP/2 layer. The gRPC API stays complete and remains the fallback.
 *
 * Connection (protocol version 1):
 *   1. The client sends HELLO: the 4 ASCII bytes "SLDP", u16 version, u16 flags (0). It may send
 *      requests right behind it without waiting.
 *   2. The broker answers HELLO with the version it will speak (equal to the client's), or an
 *      ERROR frame (correlation id 0, UNSUPPORTED_VERSION or INVALID_REQUEST) and closes.
 *   3. Then frames, both ways. Requests on one connection are answered by correlation id, possibly
 *      out of order (a long-polling fetch does not hold back a produce answer); per partition,
 *      produce appends start in arrival order (the broker chains them as on an ordered
 *      ProduceStream, see the broker's handlers/produce.ts StreamOrder).
 *
 * Frame: u32 length (big-endian; bytes after this field: 1 + 4 + payload) | u8 kind |
 * u32 correlation id (big-endian) | payload.
 *
 * | kind | name             | payload                                     |
 * | ---- | ---------------- | ------------------------------------------- |
 * | 0x01 | PRODUCE          | sluice.v1.ProduceRequest                    |
 * | 0x02 | FETCH            | sluice.v1.FetchRequest                      |
 * | 0x81 | PRODUCE_RESPONSE | sluice.v1.ProduceResponse                   |
 * | 0x82 | FETCH_RESPONSE   | sluice.v1.FetchResponse                     |
 * | 0xff | ERROR            | sluice.v1.ErrorInfo (whole request refused) |
 *
 * An ERROR frame with a request's correlation id fails that request only (a malformed request,
 * the broker shutting down). With correlation id 0 it fails the connection: the sender closes it
 * right after (garbage on the port, an oversized frame, an unknown kind).
 *
 * Invariants of this module: it never reads past a frame's declared length, never accepts a
 * frame above `maxFrameBytes`, and reports every violation as a typed `SluiceError` (the caller
 * decides to answer ERROR and close); a frame wholly inside one received chunk is a view of it
 * (no copy), a frame spanning chunks is copied once.
 */
import { SluiceError } from "./errors.js";
import { GRPC_MESSAGE_BYTES_MAX } from "./grpc.js";

export const DATA_MAGIC = Buffer.from("SLDP", "ascii");
export const DATA_PROTOCOL_VERSION = 1;
export const DATA_HELLO_BYTES = 8;
/** length (4) + kind (1) + correlation id (4). */
export const DATA_FRAME_HEADER_BYTES = 9;
/** The largest frame either side accepts: the same bound as a gRPC message (64 MiB). */
export const DATA_FRAME_BYTES_MAX = GRPC_MESSAGE_BYTES_MAX;

export const FrameKind = {
  PRODUCE: 0x01,
  FETCH: 0x02,
  PRODUCE_RESPONSE: 0x81,
  FETCH_RESPONSE: 0x82,
  ERROR: 0xff,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KINDS: ReadonlySet<number> = new Set(Object.values(FrameKind));

export interface DataFrame {
  readonly kind: FrameKind;
  readonly correlationId: number;
  /** A view of the received bytes when the frame arrived in one chunk, else a copy. */
  readonly payload: Buffer;
}

/** The 8-byte HELLO for `version`. */
export function encodeHello(version: number = DATA_PROTOCOL_VERSION): Buffer {
  const hello = Buffer.allocUnsafe(DATA_HELLO_BYTES);
  DATA_MAGIC.copy(hello, 0);
  hello.writeUInt16BE(version, 4);
  hello.writeUInt16BE(0, 6);
  return hello;
}

/** The version in a HELLO; throws INVALID_REQUEST when the bytes are not a HELLO. */
export function decodeHello(bytes: Buffer): number {
  if (bytes.length !== DATA_HELLO_BYTES || !bytes.subarray(0, 4).equals(DATA_MAGIC)) {
    throw new SluiceError("INVALID_REQUEST", "not a Sluice data-protocol connection (expected the HELLO \"SLDP\" + version)");
  }
  return bytes.readUInt16BE(4);
}

/** The 9-byte header of a frame whose payload is `payloadBytes` long. */
export function encodeFrameHeader(kind: FrameKind, correlationId: number, payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(DATA_FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, kind, correlationId, payloadBytes);
  return header;
}

/** Writes a frame header at `at` (for encoders that put header and payload in one buffer). */
export function writeFrameHeader(out: Buffer, at: number, kind: FrameKind, correlationId: number, payloadBytes: number): void {
  if (!Number.isInteger(correlationId) || correlationId < 0 || correlationId > 0xffff_ffff) {
    throw new SluiceError("INVALID_REQUEST", `correlation id ${correlationId} is not a u32`);
  }
  const length = 1 + 4 + payloadBytes;
  out.writeUInt32BE(length, at);
  out[at + 4] = kind;
  out.writeUInt32BE(correlationId, at + 5);
}

/** Checks a frame header's length and kind; returns the length (bytes after the length field). */
function checkFrameHeader(header: Buffer, maxFrameBytes: number): number {
  const length = header.readUInt32BE(0);
  const kind = header[4]!;
  if (length < 5) throw new SluiceError("INVALID_REQUEST", `frame length ${length} is shorter than its header`);
  if (length > maxFrameBytes) throw new SluiceError("MESSAGE_TOO_LARGE", `frame of ${length} bytes exceeds the limit of ${maxFrameBytes}`);
  if (!KINDS.has(kind)) throw new SluiceError("INVALID_REQUEST", `unknown frame kind 0x${kind.toString(16)}`);
  return length;
}

/** What both readers offer: feed chunks with `push`, take complete frames with `next`. */
export interface FrameSource {
  readonly bufferedBytes: number;
  push(chunk: Buffer): void;
  next(): DataFrame | undefined;
}

export interface FrameReaderOptions {
  /** Largest frame accepted (bytes after the length field); default DATA_FRAME_BYTES_MAX. */
  readonly maxFrameBytes?: number;
  /** Expect (and consume) a HELLO before the first frame; `onHello` gets its raw 8 bytes. */
  readonly onHello?: (hello: Buffer) => void;
}

/**
 * Incremental frame parser: `push` each received chunk, then take complete frames with `next()`
 * until it returns undefined. Throws SluiceError (INVALID_REQUEST: unknown kind or a bad HELLO,
 * MESSAGE_TOO_LARGE: a frame above the bound) and stays failed; the connection must be closed.
 */
export class FrameReader implements FrameSource {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Read position inside chunks[0]. */
  private offset = 0;
  private helloPending: boolean;
  private failed: SluiceError | undefined;
  private readonly maxFrameBytes: number;

  constructor(private readonly options: FrameReaderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DATA_FRAME_BYTES_MAX;
    this.helloPending = options.onHello !== undefined;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (this.failed !== undefined) throw this.failed;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  next(): DataFrame | undefined {
    if (this.failed !== undefined) throw this.failed;
    try {
      if (this.helloPending) {
        if (this.buffered < DATA_HELLO_BYTES) return undefined;
        const hello = this.take(DATA_HELLO_BYTES);
        this.helloPending = false;
        this.options.onHello?.(hello);
      }
      if (this.buffered < DATA_FRAME_HEADER_BYTES) return undefined;
      const header = this.peek(DATA_FRAME_HEADER_BYTES);
      const length = checkFrameHeader(header, this.maxFrameBytes);
      if (this.buffered < 4 + length) return undefined;
      const correlationId = header.readUInt32BE(5);
      this.skip(DATA_FRAME_HEADER_BYTES);
      const payload = this.take(length - 5);
      return { kind: header[4] as FrameKind, correlationId, payload };
    } catch (error) {
      this.failed = error instanceof SluiceError ? error : new SluiceError("INVALID_REQUEST", String(error));
      throw this.failed;
    }
  }

  /** The next `n` buffered bytes without consuming them (a view when they sit in one chunk). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let offset = this.offset;
    for (const chunk of this.chunks) {
      const copied = chunk.copy(out, filled, offset, Math.min(chunk.length, offset + n - filled));
      filled += copied;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  private skip(n: number): void {
    this.take(n);
  }

  /** Consumes the next `n` buffered bytes (a view when they sit in one chunk, else one copy). */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first !== undefined && first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      this.buffered -= n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const copied = chunk.copy(out, filled, this.offset, Math.min(chunk.length, this.offset + n - filled));
      filled += copied;
      this.offset += copied;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}

/**
 * A FrameSource for chunks whose memory is reused once `push` returns (a socket read into one
 * reusable buffer with net's `onread` option, which skips a 64 KiB allocation and the stream
 * machinery per read). It keeps nothing of a chunk by reference: each frame's payload is
 * allocated once, at its declared size, when its header is complete, and the chunks' bytes are
 * copied straight into it — the one copy a frame spanning several reads costs in FrameReader too —
 * or, with `directTarget`, the socket reads the rest of a large frame straight into it (no copy).
 * Same checks and errors as FrameReader.
 */
export class CopyingFrameReader implements FrameSource {
  private readonly header = Buffer.allocUnsafe(Math.max(DATA_FRAME_HEADER_BYTES, DATA_HELLO_BYTES));
  private headerFill = 0;
  private helloPending: boolean;
  private payload: Buffer | undefined;
  private payloadFill = 0;
  private kind: FrameKind = FrameKind.ERROR;
  private correlationId = 0;
  private readonly ready: DataFrame[] = [];
  private readIndex = 0;
  private failed: SluiceError | undefined;
  private readonly maxFrameBytes: number;

  constructor(private readonly options: FrameReaderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DATA_FRAME_BYTES_MAX;
    this.helloPending = options.onHello !== undefined;
  }

  get bufferedBytes(): number {
    let bytes = this.headerFill + this.payloadFill;
    for (let i = this.readIndex; i < this.ready.length; i++) bytes += DATA_FRAME_HEADER_BYTES + this.ready[i]!.payload.length;
    return bytes;
  }

  push(chunk: Buffer): void {
    if (this.failed !== undefined) throw this.failed;
    try {
      let pos = 0;
      while (pos < chunk.length) {
        const payload = this.payload;
        if (payload !== undefined) {
          const n = Math.min(payload.length - this.payloadFill, chunk.length - pos);
          chunk.copy(payload, this.payloadFill, pos, pos + n);
          this.payloadFill += n;
          pos += n;
          if (this.payloadFill === payload.length) this.complete(payload);
          continue;
        }
        const want = this.helloPending ? DATA_HELLO_BYTES : DATA_FRAME_HEADER_BYTES;
        const n = Math.min(want - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + n);
        this.headerFill += n;
        pos += n;
        if (this.headerFill < want) continue;
        this.headerFill = 0;
        if (this.helloPending) {
          this.helloPending = false;
          this.options.onHello?.(Buffer.from(this.header.subarray(0, DATA_HELLO_BYTES)));
          continue;
        }
        const length = checkFrameHeader(this.header, this.maxFrameBytes);
        this.kind = this.header[4] as FrameKind;
        this.correlationId = this.header.readUInt32BE(5);
        const next = Buffer.allocUnsafe(length - 5);
        if (next.length === 0) this.complete(next);
        else this.payload = next;
      }
    } catch (error) {
      this.failed = error instanceof SluiceError ? error : new SluiceError("INVALID_REQUEST", String(error));
      throw this.failed;
    }
  }

  /**
   * Where the next socket read may land directly (net's `onread` buffer function): the unfilled
   * rest of the frame being received when at least `minBytes` of it remain, else undefined. A
   * read into it can neither overrun the frame nor touch the next one, and costs no copy at all.
   */
  directTarget(minBytes: number): Buffer | undefined {
    const payload = this.payload;
    if (payload === undefined || this.failed !== undefined) return undefined;
    return payload.length - this.payloadFill >= minBytes ? payload.subarray(this.payloadFill) : undefined;
  }

  /** Accounts for `bytes` a read put at the start of `directTarget()`'s buffer. */
  receivedDirect(bytes: number): void {
    const payload = this.payload;
    if (payload === undefined || bytes > payload.length - this.payloadFill) {
      throw new SluiceError("INVALID_REQUEST", `${bytes} bytes read into a frame that has no room for them`);
    }
    this.payloadFill += bytes;
    if (this.payloadFill === payload.length) this.complete(payload);
  }

  next(): DataFrame | undefined {
    if (this.readIndex < this.ready.length) {
      const frame = this.ready[this.readIndex++]!;
      if (this.readIndex === this.ready.length) {
        this.ready.length = 0;
        this.readIndex = 0;
      }
      return frame;
    }
    if (this.failed !== undefined) throw this.failed;
    return undefined;
  }

  private complete(payload: Buffer): void {
    this.ready.push({ kind: this.kind, correlationId: this.correlationId, payload });
    this.payload = undefined;
    this.payloadFill = 0;
  }
}
