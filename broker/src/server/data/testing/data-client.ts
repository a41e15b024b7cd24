/**
 * Test helpers for the data listener: a bare protocol client that sends whatever bytes a test
 * wants (good frames, garbage, wrong versions) and records every frame the broker sends back,
 * plus decoders for the answers built on protobufjs (the decoder real clients use).
 *
 * Not used by the broker itself.
 */
import { connect, type Socket } from "node:net";
import { DATA_MAGIC, DATA_PROTOCOL_VERSION, decodeHello, encodeHello, FrameKind, FrameReader, loadProtos, type api, type DataFrame } from "@sluice/protocol";

const sluice = loadProtos().sluice.Sluice.service;

/** A frame of any kind byte (including ones the protocol does not know), as raw bytes. */
export function frameBytes(kind: number, correlationId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt32BE(1 + 4 + payload.length, 0);
  header[4] = kind;
  header.writeUInt32BE(correlationId, 5);
  return Buffer.concat([header, payload]);
}

export function produceFrame(correlationId: number, request: api.ProduceRequest): Buffer {
  return frameBytes(FrameKind.PRODUCE, correlationId, sluice.Produce.requestSerialize(request));
}

export function fetchFrame(correlationId: number, request: api.FetchRequest): Buffer {
  return frameBytes(FrameKind.FETCH, correlationId, sluice.Fetch.requestSerialize(request));
}

export class DataTestClient {
  /** Every frame received, in order. */
  readonly frames: DataFrame[] = [];
  /** The version in the broker's HELLO, once it came. */
  helloVersion: number | undefined;
  /** Resolves when the broker has ended the connection (or it closed). */
  readonly ended: Promise<void>;
  private readonly reader = new FrameReader();
  private prefix: Buffer = Buffer.alloc(0);
  private helloChecked = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    this.ended = new Promise((resolve) => {
      socket.once("end", resolve);
      socket.once("close", resolve);
    });
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
  }

  static connect(port: number): Promise<DataTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        socket.off("error", reject);
        resolve(new DataTestClient(socket));
      });
      socket.once("error", reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  hello(version: number = DATA_PROTOCOL_VERSION): void {
    this.write(encodeHello(version));
  }

  /** Half-closes: the client sends nothing more but still reads. */
  endInput(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  /** The first frame with `correlationId` (waits for it). */
  frame(correlationId: number): Promise<DataFrame> {
    return this.until(() => this.frames.find((f) => f.correlationId === correlationId));
  }

  /** Resolves once `found` returns a value (checked after every received chunk). */
  until<T>(found: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = found();
        if (value === undefined) return false;
        resolve(value);
        return true;
      };
      if (check()) return;
      const waiter = (): void => {
        if (check()) this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      this.waiters.push(waiter);
      void this.ended.then(() => {
        if (!check()) reject(new Error(`connection ended; frames received: ${this.frames.map((f) => `0x${f.kind.toString(16)}#${f.correlationId}`).join(" ")}`));
      });
    });
  }

  private receive(chunk: Buffer): void {
    if (!this.helloChecked) {
      // The broker's HELLO comes first, unless it refuses the connection with an ERROR at once.
      this.prefix = Buffer.concat([this.prefix, chunk]);
      if (this.prefix.length < DATA_MAGIC.length) return;
      this.helloChecked = true;
      let rest = this.prefix;
      if (rest.subarray(0, DATA_MAGIC.length).equals(DATA_MAGIC)) {
        if (rest.length < 8) {
          this.helloChecked = false;
          return;
        }
        this.helloVersion = decodeHello(rest.subarray(0, 8));
        rest = rest.subarray(8);
      }
      chunk = rest;
    }
    this.reader.push(chunk);
    for (let f = this.reader.next(); f !== undefined; f = this.reader.next()) this.frames.push(f);
    for (const waiter of [...this.waiters]) waiter();
  }
}

export function decodeProduceResponse(frame: DataFrame): api.ProduceResponse {
  if (frame.kind !== FrameKind.PRODUCE_RESPONSE) throw new Error(`expected PRODUCE_RESPONSE, got kind 0x${frame.kind.toString(16)}`);
  return sluice.Produce.responseDeserialize(frame.payload);
}

export function decodeFetchResponse(frame: DataFrame): api.FetchResponse {
  if (frame.kind !== FrameKind.FETCH_RESPONSE) throw new Error(`expected FETCH_RESPONSE, got kind 0x${frame.kind.toString(16)}`);
  return sluice.Fetch.responseDeserialize(frame.payload);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/**
 * Decodes ErrorInfo bytes with protobufjs: the loaded services expose no ErrorInfo codec of its
 * own, so the bytes go in as the `error` (field 2) of topics[0].partitions[0] of a FetchResponse.
 */
export function decodeErrorInfoWithProtobufjs(bytes: Buffer): api.ErrorInfo | null {
  const field = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), varint(body.length), body]);
  const decoded = sluice.Fetch.responseDeserialize(field(0x0a, field(0x12, field(0x12, bytes))));
  return decoded.topics[0]?.partitions[0]?.error ?? null;
}

export function decodeErrorFrame(frame: DataFrame): api.ErrorInfo {
  if (frame.kind !== FrameKind.ERROR) throw new Error(`expected ERROR, got kind 0x${frame.kind.toString(16)}`);
  const info = decodeErrorInfoWithProtobufjs(frame.payload);
  if (info === null) throw new Error("ERROR frame without an ErrorInfo");
  return info;
}
