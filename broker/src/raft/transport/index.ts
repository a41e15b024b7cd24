/**
 * The inter-broker Raft transport (see ../driver/README.md for the framing and limits).
 *
 * | module            | what it holds                                                           |
 * | ----------------- | ----------------------------------------------------------------------- |
 * | transport.ts      | the Transport interface the driver talks to, per-peer stats              |
 * | tcp-transport.ts  | raw TCP, one connection per broker pair, hello handshake, backoff        |
 * | codec.ts          | frame, envelope, message, entry and snapshot encodings (the wire layout) |
 * | frame-reader.ts   | splits a byte stream into CRC-checked frames                             |
 * | wire.ts           | chunk writer (zero-copy payloads) and bounds-checked reader              |
 * | limits.ts         | every transport bound with its reason                                    |
 * | errors.ts         | FrameDecodeError, HandshakeError                                         |
 */
export type { Transport, EnvelopeHandler, PeerStats } from "./transport.js";
export { TcpTransport } from "./tcp-transport.js";
export type { TcpTransportOptions, PeerAddress } from "./tcp-transport.js";
export {
  encodeEnvelopeFrames,
  encodeHelloFrame,
  decodeFrameBody,
  encodeEntry,
  decodeEntry,
  encodeSnapshot,
  decodeSnapshot,
  encodeConfiguration,
  decodeConfiguration,
  FRAME_HEADER_BYTES,
  WIRE_VERSION,
} from "./codec.js";
export type { Frame, HelloFrame, EnvelopeFrame } from "./codec.js";
export { FrameReader } from "./frame-reader.js";
export { ChunkWriter, WireReader } from "./wire.js";
export { transportLimits } from "./limits.js";
export type { TransportLimits } from "./limits.js";
export { FrameDecodeError, HandshakeError } from "./errors.js";
