/**
 * One TCP connection to one broker's data listener: Produce and Fetch as length-prefixed frames
 * (protocol/src/data-frame.ts is the spec) instead of gRPC calls, for the CPU grpc-js costs.
 *
 * Lifecycle: the socket is opened on the first request (Nagle off), HELLO is written at once and
 * requests are pipelined right behind it; the broker's HELLO must come back with our version.
 * Answers are matched to requests by correlation id (u32 per socket, wrapping, never 0, never one
 * still in flight), in whatever order they arrive.
 *
 * Failure model (the same as StreamProduceTransport's): a socket error or close, a protocol
 * violation by the broker, or a request outliving its timeout fails *every* request in flight on
 * that socket with a retriable ConnectionError (the timed-out one with a TimeoutError) and drops
 * the socket; the next request opens a new one, so no late answer is ever matched to a newer
 * request. An ERROR frame with a request's correlation id fails that request only, with the
 * broker's typed error; with correlation id 0 it fails every request in flight with that error.
 * A handshake that fails (refused, no HELLO within DATA_CONNECT_TIMEOUT_MS, another version or
 * not a Sluice listener at all) fails the requests with a retriable ConnectionError whose cause
 * says why, and is recorded in `connectFailedAtMs` so the cluster client can use gRPC until a
 * `probe()` (a handshake carrying no requests) succeeds (cluster.ts). `close()` fails what is in
 * flight with ClientClosedError.
 *
 * Copies: a PRODUCE frame is written as its header and ProduceRequest prefix pieces plus the
 * producer's batch buffers as they are (one corked vectored write); `onEncoded` runs from the
 * write callback of the last piece, when the socket no longer holds the batches. FETCH_RESPONSE
 * payloads are copied once, from the socket's reusable read buffer into a buffer of the frame's
 * size, and protobufjs decodes `records` as views of that payload (no further copy).
 *
 * Writes are not paced by the socket's buffer: what may be in flight is bounded by the callers
 * (the producer's buffer memory and in-flight limits, the consumer's fetch slots).
 */
import { connect, type Socket } from "node:net";
import {
  DATA_FRAME_BYTES_MAX,
  DATA_FRAME_HEADER_BYTES,
  DATA_MAGIC,
  DATA_PROTOCOL_VERSION,
  decodeHello,
  encodeFrameHeader,
  encodeHello,
  FrameKind,
  CopyingFrameReader,
  loadProtos,
  SluiceError,
  writeFrameHeader,
  type api,
  type DataFrame,
} from "@sluice/protocol";
import { errorOfFrame } from "./data-connection-codec.js";
import { ClientClosedError, ConnectionError, TimeoutError } from "./errors.js";
import { DATA_CONNECT_TIMEOUT_MS, DATA_DIRECT_READ_MIN_BYTES, DATA_READ_BUFFER_BYTES } from "./limits.js";
import { formatAddress } from "./metadata.js";
import { encodeProducePieces, type ProduceFrame } from "./produce-request.js";
import { systemClock, systemScheduler, type Clock, type Scheduler, type TimerHandle } from "./runtime.js";

export interface DataConnectionOptions {
  readonly host: string;
  /** The broker's advertised data port. */
  readonly port: number;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** TCP connect plus the broker's HELLO; default DATA_CONNECT_TIMEOUT_MS. */
  readonly connectTimeoutMs?: number;
  /** Largest frame sent or accepted (bytes after the length field); default DATA_FRAME_BYTES_MAX. */
  readonly maxFrameBytes?: number;
}

type AnswerKind = typeof FrameKind.PRODUCE_RESPONSE | typeof FrameKind.FETCH_RESPONSE;

interface Pending {
  readonly kind: AnswerKind;
  readonly rpc: "Produce" | "Fetch";
  /** Decodes the payload and resolves the request; throws (without resolving) when it does not decode. */
  readonly answer: (payload: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

/** One socket and what is in flight on it. Once failed, it is never used again. */
class Link {
  readonly pending = new Map<number, Pending>();
  /** Created once the first 4 bytes tell whether the broker starts with a HELLO or an ERROR. */
  reader: CopyingFrameReader | undefined;
  /** Bytes received before `reader` exists. */
  head: Buffer[] = [];
  helloReceived = false;
  failed = false;
  connectTimer: TimerHandle | undefined;
  /** Settles with whether the broker's HELLO arrived before the link failed. */
  readonly handshake: Promise<boolean>;
  settleHandshake: (ok: boolean) => void = () => undefined;
  private nextId = 1;

  constructor(readonly socket: Socket) {
    this.handshake = new Promise((resolve) => (this.settleHandshake = resolve));
  }

  /** The next correlation id: u32, wrapping, never 0, never one still waiting for its answer. */
  correlationId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffff_ffff ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }
}

const service = () => loadProtos().sluice.Sluice.service;

export class DataConnection {
  /** "host:dataPort". */
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly connectTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private link: Link | undefined;
  private closedError: SluiceError | undefined;
  private connectFailureMs: number | undefined;
  private sent = 0;

  constructor(options: DataConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.address = formatAddress(options.host, options.port);
    this.clock = options.clock ?? systemClock;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DATA_CONNECT_TIMEOUT_MS;
    this.maxFrameBytes = options.maxFrameBytes ?? DATA_FRAME_BYTES_MAX;
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  /** When the last handshake failed (clock ms); undefined once a handshake succeeded. */
  get connectFailedAtMs(): number | undefined {
    return this.connectFailureMs;
  }

  /** Requests written so far (all sockets). */
  get requestsSent(): number {
    return this.sent;
  }

  /**
   * Sends one ProduceRequest; resolves with the broker's ProduceResponse, or with undefined for
   * acks=0 once the frame is written (an answer to it is ignored).
   */
  produce(frame: ProduceFrame, timeoutMs: number): Promise<api.ProduceResponse | undefined> {
    return new Promise((resolve, reject) => {
      if (this.closedError !== undefined) {
        frame.onEncoded?.(); // never written: the batches are not needed
        reject(this.closedError);
        return;
      }
      const link = this.open();
      const correlationId = link.correlationId();
      const message: ProduceFrame = { correlationId, acks: frame.acks, timeoutMs: frame.timeoutMs, topics: frame.topics };
      const { prefix, pieces, messageBytes } = encodeProducePieces(message, DATA_FRAME_HEADER_BYTES);
      if (messageBytes + DATA_FRAME_HEADER_BYTES - 4 > this.maxFrameBytes) {
        frame.onEncoded?.();
        reject(new SluiceError("RECORD_LIST_TOO_LARGE", `${this.address}: a Produce request of ${messageBytes} bytes exceeds the data frame limit of ${this.maxFrameBytes}`));
        return;
      }
      writeFrameHeader(prefix, 0, FrameKind.PRODUCE, correlationId, messageBytes);
      if (frame.acks !== 0) {
        this.await(link, correlationId, timeoutMs, "Produce", FrameKind.PRODUCE_RESPONSE, (payload) => resolve(service().Produce.responseDeserialize(payload)), reject);
      }
      const last = pieces.length - 1;
      const written = (error: Error | null | undefined): void => {
        frame.onEncoded?.();
        if (frame.acks !== 0) return;
        // A socket destroyed mid-write completes its writes without an error: the failed link tells.
        if (error || link.failed) reject(new ConnectionError(this.address, `Produce request ${correlationId} not written: ${error?.message ?? "connection dropped"}`, undefined, { cause: error }));
        else resolve(undefined);
      };
      this.sent++;
      link.socket.cork();
      for (const [i, piece] of pieces.entries()) {
        if (i < last) link.socket.write(piece);
        else link.socket.write(piece, written);
      }
      link.socket.uncork();
    });
  }

  /** Sends one FetchRequest; `cancel()` rejects it with a ConnectionError and drops its answer if it still comes. */
  fetch(request: api.FetchRequestInput, timeoutMs: number): { response: Promise<api.FetchResponse>; cancel: () => void } {
    let cancel = (): void => undefined;
    const response = new Promise<api.FetchResponse>((resolve, reject) => {
      if (this.closedError !== undefined) {
        reject(this.closedError);
        return;
      }
      const payload = service().Fetch.requestSerialize(request);
      if (payload.length + DATA_FRAME_HEADER_BYTES - 4 > this.maxFrameBytes) {
        reject(new SluiceError("INVALID_REQUEST", `${this.address}: a Fetch request of ${payload.length} bytes exceeds the data frame limit of ${this.maxFrameBytes}`));
        return;
      }
      const link = this.open();
      const correlationId = link.correlationId();
      this.await(link, correlationId, timeoutMs, "Fetch", FrameKind.FETCH_RESPONSE, (answer) => resolve(service().Fetch.responseDeserialize(answer)), reject);
      cancel = () => {
        const pending = link.pending.get(correlationId);
        if (pending === undefined) return;
        link.pending.delete(correlationId);
        pending.timer.cancel();
        pending.reject(new ConnectionError(this.address, `Fetch request ${correlationId} cancelled`));
      };
      this.sent++;
      link.socket.cork();
      link.socket.write(encodeFrameHeader(FrameKind.FETCH, correlationId, payload.length));
      link.socket.write(payload);
      link.socket.uncork();
    });
    return { response, cancel: () => cancel() };
  }

  /**
   * Connects (if no socket is open) without sending a request: resolves with whether the
   * handshake succeeded. The cluster client probes a listener that failed before, so that no
   * request waits on a port that may still be blocked.
   */
  probe(): Promise<boolean> {
    if (this.closedError !== undefined) return Promise.resolve(false);
    return this.open().handshake;
  }

  /** Fails what is in flight (retriable ConnectionError) and drops the socket; the next request reconnects. */
  reset(reason: string): void {
    if (this.link !== undefined) this.fail(this.link, new ConnectionError(this.address, reason), false);
  }

  /** Fails what is in flight with `error` (ClientClosedError by default) and every later request too. */
  close(error: SluiceError = new ClientClosedError(`data connection to ${this.address}`)): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    if (this.link !== undefined) this.fail(this.link, error, false);
  }

  private open(): Link {
    if (this.link !== undefined) return this.link;
    // Reads land in one reusable buffer (`onread`): no 64 KiB allocation and no stream machinery
    // per read; CopyingFrameReader copies each frame's bytes out once, into the frame's payload —
    // or, once a large frame's header is in, the socket reads the rest straight into its payload.
    const scratch = Buffer.allocUnsafe(DATA_READ_BUFFER_BYTES);
    const reads: { link?: Link; direct?: Buffer | undefined } = {};
    const socket = connect({
      host: this.host,
      port: this.port,
      onread: {
        buffer: () => {
          reads.direct = reads.link?.failed === false ? reads.link.reader?.directTarget(DATA_DIRECT_READ_MIN_BYTES) : undefined;
          return reads.direct ?? scratch;
        },
        callback: (bytes: number, buffer: Uint8Array) => {
          if (reads.link === undefined) return true;
          if (buffer === reads.direct) this.onDirectRead(reads.link, bytes);
          else this.onData(reads.link, Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    const link = new Link(socket);
    reads.link = link;
    this.link = link;
    link.connectTimer = this.scheduler.after(this.connectTimeoutMs, () => {
      this.fail(link, new ConnectionError(this.address, `data listener handshake: no HELLO within ${this.connectTimeoutMs} ms`), true);
    });
    socket.on("error", (error: Error) => {
      const what = link.helloReceived ? "data connection failed" : "data listener unreachable";
      this.fail(link, new ConnectionError(this.address, `${what}: ${error.message}`, undefined, { cause: error }), !link.helloReceived);
    });
    socket.on("close", () => {
      const what = link.helloReceived ? "data connection closed by the broker" : "data listener closed the connection before its HELLO";
      this.fail(link, new ConnectionError(this.address, what), !link.helloReceived);
    });
    socket.write(encodeHello());
    return link;
  }

  private await(link: Link, correlationId: number, timeoutMs: number, rpc: Pending["rpc"], kind: AnswerKind, answer: (payload: Buffer) => void, reject: (error: Error) => void): void {
    const timer = this.scheduler.after(timeoutMs, () => {
      const pending = link.pending.get(correlationId);
      if (pending === undefined) return;
      link.pending.delete(correlationId);
      pending.reject(new TimeoutError(`${rpc} request ${correlationId} to ${this.address}`, timeoutMs));
      // The socket's state is unknown now; drop it so no late answer can be mistaken.
      this.fail(link, new ConnectionError(this.address, `data connection dropped: ${rpc} request ${correlationId} timed out after ${timeoutMs} ms`), false);
    });
    link.pending.set(correlationId, { kind, rpc, answer, reject, timer });
  }

  private onData(link: Link, chunk: Buffer): void {
    if (link.failed) return;
    try {
      let reader = link.reader;
      if (reader === undefined) {
        link.head.push(Buffer.from(chunk)); // the read buffer is reused after this call
        const head = link.head.length === 1 ? chunk : Buffer.concat(link.head);
        if (head.length < DATA_MAGIC.length) return;
        link.head = [];
        // A HELLO starts with the magic; anything else must be an ERROR frame refusing us.
        const startsWithHello = head.subarray(0, DATA_MAGIC.length).equals(DATA_MAGIC);
        const length = head.readUInt32BE(0);
        if (!startsWithHello && (length < DATA_FRAME_HEADER_BYTES - 4 || length > this.maxFrameBytes)) {
          throw new SluiceError("INVALID_REQUEST", "the data port answered neither a HELLO nor an ERROR frame: not a Sluice data listener");
        }
        reader = new CopyingFrameReader({ maxFrameBytes: this.maxFrameBytes, onHello: startsWithHello ? (hello) => this.onHello(link, hello) : undefined });
        link.reader = reader;
        chunk = head;
      }
      reader.push(chunk);
      this.takeFrames(link, reader);
    } catch (error) {
      this.onReadError(link, error);
    }
  }

  /** `bytes` landed straight in the payload of the frame being received (see onread above). */
  private onDirectRead(link: Link, bytes: number): void {
    const reader = link.reader;
    if (link.failed || reader === undefined) return;
    try {
      reader.receivedDirect(bytes);
      this.takeFrames(link, reader);
    } catch (error) {
      this.onReadError(link, error);
    }
  }

  private takeFrames(link: Link, reader: CopyingFrameReader): void {
    while (!link.failed) {
      const frame = reader.next();
      if (frame === undefined) return;
      this.onFrame(link, frame);
    }
  }

  private onReadError(link: Link, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    const failure = link.helloReceived
      ? new ConnectionError(this.address, `data connection dropped: the broker broke the protocol (${detail})`, undefined, { cause: error })
      : new ConnectionError(this.address, `data listener handshake failed: ${detail}`, undefined, { cause: error });
    this.fail(link, failure, !link.helloReceived);
  }

  /** Throws (inside CopyingFrameReader.push) when the broker is not a data listener of our version. */
  private onHello(link: Link, hello: Buffer): void {
    const version = decodeHello(hello);
    if (version !== DATA_PROTOCOL_VERSION) {
      throw new SluiceError("UNSUPPORTED_VERSION", `the broker's data listener speaks version ${version}, this client version ${DATA_PROTOCOL_VERSION}`);
    }
    link.helloReceived = true;
    link.connectTimer?.cancel();
    this.connectFailureMs = undefined;
    link.settleHandshake(true);
  }

  private onFrame(link: Link, frame: DataFrame): void {
    if (!link.helloReceived) {
      if (frame.kind !== FrameKind.ERROR || frame.correlationId !== 0) {
        throw new SluiceError("INVALID_REQUEST", `frame kind 0x${frame.kind.toString(16)} before the broker's HELLO`);
      }
      const refusal = errorOfFrame(frame.payload);
      this.fail(link, new ConnectionError(this.address, `data listener refused the connection: ${refusal.errorName}: ${refusal.message}`, undefined, { cause: refusal }), true);
      return;
    }
    switch (frame.kind) {
      case FrameKind.ERROR: {
        const error = errorOfFrame(frame.payload);
        if (frame.correlationId === 0) {
          this.fail(link, error, false);
          return;
        }
        const pending = link.pending.get(frame.correlationId);
        if (pending === undefined) return; // acks=0, cancelled
        link.pending.delete(frame.correlationId);
        pending.timer.cancel();
        pending.reject(error);
        return;
      }
      case FrameKind.PRODUCE_RESPONSE:
      case FrameKind.FETCH_RESPONSE: {
        const pending = link.pending.get(frame.correlationId);
        if (pending === undefined) return; // acks=0 answers, cancelled fetches
        if (pending.kind !== frame.kind) {
          throw new SluiceError("INVALID_REQUEST", `answer kind 0x${frame.kind.toString(16)} to ${pending.rpc} request ${frame.correlationId}`);
        }
        pending.answer(frame.payload); // a payload that does not decode throws: the request stays pending and fails with the socket
        link.pending.delete(frame.correlationId);
        pending.timer.cancel();
        return;
      }
      default:
        throw new SluiceError("INVALID_REQUEST", `request frame kind 0x${frame.kind.toString(16)} sent by the broker`);
    }
  }

  /** Fails everything in flight on `link` with `error` and drops its socket. Idempotent. */
  private fail(link: Link, error: SluiceError, handshakeFailed: boolean): void {
    if (link.failed) return;
    link.failed = true;
    if (this.link === link) this.link = undefined;
    link.connectTimer?.cancel();
    if (handshakeFailed) this.connectFailureMs = this.clock.now();
    link.settleHandshake(false); // no-op once the HELLO arrived
    const pending = [...link.pending.values()];
    link.pending.clear();
    for (const waiter of pending) {
      waiter.timer.cancel();
      waiter.reject(error);
    }
    link.socket.removeAllListeners("data");
    link.socket.on("error", () => undefined);
    link.socket.destroy();
  }
}
