// Proves DataConnection's contract against a scripted data listener on loopback: pipelined
// requests are matched to out-of-order answers by correlation id on one socket; ERROR frames fail
// one request (or, with id 0, all) with the broker's typed error; a lost socket, a timeout or a
// reset fails what is in flight with retriable errors and the next request reconnects; a wrong
// HELLO is a typed handshake failure that the cluster client answers with gRPC for a while;
// cancel, acks=0, close and `onEncoded` (only once the socket wrote the batches) behave.
import { createServer, type AddressInfo } from "node:net";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { DATA_PROTOCOL_VERSION, FrameKind, loadProtos, SluiceError, type api } from "@sluice/protocol";
import { ClusterClient } from "./cluster.js";
import { DataConnection } from "./data-connection.js";
import { ClientClosedError, ConnectionError, TimeoutError } from "./errors.js";
import { DATA_LISTENER_RETRY_AFTER_MS } from "./limits.js";
import type { ProduceFrame } from "./produce-request.js";
import { ManualTime, systemScheduler } from "./runtime.js";
import { FakeDataListener, type ReceivedFrame } from "./testing/fake-data-listener.js";

const service = loadProtos().sluice.Sluice.service;

let listener: FakeDataListener | undefined;
const opened: DataConnection[] = [];

afterEach(async () => {
  for (const connection of opened.splice(0)) connection.close();
  await listener?.stop();
  listener = undefined;
});

async function setup(): Promise<{ listener: FakeDataListener; connection: DataConnection }> {
  listener = await FakeDataListener.start();
  const connection = new DataConnection({ host: "127.0.0.1", port: listener.port });
  opened.push(connection);
  return { listener, connection };
}

function produceFrame(topic: string, batches: Uint8Array[], acks = -1, onEncoded?: () => void): ProduceFrame {
  return { correlationId: 0, acks, timeoutMs: 5_000, topics: [{ topic, partitions: [{ partition: 0, batches }] }], onEncoded };
}

function produceAnswer(request: ReceivedFrame, baseOffset: number): api.ProduceResponseInput {
  const decoded = service.Produce.requestDeserialize(request.payload);
  return { correlationId: decoded.correlationId, topics: decoded.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, error: null, baseOffset })) })) };
}

const fetchRequest = (topic: string): api.FetchRequestInput => ({ maxWaitMs: 100, minBytes: 1, maxBytes: 1024, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }] });

function fetchAnswer(request: ReceivedFrame, records: Buffer): api.FetchResponseInput {
  const decoded = service.Fetch.requestDeserialize(request.payload);
  return { topics: decoded.topics.map((t) => ({ topic: t.topic, partitions: [{ partition: 0, highWatermark: 7, records }] })) };
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe("DataConnection", () => {
  it("pipelines requests on one socket behind its HELLO and matches answers that come back out of order", async () => {
    const { listener, connection } = await setup();
    const first = connection.produce(produceFrame("a", [Buffer.from("one")]), 5_000);
    const second = connection.fetch(fetchRequest("b"), 5_000).response;
    const third = connection.produce(produceFrame("c", [Buffer.from("two"), Buffer.from("three")]), 5_000);
    const [p1, f2, p3] = await listener.received(3);
    expect(listener.hellos).toEqual([DATA_PROTOCOL_VERSION]);
    expect([p1!.kind, f2!.kind, p3!.kind]).toEqual([FrameKind.PRODUCE, FrameKind.FETCH, FrameKind.PRODUCE]);
    const ids = [p1!.correlationId, f2!.correlationId, p3!.correlationId];
    expect(new Set(ids).size).toBe(3);
    expect(ids).not.toContain(0);
    // The PRODUCE payload is the ProduceRequest with the batches back to back.
    expect(service.Produce.requestDeserialize(p3!.payload).topics[0]!.partitions[0]!.records.toString()).toBe("twothree");

    listener.answerProduce(p3!, produceAnswer(p3!, 30));
    listener.answerFetch(f2!, fetchAnswer(f2!, Buffer.from("records")));
    listener.answerProduce(p1!, produceAnswer(p1!, 10));
    expect((await third)?.topics[0]).toMatchObject({ topic: "c", partitions: [{ baseOffset: 30 }] });
    const fetched = await second;
    expect(fetched.topics[0]).toMatchObject({ topic: "b", partitions: [{ highWatermark: 7 }] });
    expect(Buffer.isBuffer(fetched.topics[0]!.partitions[0]!.records)).toBe(true);
    expect(fetched.topics[0]!.partitions[0]!.records.toString()).toBe("records");
    expect((await first)?.topics[0]).toMatchObject({ topic: "a", partitions: [{ baseOffset: 10 }] });
    expect(listener.connections).toBe(1);
    expect(connection.requestsSent).toBe(3);
  });

  it("fails only the request an ERROR frame names, with the broker's typed error", async () => {
    const { listener, connection } = await setup();
    const refused = connection.fetch(fetchRequest("a"), 5_000).response;
    const fine = connection.fetch(fetchRequest("b"), 5_000).response;
    const [r1, r2] = await listener.received(2);
    const sent = new SluiceError("NOT_LEADER_OR_FOLLOWER", "moved to broker 2");
    listener.answerError(r1!.socket, r1!.correlationId, sent);
    listener.answerFetch(r2!, fetchAnswer(r2!, Buffer.from("x")));
    const error = await rejection(refused);
    expect(error.errorName).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(error.retriable).toBe(true);
    expect(error.message).toBe(sent.message);
    expect((await fine).topics[0]?.topic).toBe("b");
    expect(listener.connections).toBe(1);
  });

  it("fails every request in flight with the error of an ERROR frame for correlation id 0, then reconnects", async () => {
    const { listener, connection } = await setup();
    const a = connection.produce(produceFrame("a", [Buffer.from("1")]), 5_000);
    const b = connection.fetch(fetchRequest("b"), 5_000).response;
    const [first] = await listener.received(2);
    const sent = new SluiceError("INVALID_REQUEST", "garbage on the port");
    listener.answerError(first!.socket, 0, sent);
    for (const error of [await rejection(a), await rejection(b)]) {
      expect(error.errorName).toBe("INVALID_REQUEST");
      expect(error.message).toBe(sent.message);
    }
    const again = connection.fetch(fetchRequest("c"), 5_000).response;
    const [, , third] = await listener.received(3);
    expect(third!.connection).toBe(2);
    listener.answerFetch(third!, fetchAnswer(third!, Buffer.alloc(0)));
    expect((await again).topics[0]?.topic).toBe("c");
  });

  it("fails requests in flight with a retriable ConnectionError when the broker drops the socket, and the next request reconnects", async () => {
    const { listener, connection } = await setup();
    const a = connection.produce(produceFrame("a", [Buffer.from("1")]), 5_000);
    const b = connection.fetch(fetchRequest("b"), 5_000).response;
    await listener.received(2);
    listener.dropConnections();
    for (const error of [await rejection(a), await rejection(b)]) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.retriable).toBe(true);
    }
    expect(connection.connectFailedAtMs).toBeUndefined(); // the handshake had succeeded: no fallback
    const again = connection.produce(produceFrame("c", [Buffer.from("2")]), 5_000);
    const frames = await listener.received(3);
    expect(frames[2]!.connection).toBe(2);
    listener.answerProduce(frames[2]!, produceAnswer(frames[2]!, 0));
    expect((await again)?.topics[0]?.topic).toBe("c");
  });

  it("times a request out with a TimeoutError, fails the others on its socket, and reconnects", async () => {
    const { listener, connection } = await setup();
    const slow = connection.produce(produceFrame("a", [Buffer.from("1")]), 20);
    const other = connection.fetch(fetchRequest("b"), 60_000).response;
    const timedOut = await rejection(slow);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.retriable).toBe(true);
    const dropped = await rejection(other);
    expect(dropped).toBeInstanceOf(ConnectionError);
    expect(dropped.retriable).toBe(true);
    const again = connection.fetch(fetchRequest("c"), 5_000).response;
    const retried = await listener.first((f) => f.kind === FrameKind.FETCH && service.Fetch.requestDeserialize(f.payload).topics[0]?.topic === "c");
    expect(listener.connections).toBeGreaterThan(1);
    listener.answerFetch(retried, fetchAnswer(retried, Buffer.from("new")));
    expect((await again).topics[0]?.partitions[0]?.records.toString()).toBe("new");
  });

  it("cancels a fetch with a ConnectionError and drops its late answer without disturbing the socket", async () => {
    const { listener, connection } = await setup();
    const call = connection.fetch(fetchRequest("a"), 5_000);
    const produced = connection.produce(produceFrame("b", [Buffer.from("1")]), 5_000);
    const [fetchFrame, produceFrameSeen] = await listener.received(2);
    call.cancel();
    const error = await rejection(call.response);
    expect(error).toBeInstanceOf(ConnectionError);
    listener.answerFetch(fetchFrame!, fetchAnswer(fetchFrame!, Buffer.from("late")));
    listener.answerProduce(produceFrameSeen!, produceAnswer(produceFrameSeen!, 5));
    expect((await produced)?.topics[0]?.partitions[0]?.baseOffset).toBe(5);
    expect(listener.connections).toBe(1);
  });

  it("resolves acks=0 once written, ignoring the broker's answer to it", async () => {
    const { listener, connection } = await setup();
    let encoded = 0;
    expect(await connection.produce(produceFrame("a", [Buffer.from("1")], 0, () => encoded++), 5_000)).toBeUndefined();
    expect(encoded).toBe(1);
    const [zero] = await listener.received(1);
    listener.answerProduce(zero!, produceAnswer(zero!, 1));
    const next = connection.produce(produceFrame("b", [Buffer.from("2")]), 5_000);
    const frames = await listener.received(2);
    listener.answerProduce(frames[1]!, produceAnswer(frames[1]!, 2));
    expect((await next)?.topics[0]).toMatchObject({ topic: "b", partitions: [{ baseOffset: 2 }] });
  });

  it("rejects acks=0 requests whose write a dropped socket cut short (retriable), still releasing their batches", async () => {
    const { listener, connection } = await setup();
    listener.pauseReading = true;
    let encoded = 0;
    const big = connection.produce(produceFrame("a", [Buffer.alloc(32 << 20)], 0, () => encoded++), 5_000);
    const small = connection.produce(produceFrame("b", [Buffer.from("1")], 0, () => encoded++), 5_000);
    // Connected: the writes are now in the socket, stuck behind a peer that does not read.
    await listener.accepted(1);
    await new Promise((resolve) => setImmediate(resolve));
    connection.reset("poisoned");
    for (const error of [await rejection(big), await rejection(small)]) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.retriable).toBe(true);
    }
    expect(encoded).toBe(2);
  });

  it("calls onEncoded only once the socket wrote the batches: reusing them after it changes nothing sent", async () => {
    const { listener, connection } = await setup();
    listener.pauseReading = true;
    // Far more than loopback socket buffers hold while the peer does not read, so the write
    // stays in the client's socket until the listener resumes.
    const half = 16 << 20;
    const batches = [Buffer.alloc(half, 1), Buffer.alloc(half, 2)];
    let encoded = false;
    const written = new Promise<void>((resolve) => {
      const onEncoded = (): void => {
        encoded = true;
        for (const batch of batches) batch.fill(0xff); // what the producer's buffer reuse does
        resolve();
      };
      void connection.produce(produceFrame("big", batches, -1, onEncoded), 60_000).catch(() => undefined);
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(encoded).toBe(false);
    listener.resumeReading();
    const [[request]] = await Promise.all([listener.received(1), written]);
    const records = service.Produce.requestDeserialize(request!.payload).topics[0]!.partitions[0]!.records;
    expect(records.length).toBe(2 * half);
    expect(records.subarray(0, half).every((b) => b === 1)).toBe(true);
    expect(records.subarray(half).every((b) => b === 2)).toBe(true);
  });

  it("fails a broker HELLO of another version with a retriable ConnectionError caused by UNSUPPORTED_VERSION", async () => {
    const { listener, connection } = await setup();
    listener.helloReply = { version: DATA_PROTOCOL_VERSION + 1 };
    const error = await rejection(connection.fetch(fetchRequest("a"), 5_000).response);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.retriable).toBe(true);
    expect((error.cause as SluiceError).errorName).toBe("UNSUPPORTED_VERSION");
    expect(connection.connectFailedAtMs).toBeDefined();
  });

  it("fails a handshake the broker refuses with an ERROR frame, or a port that is not a data listener", async () => {
    const { listener, connection } = await setup();
    listener.helloReply = { refuse: new SluiceError("UNSUPPORTED_VERSION", "this broker speaks version 0") };
    const refused = await rejection(connection.fetch(fetchRequest("a"), 5_000).response);
    expect(refused).toBeInstanceOf(ConnectionError);
    expect((refused.cause as SluiceError).errorName).toBe("UNSUPPORTED_VERSION");

    listener.helloReply = { raw: Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n") };
    const garbage = await rejection(connection.fetch(fetchRequest("b"), 5_000).response);
    expect(garbage).toBeInstanceOf(ConnectionError);
    expect((garbage.cause as SluiceError).errorName).toBe("INVALID_REQUEST");
    expect(connection.connectFailedAtMs).toBeDefined();
  });

  it("gives up on a listener that never answers HELLO after the connect timeout", async () => {
    listener = await FakeDataListener.start();
    listener.helloReply = "silent";
    const connection = new DataConnection({ host: "127.0.0.1", port: listener.port, connectTimeoutMs: 20 });
    opened.push(connection);
    const error = await rejection(connection.fetch(fetchRequest("a"), 60_000).response);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain("no HELLO");
    expect(connection.connectFailedAtMs).toBeDefined();
  });

  it("fails a refused connection with a retriable ConnectionError", async () => {
    const port = await closedPort();
    const connection = new DataConnection({ host: "127.0.0.1", port });
    opened.push(connection);
    const error = await rejection(connection.produce(produceFrame("a", [Buffer.from("1")]), 5_000));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.retriable).toBe(true);
    expect(connection.connectFailedAtMs).toBeDefined();
  });

  it("reset fails what is in flight (retriable) and reconnects; close fails it with ClientClosedError, and later requests too", async () => {
    const { listener, connection } = await setup();
    const a = connection.fetch(fetchRequest("a"), 5_000).response;
    await listener.received(1);
    connection.reset("partition poisoned");
    const reset = await rejection(a);
    expect(reset).toBeInstanceOf(ConnectionError);
    expect(reset.message).toContain("partition poisoned");

    const b = connection.fetch(fetchRequest("b"), 5_000).response;
    const frames = await listener.received(2);
    expect(frames[1]!.connection).toBe(2);
    connection.close();
    expect(await rejection(b)).toBeInstanceOf(ClientClosedError);
    let encoded = 0;
    expect(await rejection(connection.produce(produceFrame("c", [Buffer.from("1")], -1, () => encoded++), 5_000))).toBeInstanceOf(ClientClosedError);
    expect(encoded).toBe(1); // never written, so the producer may reuse the batch
    expect(connection.isClosed).toBe(true);
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("ClusterClient.dataConnection", () => {
  function metadata(dataPort: number): api.MetadataResponse {
    return { clusterId: "c", controllerId: 1, brokers: [{ brokerId: 1, host: "127.0.0.1", port: 9092, rack: "", dataPort }], topics: [] };
  }

  it("uses a broker's advertised data port, and gRPC (undefined) without one or with transport \"grpc\"", () => {
    const cluster = new ClusterClient({ bootstrap: "127.0.0.1:9092" });
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined(); // no metadata yet
    cluster.metadata.update(metadata(0), 0, "127.0.0.1");
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();
    cluster.metadata.update(metadata(9093), 0, "127.0.0.1");
    const data = cluster.dataConnection("127.0.0.1:9092");
    expect(data?.address).toBe("127.0.0.1:9093");
    expect(cluster.dataConnection("127.0.0.1:9092")).toBe(data);
    cluster.close();
    expect(data?.isClosed).toBe(true);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();

    const grpcOnly = new ClusterClient({ bootstrap: "127.0.0.1:9092", transport: "grpc" });
    grpcOnly.metadata.update(metadata(9093), 0, "127.0.0.1");
    expect(grpcOnly.dataConnection("127.0.0.1:9092")).toBeUndefined();
    grpcOnly.close();
    expect(() => new ClusterClient({ bootstrap: "127.0.0.1:9092", transport: "tcp" as "grpc" })).toThrow(/transport/);
  });

  it("falls back to gRPC after a failed handshake and uses the listener again once a probe, DATA_LISTENER_RETRY_AFTER_MS later, succeeds", async () => {
    const time = new ManualTime();
    listener = await FakeDataListener.start();
    listener.helloReply = { version: DATA_PROTOCOL_VERSION + 1 };
    const cluster = new ClusterClient({ bootstrap: "127.0.0.1:9092", clock: time, scheduler: systemScheduler });
    cluster.metadata.update(metadata(listener.port), time.now(), "127.0.0.1");
    const data = cluster.dataConnection("127.0.0.1:9092")!;
    expect(await rejection(data.fetch(fetchRequest("a"), 5_000).response)).toBeInstanceOf(ConnectionError);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();
    time.advance(DATA_LISTENER_RETRY_AFTER_MS - 1);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();
    expect(listener.connections).toBe(1);

    // Due for a probe, which fails: gRPC for another period.
    time.advance(1);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();
    expect(await data.probe()).toBe(false);
    expect(listener.connections).toBe(2);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();

    // The listener is fixed; the next probe succeeds and requests use it again.
    listener.helloReply = "hello";
    time.advance(DATA_LISTENER_RETRY_AFTER_MS);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBeUndefined();
    expect(await data.probe()).toBe(true);
    expect(listener.connections).toBe(3);
    expect(cluster.dataConnection("127.0.0.1:9092")).toBe(data);
    expect(listener.frames.filter((f) => f.connection > 1)).toEqual([]); // probes carry no requests
    cluster.close();
  });

  it("replaces the connection when the broker advertises another data port, failing the old one's requests retriably", async () => {
    listener = await FakeDataListener.start();
    const cluster = new ClusterClient({ bootstrap: "127.0.0.1:9092" });
    cluster.metadata.update(metadata(listener.port), 0, "127.0.0.1");
    const old = cluster.dataConnection("127.0.0.1:9092")!;
    const inFlight = old.fetch(fetchRequest("a"), 5_000).response;
    await listener.received(1);
    cluster.metadata.update(metadata(listener.port + 1), 1, "127.0.0.1");
    const replaced = cluster.dataConnection("127.0.0.1:9092");
    expect(replaced).not.toBe(old);
    expect(replaced?.address).toBe(`127.0.0.1:${listener.port + 1}`);
    const error = await rejection(inFlight);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.retriable).toBe(true);
    cluster.close();
  });
});
