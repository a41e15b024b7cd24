/**
 * A hand-written protobuf encoder for sluice.v1.FetchResponse, used as the Fetch method's
 * response serializer instead of protobufjs.
 *
 * Why: grpc-js copies whatever the serializer returns into a new framed buffer at once
 * (`serializeMessage`: allocUnsafe(len + 5), copy). protobufjs would first allocate a buffer as
 * big as the records it carries, so every fetch allocated its records three times (storage read,
 * protobuf, gRPC frame). Each large allocation is external memory that drives V8's mark-compact
 * collections. This encoder writes into one reused scratch buffer instead: two allocations per
 * fetch, the same bytes on the wire.
 *
 * Wire layout (proto3, data.proto; default values are omitted as proto3 allows):
 *   FetchResponse          1: repeated TopicFetchResult (len)   2: throttle_ms int32
 *   TopicFetchResult       1: topic string                      2: repeated PartitionFetchResult (len)
 *   PartitionFetchResult   1: partition int32  2: error ErrorInfo (len)  3: high_watermark int64
 *                          4: log_start_offset int64  5: records bytes
 *   ErrorInfo              1: code int32  2: name string  3: message string  4: retriable bool
 * Negative int32/int64 values are 10-byte two's-complement varints, as protobuf specifies.
 *
 * Invariant: the returned buffer is only valid until the next call (grpc-js copies it
 * synchronously); it is checked against protobufjs's decoder in fetch-response-encoder.test.ts.
 *
 * Records may be views of pooled storage read buffers (partition/read-buffer-pool.ts): the
 * handler registers a release with `afterEncode`, and the encoder calls it once the records are
 * copied into its output — the earliest moment the pooled bytes are no longer needed. A response
 * that is never encoded (the client left) never releases; its buffers are garbage collected.
 *
 * The data listener (data-listener.ts) needs no gRPC frame, so it does not copy the records at
 * all: `encodeFetchResponsePieces` gives the same bytes as a list of buffers — small freshly
 * allocated pieces with tags, lengths and metadata, and the records as views — for one vectored
 * socket write. There the release moves to the caller (`takeAfterEncode`), who runs it when the
 * socket has written the last piece. `encodeErrorInfo` encodes an ErrorInfo on its own (the
 * payload of a data-listener ERROR frame). Both are checked against protobufjs in the test.
 */
import { assert, type api } from "@sluice/protocol";

/** Largest scratch buffer kept between calls; bigger responses get a one-off buffer. */
export const FETCH_SCRATCH_BYTES_MAX = 16 * 1024 * 1024;

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

let scratch: Buffer = Buffer.allocUnsafe(64 * 1024);

/** Releases registered by `afterEncode`, keyed by the response object the serializer receives. */
const releases = new WeakMap<object, () => void>();

/** Calls `release` right after `response` has been encoded (at most once). */
export function afterEncode(response: api.FetchResponseInput, release: () => void): void {
  releases.set(response, release);
}

function varintSize(value: number): number {
  if (value < 0) return 10;
  let size = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, value: number): number {
  let pos = at;
  if (value < 0) {
    // Two's complement over 64 bits: low 32 bits, then high 32 bits, as 10 varint bytes.
    const big = BigInt.asUintN(64, BigInt(value));
    let v = big;
    for (let i = 0; i < 9; i++) {
      buf[pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[pos++] = Number(v);
    return pos;
  }
  let v = value;
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

const tag = (field: number, wire: number): number => field * 8 + wire;

function numberField(field: number, value: number | undefined | null): number {
  return value === undefined || value === null || value === 0 ? 0 : 1 + varintSize(value);
}

function bytesFieldSize(field: number, length: number): number {
  return length === 0 ? 0 : 1 + varintSize(length) + length;
}

function messageFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

interface Sized {
  readonly size: number;
}

interface ErrorPlan extends Sized {
  readonly info: api.ErrorInfoInput;
  readonly name: Buffer;
  readonly message: Buffer;
}

interface PartitionPlan extends Sized {
  readonly p: api.PartitionFetchResultInput;
  readonly error: ErrorPlan | undefined;
  readonly records: Uint8Array;
}

interface TopicPlan extends Sized {
  readonly topic: Buffer;
  readonly partitions: PartitionPlan[];
}

/** Input int64 fields may be numbers, decimal strings or protobufjs Longs. */
function toNumber(value: number | string | { toNumber(): number } | undefined | null): number {
  if (value === undefined || value === null) return 0;
  return typeof value === "object" ? value.toNumber() : Number(value);
}

function planError(info: api.ErrorInfoInput | null | undefined): ErrorPlan | undefined {
  if (info === null || info === undefined) return undefined;
  const name = Buffer.from(info.name ?? "", "utf8");
  const message = Buffer.from(info.message ?? "", "utf8");
  const size = numberField(1, toNumber(info.code)) + bytesFieldSize(2, name.length) + bytesFieldSize(3, message.length) + (info.retriable === true ? 2 : 0);
  return { info, name, message, size };
}

function planPartition(p: api.PartitionFetchResultInput): PartitionPlan {
  const error = planError(p.error);
  const records: Uint8Array = (p.records as Uint8Array | undefined) ?? Buffer.alloc(0);
  const size =
    numberField(1, toNumber(p.partition)) +
    (error === undefined ? 0 : messageFieldSize(error.size)) +
    numberField(3, toNumber(p.highWatermark)) +
    numberField(4, toNumber(p.logStartOffset)) +
    bytesFieldSize(5, records.length);
  return { p, error, records, size };
}

function writeBytes(buf: Buffer, at: number, field: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return at;
  let pos = writeVarint(buf, at, tag(field, WIRE_LEN));
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function writeNumber(buf: Buffer, at: number, field: number, value: number): number {
  if (value === 0) return at;
  return writeVarint(buf, writeVarint(buf, at, tag(field, WIRE_VARINT)), value);
}

interface ResponsePlan {
  readonly topics: TopicPlan[];
  readonly throttleMs: number;
  /** Encoded size of the whole message, records included. */
  readonly size: number;
}

function planResponse(response: api.FetchResponseInput): ResponsePlan {
  const topics: TopicPlan[] = (response.topics ?? []).map((t) => {
    const topic = Buffer.from(t.topic ?? "", "utf8");
    const partitions = (t.partitions ?? []).map(planPartition);
    const size = bytesFieldSize(1, topic.length) + partitions.reduce((n, p) => n + messageFieldSize(p.size), 0);
    return { topic, partitions, size };
  });
  const throttleMs = toNumber(response.throttleMs);
  const size = topics.reduce((n, t) => n + messageFieldSize(t.size), 0) + numberField(2, throttleMs);
  return { topics, throttleMs, size };
}

/** The fields of an ErrorInfo (without its own tag and length). */
function writeErrorBody(out: Buffer, at: number, e: ErrorPlan): number {
  let pos = writeNumber(out, at, 1, toNumber(e.info.code));
  pos = writeBytes(out, pos, 2, e.name);
  pos = writeBytes(out, pos, 3, e.message);
  if (e.info.retriable === true) pos = writeNumber(out, pos, 4, 1);
  return pos;
}

/**
 * Writes the message at `at`. A non-empty records field's tag and length go into `out`, then
 * `putRecords(records, pos)` places the bytes and returns the position after them in `out`
 * (after them when it copied them, `pos` when it kept them out of `out`).
 */
function writeResponse(out: Buffer, at: number, plan: ResponsePlan, putRecords: (records: Uint8Array, pos: number) => number): number {
  let pos = at;
  for (const t of plan.topics) {
    pos = writeVarint(out, pos, tag(1, WIRE_LEN));
    pos = writeVarint(out, pos, t.size);
    pos = writeBytes(out, pos, 1, t.topic);
    for (const p of t.partitions) {
      pos = writeVarint(out, pos, tag(2, WIRE_LEN));
      pos = writeVarint(out, pos, p.size);
      pos = writeNumber(out, pos, 1, toNumber(p.p.partition));
      if (p.error !== undefined) {
        pos = writeVarint(out, pos, tag(2, WIRE_LEN));
        pos = writeVarint(out, pos, p.error.size);
        pos = writeErrorBody(out, pos, p.error);
      }
      pos = writeNumber(out, pos, 3, toNumber(p.p.highWatermark));
      pos = writeNumber(out, pos, 4, toNumber(p.p.logStartOffset));
      if (p.records.length > 0) {
        pos = writeVarint(out, pos, tag(5, WIRE_LEN));
        pos = writeVarint(out, pos, p.records.length);
        pos = putRecords(p.records, pos);
      }
    }
  }
  return writeNumber(out, pos, 2, plan.throttleMs);
}

/** Takes the release `afterEncode` registered for `response` (the caller now owns calling it). */
export function takeAfterEncode(response: api.FetchResponseInput): (() => void) | undefined {
  const release = releases.get(response);
  releases.delete(response);
  return release;
}

/** Encodes a FetchResponse; the result is valid until the next call. */
export function encodeFetchResponse(response: api.FetchResponseInput): Buffer {
  const plan = planResponse(response);
  const total = plan.size;
  if (total > scratch.length && total <= FETCH_SCRATCH_BYTES_MAX) {
    scratch = Buffer.allocUnsafe(Math.min(FETCH_SCRATCH_BYTES_MAX, Math.max(total, scratch.length * 2)));
  }
  const out = total <= scratch.length ? scratch : Buffer.allocUnsafe(total);
  const pos = writeResponse(out, 0, plan, (records, at) => {
    out.set(records, at);
    return at + records.length;
  });
  assert(pos === total, `FetchResponse encoder wrote ${pos} bytes, planned ${total}`);
  takeAfterEncode(response)?.();
  return out === scratch ? scratch.subarray(0, total) : out;
}

/**
 * Records of at most this many bytes are copied into the encoded pieces rather than written as
 * their own piece: below it a copy costs less than one more buffer in the socket's writev.
 */
export const FETCH_RECORDS_INLINE_BYTES_MAX = 4 * 1024;

export interface FetchResponsePieces {
  /**
   * The message as consecutive pieces: freshly allocated buffers with everything but the large
   * records, and views of the records themselves (never copied). The first piece starts with
   * `reserveBytes` unwritten bytes for the caller (a frame header).
   */
  readonly pieces: Buffer[];
  /** Bytes of the encoded message (the sum of the pieces' lengths minus `reserveBytes`). */
  readonly messageBytes: number;
}

/**
 * Encodes a FetchResponse as pieces for a vectored socket write (the data listener), so records
 * are sent from the buffers they were read into. The pieces own nothing: the records' views must
 * stay valid until the socket has written them, so this does NOT run the `afterEncode` release;
 * the caller takes it (`takeAfterEncode`) and runs it once the write completed.
 */
export function encodeFetchResponsePieces(response: api.FetchResponseInput, reserveBytes = 0): FetchResponsePieces {
  const plan = planResponse(response);
  let outOfLine = 0;
  for (const t of plan.topics) {
    for (const p of t.partitions) if (p.records.length > FETCH_RECORDS_INLINE_BYTES_MAX) outOfLine += p.records.length;
  }
  const out = Buffer.allocUnsafe(reserveBytes + plan.size - outOfLine);
  const pieces: Buffer[] = [];
  let pieceStart = 0;
  const end = writeResponse(out, reserveBytes, plan, (records, at) => {
    if (records.length <= FETCH_RECORDS_INLINE_BYTES_MAX) {
      out.set(records, at);
      return at + records.length;
    }
    pieces.push(out.subarray(pieceStart, at), Buffer.from(records.buffer, records.byteOffset, records.byteLength));
    pieceStart = at;
    return at;
  });
  assert(end === out.length, `FetchResponse piece encoder wrote ${end} bytes, planned ${out.length}`);
  if (end > pieceStart || pieces.length === 0) pieces.push(out.subarray(pieceStart, end));
  return { pieces, messageBytes: plan.size };
}

/** Encodes one ErrorInfo message (the payload of a data-listener ERROR frame), after `reserveBytes`. */
export function encodeErrorInfo(info: api.ErrorInfoInput, reserveBytes = 0): Buffer {
  const plan = planError(info);
  assert(plan !== undefined, "planError of a present ErrorInfo");
  const out = Buffer.allocUnsafe(reserveBytes + plan.size);
  const end = writeErrorBody(out, reserveBytes, plan);
  assert(end === out.length, `ErrorInfo encoder wrote ${end} bytes, planned ${out.length}`);
  return out;
}
