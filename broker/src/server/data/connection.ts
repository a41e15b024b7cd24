/**
 * One client connection to the data listener: HELLO, then PRODUCE and FETCH frames answered by
 * correlation id as each completes (see protocol/src/data-frame.ts for the protocol).
 *
 * Requests run through the same handlers as gRPC: `produceRequest` with ONE StreamOrder for the
 * connection (a connection is an ordered stream, as an ordered ProduceStream: per partition,
 * appends start in arrival order, each after the previous outcome, and a partition that failed
 * once fails in every later request of the connection), and `handleFetch` with a signal that
 * aborts when the connection closes. acks=0 produces are answered too, as on a ProduceStream
 * (the answer lists the partitions with offsets -1 and no errors); a client may ignore it.
 *
 * Errors:
 * - a request whose payload does not decode, or that its handler refuses as a whole
 *   (RequestError, any SluiceError) → ERROR frame with its correlation id; the connection goes on;
 * - an unexpected handler failure → logged (an AssertionError also goes to `onBug`), ERROR frame
 *   UNKNOWN_SERVER_ERROR for that request;
 * - a frame-level violation (bad HELLO, unsupported version, unknown kind, oversized frame, a
 *   response or ERROR kind sent by the client, correlation id 0 on a request) → ERROR frame with
 *   correlation id 0, then the broker ends the connection.
 *
 * Flow control: at most DATA_CONNECTION_INFLIGHT_MAX requests are in flight (from receipt until
 * the answer is written); above that the socket is paused and frames stay unread in the kernel,
 * so TCP pushes back on the client instead of the broker buffering without bound.
 *
 * Fetch answers are written without copying the records (`fetchResponseFrame`: the records are
 * views of the storage read buffers); the pooled read buffers go back to their pool in the write
 * callback of the answer's last piece, when the socket no longer needs the bytes.
 *
 * Drain: once the broker drains, no new request starts (those received get a retriable ERROR
 * NETWORK_EXCEPTION), in-flight ones are answered, then the broker ends its side. Ending never
 * destroys at once: the broker keeps reading (and discarding) until the client closes, at most
 * DATA_CONNECTION_LINGER_MS after its last byte was written, because closing a socket with unread
 * input makes the kernel send a reset that can destroy answers the client has not read yet.
 *
 * Metrics: every request counts in sluice_rpc_requests_total / sluice_rpc_duration_seconds as
 * `DataProduce` / `DataFetch` with the gRPC status name the same failure gets on the gRPC path.
 */
import type { Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  AssertionError,
  DATA_PROTOCOL_VERSION,
  decodeHello,
  encodeHello,
  CopyingFrameReader,
  FrameKind,
  SluiceError,
  type DataFrame,
} from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { takeAfterEncode } from "../fetch-response-encoder.js";
import { handleFetch } from "../handlers/fetch.js";
import { produceRequest, StreamOrder } from "../handlers/produce.js";
import { DATA_CONNECTION_INFLIGHT_MAX, DATA_CONNECTION_LINGER_MS, DATA_DIRECT_READ_MIN_BYTES } from "../limits.js";
import { statusOf } from "../registry.js";
import { decodeFetchRequest, decodeProduceRequest, errorFrame, fetchResponseFrame, produceResponseFrame } from "./frames.js";

export interface DataConnectionHooks {
  /** Called with an AssertionError raised while handling a request (our bug). */
  readonly onBug: (error: AssertionError) => void;
}

/** An answer ready to write, and what to run once the socket no longer needs its bytes. */
interface Answer {
  readonly pieces: readonly Buffer[];
  readonly release?: () => void;
}

const METHOD_OF: Readonly<Partial<Record<FrameKind, string>>> = {
  [FrameKind.PRODUCE]: "DataProduce",
  [FrameKind.FETCH]: "DataFetch",
};

export class DataConnection {
  private readonly reader: CopyingFrameReader;
  /** The payload a read was last pointed at (see readTarget), or undefined: the shared buffer. */
  private direct: Buffer | undefined;
  private readonly order = new StreamOrder();
  /** Aborted when the socket closes: long-polling fetches stop waiting for a client that left. */
  private readonly gone = new AbortController();
  private readonly remote: string;
  private inflight = 0;
  private paused = false;
  private draining = false;
  /** The client ended its side: answer what is in flight, then end ours. */
  private inputEnded = false;
  /** The broker ended (or is ending) its side: no request starts, input is discarded. */
  private ending = false;
  private linger: NodeJS.Timeout | undefined;
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: BrokerContext,
    private readonly hooks: DataConnectionHooks,
    /** False: the socket emits 'data' chunks (it could not take user reads, see user-reads.ts). */
    userReads: boolean,
  ) {
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    this.reader = new CopyingFrameReader({ onHello: (hello) => this.onHello(hello) });
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.ending = true;
        this.gone.abort();
        if (this.linger !== undefined) clearTimeout(this.linger);
        resolve();
      });
    });
    if (!userReads) socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      this.inputEnded = true;
      this.maybeEnd();
    });
    socket.on("finish", () => {
      // Our last byte is written: wait a bounded time for the client to close its side.
      this.linger = setTimeout(() => socket.destroy(), DATA_CONNECTION_LINGER_MS);
      this.linger.unref();
    });
    socket.on("error", (error) => {
      // A reset or broken pipe: the client is gone; "close" follows.
      ctx.logger.debug({ remote: this.remote, err: error.message }, "data connection error");
    });
  }

  /** Graceful shutdown: refuse new requests, answer in-flight ones, then end. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.pump();
    this.maybeEnd();
  }

  /** Forced shutdown: close now; in-flight answers are dropped. */
  destroy(): void {
    this.socket.destroy();
  }

  private onHello(hello: Buffer): void {
    const version = decodeHello(hello);
    if (version !== DATA_PROTOCOL_VERSION) {
      throw new SluiceError("UNSUPPORTED_VERSION", `the client speaks data protocol version ${version}; this broker speaks ${DATA_PROTOCOL_VERSION}`);
    }
    this.write([encodeHello(DATA_PROTOCOL_VERSION)]);
  }

  /**
   * Where the socket's next read lands: the rest of the large frame being received (no copy at
   * all), else undefined — the shared read buffer (user-reads.ts), whose bytes `onRead` copies
   * into frames before it returns.
   */
  readTarget(): Buffer | undefined {
    this.direct = this.ending ? undefined : this.reader.directTarget(DATA_DIRECT_READ_MIN_BYTES);
    return this.direct;
  }

  /** `bytes` were read into `buffer`: `readTarget()`'s answer, or the shared read buffer. */
  onRead(bytes: number, buffer: Uint8Array): void {
    if (this.ending) return; // discarded while waiting for the client to close
    if (buffer === this.direct) {
      this.direct = undefined;
      try {
        this.reader.receivedDirect(bytes);
      } catch (error) {
        this.fail(error);
        return;
      }
      this.pump();
    } else {
      this.onData(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
    }
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return; // discarded while waiting for the client to close
    try {
      this.reader.push(chunk);
    } catch {
      // the reader keeps its failure; pump() below reports it
    }
    this.pump();
  }

  /** Takes complete frames from the reader while the in-flight bound allows. */
  private pump(): void {
    while (!this.ending && this.inflight < DATA_CONNECTION_INFLIGHT_MAX) {
      let frame: DataFrame | undefined;
      try {
        frame = this.reader.next();
      } catch (error) {
        this.fail(error);
        return;
      }
      if (frame === undefined) break;
      this.dispatch(frame);
    }
    if (!this.ending && !this.paused && this.inflight >= DATA_CONNECTION_INFLIGHT_MAX) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private dispatch(frame: DataFrame): void {
    const method = METHOD_OF[frame.kind];
    if (method === undefined) {
      this.fail(new SluiceError("INVALID_REQUEST", `frame kind 0x${frame.kind.toString(16)} is sent by brokers, not clients`));
      return;
    }
    if (frame.correlationId === 0) {
      this.fail(new SluiceError("INVALID_REQUEST", "correlation id 0 is reserved for connection-level errors"));
      return;
    }
    const started = process.hrtime.bigint();
    if (this.draining) {
      const refusal = new SluiceError("NETWORK_EXCEPTION", "the broker is shutting down; resend on a new connection");
      this.count(method, grpc.status.UNAVAILABLE, started);
      this.write([errorFrame(frame.correlationId, refusal)]);
      return;
    }
    this.inflight++;
    const answer = frame.kind === FrameKind.PRODUCE ? this.produce(frame) : this.fetch(frame);
    answer.then(
      (ready) => {
        this.count(method, grpc.status.OK, started);
        this.write(ready.pieces, () => {
          ready.release?.();
          this.settle();
        });
      },
      (error: unknown) => {
        this.count(method, statusOf(error).code, started);
        this.reportUnexpected(method, error);
        this.write([errorFrame(frame.correlationId, error)], () => this.settle());
      },
    );
  }

  private async produce(frame: DataFrame): Promise<Answer> {
    const request = decodeProduceRequest(frame.payload);
    const response = await produceRequest(this.ctx, request, this.order);
    return { pieces: produceResponseFrame(frame.correlationId, response) };
  }

  private async fetch(frame: DataFrame): Promise<Answer> {
    const request = decodeFetchRequest(frame.payload);
    const response = await handleFetch(this.ctx, request, this.gone.signal);
    const release = takeAfterEncode(response);
    try {
      return { pieces: fetchResponseFrame(frame.correlationId, response), release };
    } catch (error) {
      release?.();
      throw error;
    }
  }

  /** One request's answer is written (or dropped): admit more, or finish a drain. */
  private settle(): void {
    this.inflight--;
    if (this.paused && this.inflight < DATA_CONNECTION_INFLIGHT_MAX) {
      this.paused = false;
      if (!this.ending) this.socket.resume();
    }
    this.pump();
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.inflight === 0 && (this.draining || this.inputEnded)) this.end();
  }

  /** A frame-level violation: ERROR with correlation id 0, then end the connection. */
  private fail(error: unknown): void {
    if (this.ending) return;
    const refused = error instanceof SluiceError ? error : new SluiceError("INVALID_REQUEST", String(error));
    this.ctx.metrics.dataConnectionErrors.inc({ error: refused.errorName });
    this.ctx.logger.debug({ remote: this.remote, error: refused.errorName, err: refused.message }, "data connection refused");
    this.write([errorFrame(0, refused)]);
    this.end();
  }

  /** Ends the broker's side after what is written; input from now on is read and discarded. */
  private end(): void {
    if (this.ending) return;
    this.ending = true;
    this.paused = false;
    this.socket.resume();
    this.socket.end();
  }

  /**
   * Writes one frame's pieces in order, in one vectored write; `written` runs when the socket no
   * longer needs their bytes (after the last piece's write, or at once when the socket is closed).
   */
  private write(pieces: readonly Buffer[], written?: () => void): void {
    const socket = this.socket;
    if (!socket.writable) {
      written?.();
      return;
    }
    socket.cork();
    const last = pieces.length - 1;
    for (const [i, piece] of pieces.entries()) {
      if (i === last && written !== undefined) socket.write(piece, () => written());
      else socket.write(piece);
    }
    socket.uncork();
  }

  private count(method: string, code: grpc.status, started: bigint): void {
    this.ctx.metrics.rpcRequests.inc({ method, code: grpc.status[code] });
    this.ctx.metrics.rpcDuration.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  private reportUnexpected(method: string, error: unknown): void {
    if (error instanceof SluiceError) return;
    this.ctx.logger.error({ method, remote: this.remote, err: error }, "handler failed");
    if (error instanceof AssertionError) this.hooks.onBug(error);
  }
}
