/**
 * Payload codecs of the data listener (protocol/src/data-frame.ts is the framing spec): requests
 * decode with the same protobufjs deserializers as the gRPC methods; answers encode into the
 * buffers one frame is written from, header first.
 *
 * | frame            | pieces                                                                |
 * | ---------------- | --------------------------------------------------------------------- |
 * | PRODUCE_RESPONSE | header (9 bytes) · ProduceResponse (protobufjs, as gRPC sends it)     |
 * | FETCH_RESPONSE   | header + tags/metadata · records view · tags/metadata · ... (no copy) |
 * | ERROR            | header + ErrorInfo (one buffer)                                       |
 *
 * Invariants: every frame's length field equals 1 + 4 + the bytes of its pieces after the
 * header; a FETCH_RESPONSE's record pieces are views of the fetched (possibly pooled) buffers,
 * so the caller must not release those before the socket wrote them.
 */
import { DATA_FRAME_HEADER_BYTES, encodeFrameHeader, FrameKind, loadProtos, toErrorInfo, writeFrameHeader, type api } from "@sluice/protocol";
import { encodeErrorInfo, encodeFetchResponsePieces } from "../fetch-response-encoder.js";
import { RequestError } from "../request-checks.js";

const sluice = loadProtos().sluice.Sluice.service;

function decodeWith<T>(what: string, deserialize: (bytes: Buffer) => T, payload: Buffer): T {
  try {
    return deserialize(payload);
  } catch (error) {
    throw new RequestError(`payload is not a ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A PRODUCE payload; RequestError when it is not a ProduceRequest. */
export function decodeProduceRequest(payload: Buffer): api.ProduceRequest {
  return decodeWith("sluice.v1.ProduceRequest", sluice.Produce.requestDeserialize, payload);
}

/** A FETCH payload; RequestError when it is not a FetchRequest. */
export function decodeFetchRequest(payload: Buffer): api.FetchRequest {
  return decodeWith("sluice.v1.FetchRequest", sluice.Fetch.requestDeserialize, payload);
}

export function produceResponseFrame(correlationId: number, response: api.ProduceResponseInput): Buffer[] {
  const body = sluice.Produce.responseSerialize(response);
  return [encodeFrameHeader(FrameKind.PRODUCE_RESPONSE, correlationId, body.length), body];
}

/** The FETCH_RESPONSE frame as pieces for one vectored write; records are views, not copies. */
export function fetchResponseFrame(correlationId: number, response: api.FetchResponseInput): Buffer[] {
  const { pieces, messageBytes } = encodeFetchResponsePieces(response, DATA_FRAME_HEADER_BYTES);
  writeFrameHeader(pieces[0]!, 0, FrameKind.FETCH_RESPONSE, correlationId, messageBytes);
  return pieces;
}

/** An ERROR frame: `error` as ErrorInfo (UNKNOWN_SERVER_ERROR when it is not a SluiceError). */
export function errorFrame(correlationId: number, error: unknown): Buffer {
  const frame = encodeErrorInfo(toErrorInfo(error), DATA_FRAME_HEADER_BYTES);
  writeFrameHeader(frame, 0, FrameKind.ERROR, correlationId, frame.length - DATA_FRAME_HEADER_BYTES);
  return frame;
}
