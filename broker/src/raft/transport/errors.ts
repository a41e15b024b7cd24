/**
 * Typed errors of the inter-broker transport. A frame that fails its checks is the world's
 * fault (a corrupt stream, a foreign or buggy peer): it raises `FrameDecodeError`, the
 * connection is dropped and re-established, and the process stays up.
 */
import { SluiceError, type SluiceErrorOptions } from "@sluice/protocol";

/** A frame (or the byte stream carrying it) is malformed; `position` is the byte within the frame body, when known. */
export class FrameDecodeError extends SluiceError {
  readonly position: number | undefined;
  constructor(detail: string, position?: number, options?: SluiceErrorOptions) {
    super("CORRUPT_MESSAGE", position === undefined ? `raft frame: ${detail}` : `raft frame: ${detail} (at byte ${position})`, options);
    this.name = "FrameDecodeError";
    this.position = position;
  }
}

/** The peer's hello was wrong (unknown broker, wrong magic or version, dialled the wrong direction). */
export class HandshakeError extends SluiceError {
  constructor(detail: string) {
    super("NETWORK_EXCEPTION", `raft transport handshake: ${detail}`);
    this.name = "HandshakeError";
  }
}
