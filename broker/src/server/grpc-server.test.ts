// Proves the served gRPC surface behaves over a real connection: ProduceStream pipelines requests
// and answers each by correlation id in per-partition order, keeps going past per-partition
// errors, and ends with UNAVAILABLE when the broker drains; health Watch reports NOT_SERVING
// before the stream ends at shutdown; in ordered mode a partition that failed stays failed for
// the rest of its stream (and only that stream).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeRecordBatch, fromErrorInfo, grpcChannelOptions, loadProtos, type api } from "@sluice/protocol";
import { startBroker, type Broker } from "../broker.js";
import { resolveBrokerConfig } from "../config.js";

let dir: string;
let broker: Broker;
let clients: grpc.Client[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-grpc-"));
  const config = resolveBrokerConfig({ flags: { "data-dir": dir, "log-level": "silent", port: "0", "metrics-port": "-1" }, env: {}, file: {} });
  broker = await startBroker(config);
  clients = [];
});

afterEach(async () => {
  for (const c of clients) c.close();
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

function sluiceClient(): api.SluiceClient {
  const client = new (loadProtos().sluice.Sluice)(broker.bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
  clients.push(client);
  return client;
}

function adminClient(): api.AdminClient {
  const client = new (loadProtos().sluice.Admin)(broker.bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
  clients.push(client);
  return client;
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const admin = adminClient();
  const response = await new Promise<api.CreateTopicsResponse>((resolve, reject) =>
    admin.CreateTopics({ topics: [{ name, partitions, replicationFactor: 1 }] }, (error, value) => (error !== null || value === undefined ? reject(error) : resolve(value))),
  );
  expect(fromErrorInfo(response.topics[0]?.error)).toBeNull();
}

function batch(value: string): Buffer {
  return encodeRecordBatch({ records: [{ value: Buffer.from(value), timestamp: 1 }] });
}

describe("ProduceStream", () => {
  it("answers pipelined requests by correlation id, in order within each partition", async () => {
    await createTopic("s", 2);
    const call = sluiceClient().ProduceStream();
    const answers: api.ProduceResponse[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (r: api.ProduceResponse) => answers.push(r));
      call.on("end", resolve);
      call.on("error", reject);
    });
    for (let i = 1; i <= 60; i++) {
      call.write({ correlationId: i, acks: -1, topics: [{ topic: "s", partitions: [{ partition: i % 2, records: batch(`r${i}`) }] }] });
    }
    call.end();
    await ended;
    expect(answers.map((a) => a.correlationId).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    for (const partition of [0, 1]) {
      const offsets = answers.map((a) => a.topics[0]?.partitions[0]).filter((p) => p?.partition === partition).map((p) => p?.baseOffset);
      expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i));
    }
  });

  it("keeps the stream going past per-partition errors", async () => {
    await createTopic("s", 1);
    const call = sluiceClient().ProduceStream();
    const answers = new Map<number, api.ProduceResponse>();
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (r: api.ProduceResponse) => answers.set(r.correlationId, r));
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write({ correlationId: 1, acks: -1, topics: [{ topic: "nope", partitions: [{ partition: 0, records: batch("x") }] }] });
    call.write({ correlationId: 2, acks: 9, topics: [{ topic: "s", partitions: [{ partition: 0, records: batch("x") }] }] });
    call.write({ correlationId: 3, acks: -1, topics: [{ topic: "s", partitions: [{ partition: 0, records: batch("ok") }] }] });
    call.end();
    await ended;
    expect(fromErrorInfo(answers.get(1)?.topics[0]?.partitions[0]?.error)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    expect(fromErrorInfo(answers.get(2)?.topics[0]?.partitions[0]?.error)?.errorName).toBe("INVALID_REQUIRED_ACKS");
    expect(answers.get(3)?.topics[0]?.partitions[0]).toMatchObject({ baseOffset: 0, error: null });
  });

  it("in ordered mode, fails a partition in every later request of the stream once it failed; others and new streams go on", async () => {
    await createTopic("s", 2);
    const ordered = new grpc.Metadata();
    ordered.set("sluice-ordered", "1");
    const run = async (requests: api.ProduceRequest[]): Promise<Map<number, api.ProduceResponse>> => {
      const call = sluiceClient().ProduceStream(ordered);
      const answers = new Map<number, api.ProduceResponse>();
      const ended = new Promise<void>((resolve, reject) => {
        call.on("data", (r: api.ProduceResponse) => answers.set(r.correlationId, r));
        call.on("end", resolve);
        call.on("error", reject);
      });
      for (const request of requests) call.write(request);
      call.end();
      await ended;
      return answers;
    };
    const corrupt = batch("bad");
    corrupt[corrupt.length - 1]! ^= 0xff; // the CRC no longer matches
    const requests: api.ProduceRequest[] = [
      { correlationId: 1, acks: -1, timeoutMs: 0, topics: [{ topic: "s", partitions: [{ partition: 0, records: batch("a0") }, { partition: 1, records: batch("b0") }] }] },
      { correlationId: 2, acks: -1, timeoutMs: 0, topics: [{ topic: "s", partitions: [{ partition: 0, records: corrupt }, { partition: 1, records: batch("b1") }] }] },
      ...Array.from({ length: 8 }, (_, i) => ({
        correlationId: 3 + i,
        acks: -1,
        timeoutMs: 0,
        topics: [{ topic: "s", partitions: [{ partition: 0, records: batch(`a${i + 1}`) }, { partition: 1, records: batch(`b${i + 2}`) }] }],
      })),
    ];
    const answers = await run(requests);
    const result = (id: number, partition: number): api.PartitionProduceResult | undefined => answers.get(id)?.topics[0]?.partitions.find((p) => p.partition === partition);
    expect(result(1, 0)).toMatchObject({ baseOffset: 0, error: null });
    expect(fromErrorInfo(result(2, 0)?.error)?.errorName).toBe("CORRUPT_MESSAGE");
    for (let id = 3; id <= 10; id++) {
      expect(fromErrorInfo(result(id, 0)?.error)?.errorName).toBe("NETWORK_EXCEPTION");
      expect(fromErrorInfo(result(id, 0)?.error)?.retriable).toBe(true);
    }
    // Partition 1 is untouched by partition 0's failure: every request appended, in order.
    expect(Array.from({ length: 10 }, (_, i) => result(i + 1, 1)?.baseOffset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // A new ordered stream starts clean: partition 0 appends right after its one good record.
    const again = await run([{ correlationId: 1, acks: -1, timeoutMs: 0, topics: [{ topic: "s", partitions: [{ partition: 0, records: batch("a1") }] }] }]);
    expect(again.get(1)?.topics[0]?.partitions[0]).toMatchObject({ baseOffset: 1, error: null });
  });

  it("ends open streams with UNAVAILABLE when the broker shuts down", async () => {
    await createTopic("s", 1);
    const call = sluiceClient().ProduceStream();
    const answered: number[] = [];
    const status = new Promise<grpc.ServiceError>((resolve) => {
      call.on("data", (r: api.ProduceResponse) => answered.push(r.correlationId));
      call.on("error", resolve);
    });
    call.write({ correlationId: 1, acks: -1, topics: [{ topic: "s", partitions: [{ partition: 0, records: batch("before") }] }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await broker.close();
    const error = await status;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(answered).toEqual([1]);
  });
});

describe("health", () => {
  it("streams SERVING, then NOT_SERVING at shutdown, then ends", async () => {
    const health = new (loadProtos().health.Health)(broker.bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
    clients.push(health);
    const call = health.Watch({ service: "" });
    const statuses: string[] = [];
    const ended = new Promise<void>((resolve) => {
      call.on("data", (m: api.HealthCheckResponse) => {
        statuses.push(m.status);
        if (statuses.length === 1) void broker.close();
      });
      call.on("end", resolve);
      call.on("error", () => resolve());
    });
    await ended;
    expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
  });
});
