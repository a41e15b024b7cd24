/**
 * A scripted data listener for the SDK's unit tests: a net.Server on 127.0.0.1 that reads the
 * client's HELLO and frames with the protocol's own FrameReader, answers the HELLO as the test
 * says (our version, another version, raw bytes, an ERROR frame, or nothing), and hands every
 * request frame to the test, which answers when and how it wants: out of order, with ERROR
 * frames, never, or by closing the socket. Faults the real listener cannot produce on demand.
 *
 * It is not a stand-in for the broker's listener: end-to-end behaviour is tested against the
 * real broker. ErrorInfo payloads are encoded with protobufjs from the .proto file (the
 * reference the SDK's own decoder is checked against).
 */
import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import protobuf from "protobufjs";
import {
  decodeHello,
  encodeFrameHeader,
  encodeHello,
  FrameKind,
  FrameReader,
  loadProtos,
  protoDir,
  toErrorInfo,
  type api,
  type DataFrame,
  type SluiceError,
} from "@sluice/protocol";

/** How the listener answers a client's HELLO. */
export type HelloReply = "hello" | "silent" | { readonly version: number } | { readonly raw: Buffer } | { readonly refuse: SluiceError };

export interface ReceivedFrame extends DataFrame {
  readonly socket: Socket;
  /** 1 for the first connection accepted, 2 for the next, ... */
  readonly connection: number;
}

const ErrorInfo = protobuf.loadSync(join(protoDir, "sluice/v1/common.proto")).lookupType("sluice.v1.ErrorInfo");

export function encodeErrorInfo(error: SluiceError): Buffer {
  return Buffer.from(ErrorInfo.encode(ErrorInfo.fromObject(toErrorInfo(error))).finish());
}

function frame(kind: FrameKind, correlationId: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeFrameHeader(kind, correlationId, payload.length), payload]);
}

export class FakeDataListener {
  port = 0;
  /** Connections accepted so far. */
  connections = 0;
  /** Protocol versions of the HELLOs received. */
  readonly hellos: number[] = [];
  helloReply: HelloReply = "hello";
  /** New connections are not read until `resumeReading()` (to hold a client's writes in its socket). */
  pauseReading = false;
  readonly frames: ReceivedFrame[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();
  private readonly server: Server;

  private constructor() {
    this.server = createServer((socket) => this.accept(socket));
  }

  static async start(): Promise<FakeDataListener> {
    const listener = new FakeDataListener();
    listener.server.listen(0, "127.0.0.1");
    await once(listener.server, "listening");
    listener.port = (listener.server.address() as AddressInfo).port;
    return listener;
  }

  /** Resolves once `count` request frames have arrived (over all connections); returns them all. */
  async received(count: number): Promise<ReceivedFrame[]> {
    while (this.frames.length < count) {
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
    return [...this.frames];
  }

  /** Resolves once `count` connections have been accepted. */
  async accepted(count: number): Promise<void> {
    while (this.connections < count) {
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  /** Resolves with the first request frame (received so far or later) that `match` accepts. */
  async first(match: (frame: ReceivedFrame) => boolean): Promise<ReceivedFrame> {
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  resumeReading(): void {
    this.pauseReading = false;
    for (const socket of this.sockets) socket.resume();
  }

  send(socket: Socket, kind: FrameKind, correlationId: number, payload: Buffer): void {
    socket.write(frame(kind, correlationId, payload));
  }

  answerProduce(request: ReceivedFrame, response: api.ProduceResponseInput): void {
    this.send(request.socket, FrameKind.PRODUCE_RESPONSE, request.correlationId, loadProtos().sluice.Sluice.service.Produce.responseSerialize(response));
  }

  answerFetch(request: ReceivedFrame, response: api.FetchResponseInput): void {
    this.send(request.socket, FrameKind.FETCH_RESPONSE, request.correlationId, loadProtos().sluice.Sluice.service.Fetch.responseSerialize(response));
  }

  /** An ERROR frame for `correlationId` (0: the whole connection) on `socket`. */
  answerError(socket: Socket, correlationId: number, error: SluiceError): void {
    this.send(socket, FrameKind.ERROR, correlationId, encodeErrorInfo(error));
  }

  /** Destroys every open connection (a broker crash, as the client sees it). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const connection = ++this.connections;
    this.sockets.add(socket);
    this.wake();
    socket.on("error", () => undefined);
    socket.on("close", () => this.sockets.delete(socket));
    if (this.pauseReading) socket.pause();
    const reader = new FrameReader({
      onHello: (hello) => {
        this.hellos.push(decodeHello(hello));
        this.replyHello(socket);
      },
    });
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      for (let next = reader.next(); next !== undefined; next = reader.next()) {
        this.frames.push({ ...next, socket, connection });
      }
      this.wake();
    });
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  private replyHello(socket: Socket): void {
    const reply = this.helloReply;
    if (reply === "silent") return;
    if (reply === "hello") socket.write(encodeHello());
    else if ("version" in reply) socket.write(encodeHello(reply.version));
    else if ("raw" in reply) socket.write(reply.raw);
    else {
      this.answerError(socket, 0, reply.refuse);
      socket.end();
    }
  }
}
