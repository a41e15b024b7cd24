// Proves DataProduceTransport's contract: requests go to the data listener while the cluster
// client offers one and to the gRPC transport (a real ordered ProduceStream to the in-process
// FaultBroker) otherwise; in ordered mode it never leaves a route with requests in flight, so a
// partition's pipelined sends stay on one connection; reset drops the data socket (in-flight
// requests fail retriably, the next send reconnects); close fails what it still waits for.
import { afterEach, describe, expect, it } from "vitest";
import { encodeRecordBatch, FrameKind, loadProtos, SluiceError, type api } from "@sluice/protocol";
import { BrokerConnection } from "./connection.js";
import { DataConnection } from "./data-connection.js";
import { DataProduceTransport } from "./data-produce-transport.js";
import { ConnectionError } from "./errors.js";
import type { ProduceFrame } from "./produce-request.js";
import { StreamProduceTransport } from "./produce-transport.js";
import { systemScheduler } from "./runtime.js";
import { FakeDataListener, type ReceivedFrame } from "./testing/fake-data-listener.js";
import { FaultBroker } from "./testing/fault-broker.js";

const service = loadProtos().sluice.Sluice.service;

interface Fixture {
  readonly listener: FakeDataListener;
  readonly broker: FaultBroker;
  readonly transport: DataProduceTransport;
  /** What `dataConnection()` answers: flip to play the cluster client's fallback. */
  readonly route: { useData: boolean };
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(ordered = true): Promise<Fixture> {
  const listener = await FakeDataListener.start();
  const broker = await FaultBroker.start({ t: { partitions: 2 } });
  const grpc = new BrokerConnection(broker.bootstrap);
  const data = new DataConnection({ host: "127.0.0.1", port: listener.port });
  const fallback = new StreamProduceTransport(grpc, systemScheduler, ordered);
  const route = { useData: true };
  const transport = new DataProduceTransport(broker.bootstrap, () => (route.useData ? data : undefined), fallback, ordered);
  cleanups.push(() => listener.stop(), () => broker.stop(), () => grpc.close(), () => data.close(), () => transport.close());
  return { listener, broker, transport, route };
}

function request(partition: number, value: string): ProduceFrame {
  const batch = encodeRecordBatch({ records: [{ value: Buffer.from(value) }], now: 1_700_000_000_000 });
  return { correlationId: 0, acks: -1, timeoutMs: 5_000, topics: [{ topic: "t", partitions: [{ partition, batches: [batch] }] }] };
}

function answer(listener: FakeDataListener, frame: ReceivedFrame, baseOffset: number): void {
  const decoded = service.Produce.requestDeserialize(frame.payload);
  const response: api.ProduceResponseInput = { topics: decoded.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, baseOffset })) })) };
  listener.answerProduce(frame, response);
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe("DataProduceTransport", () => {
  it("sends to the data listener when there is one, pipelining, and to gRPC when the cluster offers none", async () => {
    const f = await setup();
    expect(f.transport.usesDataListener).toBe(true);
    expect(f.transport.pipelines).toBe(true);
    const first = f.transport.send(request(0, "a"), 5_000);
    const second = f.transport.send(request(0, "b"), 5_000);
    const frames = await f.listener.received(2);
    expect(frames.map((fr) => fr.kind)).toEqual([FrameKind.PRODUCE, FrameKind.PRODUCE]);
    answer(f.listener, frames[1]!, 11);
    answer(f.listener, frames[0]!, 10);
    expect((await first)?.topics[0]?.partitions[0]?.baseOffset).toBe(10);
    expect((await second)?.topics[0]?.partitions[0]?.baseOffset).toBe(11);
    expect(f.broker.produceRequests).toHaveLength(0);

    f.route.useData = false;
    expect(f.transport.usesDataListener).toBe(false);
    expect(f.transport.pipelines).toBe(true); // an ordered ProduceStream pipelines too
    const viaGrpc = await f.transport.send(request(1, "c"), 5_000);
    expect(viaGrpc?.topics[0]?.partitions[0]?.error).toBeNull();
    expect(f.broker.records("t", 1).map((r) => r.value)).toEqual(["c"]);
    expect(f.listener.frames).toHaveLength(2);
  });

  it("in ordered mode stays on a route while it has requests in flight, then switches", async () => {
    const f = await setup();
    f.route.useData = false;
    // Two pipelined sends of one partition on the gRPC stream; the data listener appears meanwhile.
    const first = f.transport.send(request(0, "a"), 5_000);
    f.route.useData = true;
    expect(f.transport.usesDataListener).toBe(false);
    const second = f.transport.send(request(0, "b"), 5_000);
    await Promise.all([first, second]);
    expect(f.broker.records("t", 0).map((r) => r.value)).toEqual(["a", "b"]);
    expect(f.listener.frames).toHaveLength(0);
    // Nothing in flight on gRPC any more: the next send takes the data listener.
    expect(f.transport.usesDataListener).toBe(true);
    const third = f.transport.send(request(0, "c"), 5_000);
    const [frame] = await f.listener.received(1);
    answer(f.listener, frame!, 2);
    expect((await third)?.topics[0]?.partitions[0]?.baseOffset).toBe(2);
  });

  it("without pipelining (not ordered) switches routes at once", async () => {
    const f = await setup(false);
    f.route.useData = false;
    const first = f.transport.send(request(0, "a"), 5_000);
    f.route.useData = true;
    const second = f.transport.send(request(1, "b"), 5_000);
    const [frame] = await f.listener.received(1);
    answer(f.listener, frame!, 0);
    await Promise.all([first, second]);
    expect(f.broker.records("t", 0).map((r) => r.value)).toEqual(["a"]);
    expect(f.broker.records("t", 1)).toEqual([]);
  });

  it("reset drops the data socket, failing its requests retriably; the next send goes on a new socket", async () => {
    const f = await setup();
    const inFlight = f.transport.send(request(0, "a"), 5_000);
    await f.listener.received(1);
    f.transport.reset("t-0 failed on this ordered connection");
    const error = await rejection(inFlight);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.retriable).toBe(true);
    const retry = f.transport.send(request(0, "a"), 5_000);
    const frames = await f.listener.received(2);
    expect(frames[1]!.connection).toBe(2);
    answer(f.listener, frames[1]!, 0);
    expect((await retry)?.topics[0]?.partitions[0]?.baseOffset).toBe(0);
  });

  it("close fails the requests it still waits for and refuses new ones", async () => {
    const f = await setup();
    const inFlight = f.transport.send(request(0, "a"), 5_000);
    await f.listener.received(1);
    f.transport.close();
    expect(await rejection(inFlight)).toBeInstanceOf(ConnectionError);
    expect(await rejection(f.transport.send(request(0, "b"), 5_000))).toBeInstanceOf(ConnectionError);
  });
});
