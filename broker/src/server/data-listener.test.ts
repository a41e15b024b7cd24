// Proves the data listener serves Produce and Fetch over plain TCP on a real broker: HELLO
// handshake, records stored and fetched back intact with the right offsets, pipelined produces
// keeping per-partition order past the in-flight bound, every kind of bad input answered with its
// typed ERROR (or per-partition error) without harming the broker, its data or other connections,
// and a drain that answers in-flight requests, refuses the rest and then closes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CompressionCodec,
  DATA_PROTOCOL_VERSION,
  decodeRecordBatches,
  encodeRecordBatch,
  FrameKind,
  fromErrorInfo,
  grpcChannelOptions,
  loadProtos,
  type api,
} from "@sluice/protocol";
import { startBroker, type Broker } from "../broker.js";
import { resolveBrokerConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { DATA_CONNECTION_INFLIGHT_MAX } from "./limits.js";
import {
  DataTestClient,
  decodeErrorFrame,
  decodeFetchResponse,
  decodeProduceResponse,
  fetchFrame,
  frameBytes,
  produceFrame,
} from "./data/testing/data-client.js";

let dir: string;
let broker: Broker;
let logLines: Array<Record<string, unknown>>;
const clients: DataTestClient[] = [];
const grpcClients: grpc.Client[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-data-"));
  logLines = [];
  const config = resolveBrokerConfig({ flags: { "data-dir": dir, "log-level": "info", port: "0", "metrics-port": "-1" }, env: {}, file: {} });
  const logger = createLogger({ level: "info", brokerId: 0, stream: { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) } });
  broker = await startBroker(config, { logger });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of grpcClients.splice(0)) c.close();
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

function dataPort(): number {
  const address = broker.dataAddress;
  if (address === undefined) throw new Error("the broker has no data listener");
  return address.port;
}

async function client(hello = true): Promise<DataTestClient> {
  const c = await DataTestClient.connect(dataPort());
  clients.push(c);
  if (hello) c.hello();
  return c;
}

function unary<Res>(call: (callback: (error: grpc.ServiceError | null, value?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => call((error, value) => (error !== null || value === undefined ? reject(error ?? new Error("no answer")) : resolve(value))));
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const admin = new (loadProtos().sluice.Admin)(broker.bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
  grpcClients.push(admin);
  const response = await unary<api.CreateTopicsResponse>((cb) => admin.CreateTopics({ topics: [{ name, partitions, replicationFactor: 1 }] }, cb));
  expect(fromErrorInfo(response.topics[0]?.error)).toBeNull();
}

async function grpcMetadata(): Promise<api.MetadataResponse> {
  const sluice = new (loadProtos().sluice.Sluice)(broker.bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
  grpcClients.push(sluice);
  return unary<api.MetadataResponse>((cb) => sluice.Metadata({ topics: [] }, cb));
}

function batch(values: readonly string[]): Buffer {
  return encodeRecordBatch({ records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp: 1_700_000_000_000 + i })), compression: CompressionCodec.none });
}

function produceRequest(topic: string, partition: number, records: Buffer, acks = -1): api.ProduceRequest {
  return { correlationId: 0, acks, timeoutMs: 0, topics: [{ topic, partitions: [{ partition, records }] }] };
}

function fetchRequest(topic: string, partitions: readonly number[], options: Partial<api.FetchRequest> = {}): api.FetchRequest {
  return { maxWaitMs: 0, minBytes: 0, maxBytes: 0, ...options, topics: [{ topic, partitions: partitions.map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 0 })) }] };
}

function values(records: Buffer): string[] {
  return decodeRecordBatches(records).flatMap((b) => b.records.map((r) => r.value?.toString() ?? "null"));
}

async function produceOver(c: DataTestClient, correlationId: number, request: api.ProduceRequest): Promise<api.PartitionProduceResult | undefined> {
  c.write(produceFrame(correlationId, request));
  return decodeProduceResponse(await c.frame(correlationId)).topics[0]?.partitions[0];
}

/** Every stored value per partition, read over a fresh data connection. */
async function stored(topic: string, partitions: readonly number[]): Promise<string[][]> {
  const c = await client();
  c.write(fetchFrame(999, fetchRequest(topic, partitions)));
  const response = decodeFetchResponse(await c.frame(999));
  c.close();
  return partitions.map((p) => values(response.topics[0]?.partitions.find((r) => r.partition === p)?.records ?? Buffer.alloc(0)));
}

async function rpcCount(method: string, code: string): Promise<number> {
  const metric = await broker.metrics.rpcRequests.get();
  return metric.values.find((v) => v.labels.method === method && v.labels.code === code)?.value ?? 0;
}

describe("handshake and metadata", () => {
  it("answers HELLO with its version and advertises the bound data port in Metadata and the ready line", async () => {
    const c = await client();
    await c.until(() => c.helloVersion);
    expect(c.helloVersion).toBe(DATA_PROTOCOL_VERSION);
    const port = dataPort();
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(broker.address.port);
    const metadata = await grpcMetadata();
    expect(metadata.brokers).toEqual([expect.objectContaining({ port: broker.address.port, dataPort: port })]);
    expect(logLines.find((l) => l.msg === "broker ready")).toMatchObject({ port: broker.address.port, dataPort: port });
  });
});

describe("produce and fetch", () => {
  it("stores produced batches and fetches them back intact with the right offsets", async () => {
    await createTopic("t", 2);
    const c = await client();
    const large = "x".repeat(100_000); // above the inline bound: sent from the read buffer itself
    expect(await produceOver(c, 1, produceRequest("t", 0, batch(["a", "b"])))).toMatchObject({ partition: 0, error: null, baseOffset: 0 });
    expect(await produceOver(c, 2, produceRequest("t", 1, batch([large])))).toMatchObject({ partition: 1, error: null, baseOffset: 0 });
    expect(await produceOver(c, 3, produceRequest("t", 0, batch(["c"]), 1))).toMatchObject({ error: null, baseOffset: 2 });

    c.write(fetchFrame(4, fetchRequest("t", [0, 1])));
    const response = decodeFetchResponse(await c.frame(4));
    const byPartition = new Map(response.topics[0]?.partitions.map((p) => [p.partition, p]));
    expect(byPartition.get(0)).toMatchObject({ error: null, highWatermark: 3 });
    expect(values(byPartition.get(0)!.records)).toEqual(["a", "b", "c"]);
    expect(decodeRecordBatches(byPartition.get(0)!.records).map((b) => Number(b.header.baseOffset))).toEqual([0, 2]);
    expect(values(byPartition.get(1)!.records)).toEqual([large]);
    expect(await rpcCount("DataProduce", "OK")).toBe(3);
    expect(await rpcCount("DataFetch", "OK")).toBe(1);
  });

  it("answers pipelined fetches each with its own partition's records", async () => {
    await createTopic("t", 2);
    const c = await client();
    const content = [["p0-" + "a".repeat(20_000)], ["p1-" + "b".repeat(30_000)]];
    await produceOver(c, 1, produceRequest("t", 0, batch(content[0]!)));
    await produceOver(c, 2, produceRequest("t", 1, batch(content[1]!)));
    const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
    c.write(Buffer.concat(ids.map((id) => fetchFrame(id, fetchRequest("t", [id % 2])))));
    for (const id of ids) {
      const answer = decodeFetchResponse(await c.frame(id)).topics[0]?.partitions[0];
      expect(answer?.partition).toBe(id % 2);
      expect(values(answer!.records)).toEqual(content[id % 2]);
    }
  });

  it("keeps per-partition order for pipelined produces, past the in-flight bound", async () => {
    await createTopic("t", 2);
    const c = await client(false);
    const count = DATA_CONNECTION_INFLIGHT_MAX * 2 + 10;
    // HELLO and every request in one write: the client does not wait for the broker's HELLO.
    c.write(Buffer.concat([Buffer.from("SLDP\u0000\u0001\u0000\u0000", "latin1"), ...Array.from({ length: count }, (_, i) => produceFrame(i + 1, produceRequest("t", i % 2, batch([`r${i}`]))))]));
    const answers = await Promise.all(Array.from({ length: count }, async (_, i) => decodeProduceResponse(await c.frame(i + 1)).topics[0]?.partitions[0]));
    for (const partition of [0, 1]) {
      const offsets = answers.filter((a) => a?.partition === partition).map((a) => a?.baseOffset);
      expect(offsets).toEqual(Array.from({ length: count / 2 }, (_, i) => i));
    }
    const [p0, p1] = await stored("t", [0, 1]);
    expect(p0).toEqual(Array.from({ length: count / 2 }, (_, i) => `r${2 * i}`));
    expect(p1).toEqual(Array.from({ length: count / 2 }, (_, i) => `r${2 * i + 1}`));
  });

  it("reassembles frames however the bytes arrive: split anywhere, several per write, large ones read straight into their payload", async () => {
    await createTopic("t", 3);
    const c = await client();
    await c.until(() => c.helloVersion);
    // Large frames take the direct-read path (their rest lands in the payload buffer), small ones
    // the shared read buffer; the writes below cut through headers, payloads and frame boundaries.
    const contents = Array.from({ length: 9 }, (_, i) => (i % 3 === 0 ? [`big${i}-` + String.fromCharCode(97 + i).repeat(300_000 + i * 7_777)] : [`small${i}`, `s${i}`]));
    const frames = contents.map((content, i) => produceFrame(i + 1, produceRequest("t", i % 3, batch(content))));
    const all = Buffer.concat(frames);
    const cuts = [3, 7, 11, 150_000, 150_001, 400_000, all.length - 200_000, all.length - 5];
    let from = 0;
    for (const cut of [...cuts, all.length]) {
      c.write(all.subarray(from, cut));
      from = cut;
      await new Promise((resolve) => setTimeout(resolve, 2)); // separate reads on the broker
    }
    const answers = await Promise.all(frames.map(async (_, i) => decodeProduceResponse(await c.frame(i + 1)).topics[0]?.partitions[0]));
    expect(answers.map((a) => a?.error ?? null)).toEqual(frames.map(() => null));
    const byPartition = await stored("t", [0, 1, 2]);
    for (const p of [0, 1, 2]) expect(byPartition[p]).toEqual(contents.filter((_, i) => i % 3 === p).flat());
  });

  it("answers what a client sent before half-closing, then closes", async () => {
    await createTopic("t", 1);
    const c = await client();
    c.write(produceFrame(1, produceRequest("t", 0, batch(["last words"]))));
    c.endInput();
    expect(decodeProduceResponse(await c.frame(1)).topics[0]?.partitions[0]).toMatchObject({ error: null, baseOffset: 0 });
    await c.ended;
    expect(await stored("t", [0])).toEqual([["last words"]]);
  });

  it("answers acks=0 produces too (partitions listed, offsets -1) and stores the records", async () => {
    await createTopic("t", 1);
    const c = await client();
    expect(await produceOver(c, 1, produceRequest("t", 0, batch(["quiet"]), 0))).toEqual({ partition: 0, error: null, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 });
    expect(await stored("t", [0])).toEqual([["quiet"]]);
  });
});

describe("bad input", () => {
  async function refusedConnection(bytes: Buffer, hello: boolean): Promise<api.ErrorInfo> {
    const c = await client(hello);
    c.write(bytes);
    const frame = await c.frame(0);
    expect(frame.kind).toBe(FrameKind.ERROR);
    await c.ended; // the broker closes the connection after a connection-level ERROR
    return decodeErrorFrame(frame);
  }

  /** The broker still serves: a new data connection produces and fetches, gRPC answers. */
  async function stillServes(): Promise<void> {
    const c = await client();
    expect(await produceOver(c, 1, produceRequest("ok", 0, batch(["after"])))).toMatchObject({ error: null });
    expect((await grpcMetadata()).brokers).toHaveLength(1);
  }

  it("refuses connection-level violations with an ERROR (correlation id 0) and closes only that connection", async () => {
    await createTopic("ok", 1);
    const cases: Array<[string, Buffer, boolean, string]> = [
      ["garbage instead of HELLO", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, "INVALID_REQUEST"],
      ["a wrong version", Buffer.from([0x53, 0x4c, 0x44, 0x50, 0x00, 0x09, 0x00, 0x00]), false, "UNSUPPORTED_VERSION"],
      ["an unknown frame kind", frameBytes(0x07, 5), true, "INVALID_REQUEST"],
      ["an oversized length prefix", Buffer.from([0x7f, 0xff, 0xff, 0xff, FrameKind.PRODUCE, 0, 0, 0, 1]), true, "MESSAGE_TOO_LARGE"],
      ["a response kind sent by the client", frameBytes(FrameKind.PRODUCE_RESPONSE, 5), true, "INVALID_REQUEST"],
      ["an ERROR sent by the client", frameBytes(FrameKind.ERROR, 5), true, "INVALID_REQUEST"],
      ["a request with correlation id 0", produceFrame(0, produceRequest("ok", 0, batch(["zero"]))), true, "INVALID_REQUEST"],
    ];
    for (const [what, bytes, hello, errorName] of cases) {
      const info = await refusedConnection(bytes, hello);
      expect({ what, name: info.name }).toEqual({ what, name: errorName });
      expect(info.code).not.toBe(0);
    }
    await stillServes();
    expect(await stored("ok", [0])).toEqual([["after"]]);
    const errors = await broker.metrics.dataConnectionErrors.get();
    expect(errors.values.reduce((n, v) => n + v.value, 0)).toBe(cases.length);
  });

  it("refuses a malformed request with an ERROR for that request only; the connection goes on", async () => {
    await createTopic("t", 1);
    const c = await client();
    c.write(frameBytes(FrameKind.PRODUCE, 1, Buffer.from([0xff, 0xff, 0xff, 0xff])));
    c.write(frameBytes(FrameKind.FETCH, 2, Buffer.from([0x0a, 0x7f, 0x01])));
    c.write(fetchFrame(3, fetchRequest("t", [0], { maxBytes: -1 })));
    for (const id of [1, 2, 3]) {
      const frame = await c.frame(id);
      expect(frame.kind).toBe(FrameKind.ERROR);
      expect(decodeErrorFrame(frame)).toMatchObject({ name: "INVALID_REQUEST", retriable: false });
    }
    expect(decodeErrorFrame(await c.frame(1)).message).toContain("ProduceRequest");
    expect(await produceOver(c, 4, produceRequest("t", 0, batch(["fine"])))).toMatchObject({ error: null, baseOffset: 0 });
    expect(await stored("t", [0])).toEqual([["fine"]]);
    expect(await rpcCount("DataProduce", "INVALID_ARGUMENT")).toBe(1);
    expect(await rpcCount("DataFetch", "INVALID_ARGUMENT")).toBe(2);
  });

  it("answers an unknown topic and a corrupt batch per partition, storing nothing", async () => {
    await createTopic("t", 1);
    const c = await client();
    const unknown = await produceOver(c, 1, produceRequest("nope", 0, batch(["x"])));
    expect(fromErrorInfo(unknown?.error)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    const corrupt = batch(["bad"]);
    corrupt[corrupt.length - 1]! ^= 0xff; // the CRC no longer matches
    const refused = await produceOver(c, 2, produceRequest("t", 0, corrupt));
    expect(fromErrorInfo(refused?.error)?.errorName).toBe("CORRUPT_MESSAGE");
    c.write(fetchFrame(3, fetchRequest("nope", [0])));
    expect(fromErrorInfo(decodeFetchResponse(await c.frame(3)).topics[0]?.partitions[0]?.error)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    // The connection is an ordered stream: once t/0 failed on it, later appends to t/0 on it fail too.
    const after = await produceOver(c, 4, produceRequest("t", 0, batch(["next"])));
    expect(fromErrorInfo(after?.error)).toMatchObject({ errorName: "NETWORK_EXCEPTION", retriable: true });
    expect(await stored("t", [0])).toEqual([[]]);
    // A new connection (a new ordered stream) appends at offset 0: nothing was written.
    const fresh = await client();
    expect(await produceOver(fresh, 1, produceRequest("t", 0, batch(["good"])))).toMatchObject({ error: null, baseOffset: 0 });
  });
});

describe("disabled", () => {
  it("with data-port -1 binds no data listener and advertises data port 0", async () => {
    const off = await mkdtemp(join(tmpdir(), "sluice-data-off-"));
    const config = resolveBrokerConfig({ flags: { "data-dir": off, "log-level": "silent", port: "0", "data-port": "-1", "metrics-port": "-1" }, env: {}, file: {} });
    const other = await startBroker(config);
    try {
      expect(other.dataAddress).toBeUndefined();
      const sluice = new (loadProtos().sluice.Sluice)(other.bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
      grpcClients.push(sluice);
      const metadata = await unary<api.MetadataResponse>((cb) => sluice.Metadata({ topics: [] }, cb));
      expect(metadata.brokers).toEqual([expect.objectContaining({ port: other.address.port, dataPort: 0 })]);
    } finally {
      await other.close();
      await rm(off, { recursive: true, force: true });
    }
  });
});

describe("drain", () => {
  it("answers in-flight requests, refuses the ones not started with a retriable ERROR, then closes", async () => {
    await createTopic("t", 1);
    const c = await client();
    const waiting = DATA_CONNECTION_INFLIGHT_MAX;
    // The in-flight bound is full of long polls, so the produce behind them cannot start before the drain.
    const longPolls = Array.from({ length: waiting }, (_, i) => fetchFrame(i + 1, fetchRequest("t", [0], { maxWaitMs: 60_000, minBytes: 1 })));
    c.write(Buffer.concat([...longPolls, produceFrame(waiting + 1, produceRequest("t", 0, batch(["late"])))]));
    for (;;) {
      const waiters = (await broker.metrics.fetchWaiters.get()).values[0]?.value ?? 0;
      if (waiters === waiting) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closing = broker.close();
    for (let id = 1; id <= waiting; id++) {
      const answer = decodeFetchResponse(await c.frame(id)).topics[0]?.partitions[0];
      expect(answer).toMatchObject({ partition: 0, error: null, highWatermark: 0 });
    }
    const refusal = await c.frame(waiting + 1);
    expect(decodeErrorFrame(refusal)).toMatchObject({ name: "NETWORK_EXCEPTION", retriable: true });
    await c.ended;
    await closing;
    expect(logLines.find((l) => l.msg === "broker stopped")).toMatchObject({ shutdown: "graceful" });
  });

  it("stops accepting connections once the broker has stopped", async () => {
    const port = dataPort();
    await broker.close();
    await expect(DataTestClient.connect(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
