/**
 * Accepted sockets that read into buffers the caller supplies (net's `onread`), as the client's
 * data connections do. Without it every socket read allocates a fresh 64 KiB chunk; at hundreds
 * of MB/s those chunks are most of the broker's garbage and, as external memory, the trigger of
 * most of its full (mark-compact) collections.
 *
 * Node's `net.Server` has no `onread` option (only `net.connect` has), so the server accepts
 * paused (`pauseOnConnect`: no byte has been read) and the connection's handle moves to a new
 * Socket built with `onread`. The handle sits in the private `_handle` field, which `net` has
 * used since its start; when it is missing (a future Node), the accepted socket is used as it
 * is and reads arrive as 'data' chunks, so the listener still works, only with more garbage.
 *
 * Invariants: the bytes passed to `callback` are valid only during the call (the buffer is
 * shared by all connections, or is the caller's own target); the original accepted Socket is destroyed without its
 * handle, so the server stops counting it and the new Socket alone owns the connection.
 */
import { Socket, type SocketConstructorOpts } from "node:net";
import { DATA_READ_BUFFER_BYTES } from "../limits.js";

export interface UserReads {
  /** Where the next read lands (called before every read); undefined: the shared read buffer. */
  target(): Uint8Array | undefined;
  /** `bytes` were read into `buffer` (what `target()` returned last, or the shared buffer). */
  callback(bytes: number, buffer: Uint8Array): void;
}

/**
 * The read buffer all these sockets share. Safe because every read is handed to its callback,
 * which must consume it, before the event loop reads any socket again.
 */
const sharedReadBuffer = Buffer.allocUnsafeSlow(DATA_READ_BUFFER_BYTES);

export interface AcceptedSocket {
  readonly socket: Socket;
  /** True when reads go through `reads`; false: the caller must listen to 'data' instead. */
  readonly userReads: boolean;
}

interface WithHandle {
  _handle: unknown;
}

/** Moves a connection accepted with `pauseOnConnect` to a Socket that reads through `reads`. */
export function acceptWithUserReads(accepted: Socket, reads: UserReads, options: { readonly allowHalfOpen: boolean; readonly keepAliveInitialDelayMs: number }): AcceptedSocket {
  const internal = accepted as unknown as WithHandle;
  const handle = internal._handle;
  if (handle === null || typeof handle !== "object" || accepted.destroyed) {
    accepted.resume();
    return { socket: accepted, userReads: false };
  }
  internal._handle = null;
  accepted.destroy(); // without a handle: closes nothing, only leaves the server's count
  const socketOptions = {
    handle,
    allowHalfOpen: options.allowHalfOpen,
    readable: true,
    writable: true,
    onread: {
      buffer: () => reads.target() ?? sharedReadBuffer,
      callback: (bytes: number, buffer: Uint8Array) => {
        reads.callback(bytes, buffer);
        return true;
      },
    },
  };
  const socket = new Socket(socketOptions as SocketConstructorOpts);
  socket.setKeepAlive(true, options.keepAliveInitialDelayMs);
  return { socket, userReads: true };
}
