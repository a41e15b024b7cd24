/**
 * Payload codecs of the data listener on the client side (framing: protocol's data-frame.ts).
 *
 * Requests and answers are the gRPC API's protobuf messages, so they go through the same
 * proto-loader serializers as gRPC (`loadProtos()`), except ProduceRequest, which the producer
 * encodes itself (produce-request.ts). ERROR frames carry a bare `sluice.v1.ErrorInfo`, a
 * message no RPC sends on its own and so without a serializer in `loadProtos()`; protobufjs is
 * not a dependency of the SDK, and the message is four scalar fields, so it is decoded here:
 *
 *   ErrorInfo: 0x08 code (int32 varint; negative = 10 bytes) | 0x12 name (utf-8)
 *              0x1a message (utf-8)                          | 0x20 retriable (bool varint)
 *
 * Invariants: the decoder never reads past the payload, skips fields it does not know (proto3
 * rules), and reports malformed bytes as a typed SluiceError (INVALID_REQUEST), never a crash.
 * Checked against protobufjs in data-connection-codec.test.ts.
 */
import { fromErrorInfo, SluiceError, type api } from "@sluice/protocol";

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

function malformed(detail: string): SluiceError {
  return new SluiceError("INVALID_REQUEST", `malformed ErrorInfo in an ERROR frame: ${detail}`);
}

/** Reads a varint; returns its low 32 bits (as int32) and its value (exact up to 2^53). */
function readVarint(bytes: Buffer, at: number): { low32: number; value: number; next: number } {
  let low32 = 0;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[at + i];
    if (byte === undefined) throw malformed("truncated varint");
    const bits = byte & 0x7f;
    if (i < 5) low32 |= bits << (7 * i);
    value += bits * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { low32: low32 | 0, value, next: at + i + 1 };
  }
  throw malformed("varint longer than 10 bytes");
}

function skip(bytes: Buffer, at: number, wireType: number): number {
  switch (wireType) {
    case WIRE_VARINT:
      return readVarint(bytes, at).next;
    case WIRE_I64:
      return at + 8;
    case WIRE_LEN: {
      const { value, next } = readVarint(bytes, at);
      return next + value;
    }
    case WIRE_I32:
      return at + 4;
    default:
      throw malformed(`unsupported wire type ${wireType}`);
  }
}

/** Decodes an ERROR frame's payload. Missing fields take proto3 defaults. */
export function decodeErrorInfo(payload: Buffer): api.ErrorInfo {
  const info = { code: 0, name: "", message: "", retriable: false };
  let at = 0;
  while (at < payload.length) {
    const key = readVarint(payload, at);
    at = key.next;
    const field = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    if (field === 1 && wireType === WIRE_VARINT) {
      const code = readVarint(payload, at);
      info.code = code.low32;
      at = code.next;
    } else if ((field === 2 || field === 3) && wireType === WIRE_LEN) {
      const length = readVarint(payload, at);
      const end = length.next + length.value;
      if (end > payload.length) throw malformed("string runs past the payload");
      const text = payload.toString("utf8", length.next, end);
      if (field === 2) info.name = text;
      else info.message = text;
      at = end;
    } else if (field === 4 && wireType === WIRE_VARINT) {
      const flag = readVarint(payload, at);
      info.retriable = flag.value !== 0;
      at = flag.next;
    } else {
      at = skip(payload, at, wireType);
    }
    if (at > payload.length) throw malformed("field runs past the payload");
  }
  return info;
}

/**
 * The typed error an ERROR frame stands for. A code of 0 (which means "no error" in a response
 * field) makes no sense in an ERROR frame; it is reported as UNKNOWN_SERVER_ERROR.
 */
export function errorOfFrame(payload: Buffer): SluiceError {
  const info = decodeErrorInfo(payload);
  return fromErrorInfo(info) ?? new SluiceError("UNKNOWN_SERVER_ERROR", `ERROR frame without an error code: ${info.message}`);
}
