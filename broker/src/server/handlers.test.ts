// Proves the RPC handlers, run against a real broker core (metadata store and storage engine in a
// temp dir), answer good requests correctly and turn every kind of bad request into the right
// typed per-partition error (or gRPC status), without writing anything they should not.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AssertionError,
  CompressionCodec,
  decodeRecordBatches,
  encodeRecordBatch,
  fromErrorInfo,
  SluiceError,
  type api,
} from "@sluice/protocol";
import { openBrokerCore, type BrokerCore } from "../broker.js";
import { resolveBrokerConfig } from "../config.js";
import { handleAlterConfigs } from "./handlers/alter-configs.js";
import { handleCreatePartitions } from "./handlers/create-partitions.js";
import { handleCreateTopics } from "./handlers/create-topics.js";
import { handleDeleteTopics } from "./handlers/delete-topics.js";
import { handleDescribeCluster } from "./handlers/describe-cluster.js";
import { handleDescribeConfigs } from "./handlers/describe-configs.js";
import { handleDescribeTopics } from "./handlers/describe-topics.js";
import { handleFetch } from "./handlers/fetch.js";
import { handleHealthCheck } from "./handlers/health-check.js";
import { handleListOffsets } from "./handlers/list-offsets.js";
import { handleListTopics } from "./handlers/list-topics.js";
import { handleMetadata } from "./handlers/metadata.js";
import { handleProduce } from "./handlers/produce.js";
import { buildServices, rpcRegistry, statusOf } from "./registry.js";
import { RequestError, ServiceNotFoundError } from "./request-checks.js";

const NOW = 1_700_000_000_000;
let dir: string;
let core: BrokerCore;
const never = new AbortController().signal;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-handlers-"));
  const config = resolveBrokerConfig({ flags: { "data-dir": dir, "log-level": "silent", port: "0" }, env: {}, file: {} });
  core = await openBrokerCore(config, { nowMs: () => NOW });
  core.ctx.health.set("SERVING");
});

afterEach(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

function batch(values: readonly string[], options: { compression?: 0 | 1 | 2 | 3 | 4; timestamp?: number } = {}): Buffer {
  return encodeRecordBatch({
    records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp: options.timestamp ?? NOW - 1000 + i })),
    compression: options.compression ?? CompressionCodec.none,
  });
}

async function createTopic(name: string, partitions = 2, configs: Record<string, string> = {}): Promise<void> {
  const response = await handleCreateTopics(core.ctx, { topics: [{ name, partitions, replicationFactor: 1, configs }], validateOnly: false });
  expect(fromErrorInfo(response.topics?.[0]?.error as api.ErrorInfo | null)).toBeNull();
}

function request(topic: string, partition: number, records: Buffer, acks = -1, timeoutMs = 0): api.ProduceRequest {
  return { correlationId: 7, acks, timeoutMs, topics: [{ topic, partitions: [{ partition, records }] }] };
}

interface PartitionAnswer {
  readonly partition: number;
  readonly error: SluiceError | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
}

async function produce(req: api.ProduceRequest): Promise<PartitionAnswer[]> {
  const response = await handleProduce(core.ctx, req);
  expect(response.correlationId).toBe(req.correlationId);
  return (response.topics ?? []).flatMap((t) =>
    (t.partitions ?? []).map((p) => ({
      partition: p.partition ?? -1,
      error: fromErrorInfo(p.error as api.ErrorInfo | null),
      baseOffset: Number(p.baseOffset),
      logAppendTimeMs: Number(p.logAppendTimeMs),
    })),
  );
}

function fetchRequest(topic: string, partitions: ReadonlyArray<{ partition: number; offset: number; max?: number }>, options: Partial<api.FetchRequest> = {}): api.FetchRequest {
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 0,
    ...options,
    topics: [{ topic, partitions: partitions.map((p) => ({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: p.max ?? 0 })) }],
  };
}

interface FetchAnswer {
  readonly partition: number;
  readonly error: SluiceError | null;
  readonly highWatermark: number;
  readonly records: Buffer;
}

async function fetch(req: api.FetchRequest, signal = never): Promise<FetchAnswer[]> {
  const response = await handleFetch(core.ctx, req, signal);
  return (response.topics ?? []).flatMap((t) =>
    (t.partitions ?? []).map((p) => ({
      partition: p.partition ?? -1,
      error: fromErrorInfo(p.error as api.ErrorInfo | null),
      highWatermark: Number(p.highWatermark),
      records: Buffer.from(p.records as Buffer),
    })),
  );
}

function values(records: Buffer): string[] {
  return decodeRecordBatches(records).flatMap((b) => b.records.map((r) => r.value?.toString() ?? "null"));
}

describe("produce", () => {
  it("appends and answers with offsets per partition; acks=1 and acks=0 too", async () => {
    await createTopic("t");
    expect(await produce(request("t", 0, batch(["a", "b"])))).toMatchObject([{ partition: 0, error: null, baseOffset: 0, logAppendTimeMs: -1 }]);
    expect(await produce(request("t", 0, batch(["c"]), 1))).toMatchObject([{ error: null, baseOffset: 2 }]);
    // acks=0: no offsets, no errors in the answer — but the records are stored.
    expect(await produce(request("t", 0, batch(["d"]), 0))).toEqual([{ partition: 0, error: null, baseOffset: -1, logAppendTimeMs: -1 }]);
    const [answer] = await fetch(fetchRequest("t", [{ partition: 0, offset: 0 }]));
    expect(answer?.highWatermark).toBe(4);
    expect(values(answer!.records)).toEqual(["a", "b", "c", "d"]);
  });

  it("refuses unknown acks for every partition and writes nothing", async () => {
    await createTopic("t");
    const answers = await produce({
      correlationId: 1,
      acks: 2,
      timeoutMs: 0,
      topics: [{ topic: "t", partitions: [{ partition: 0, records: batch(["a"]) }, { partition: 1, records: batch(["b"]) }] }],
    });
    expect(answers.map((a) => a.error?.errorName)).toEqual(["INVALID_REQUIRED_ACKS", "INVALID_REQUIRED_ACKS"]);
    const fetched = await fetch(fetchRequest("t", [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }]));
    expect(fetched.map((f) => f.highWatermark)).toEqual([0, 0]);
  });

  it("gives each partition its own error: one bad partition does not fail the others", async () => {
    await createTopic("t");
    const corrupt = batch(["x"]);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    const answers = await produce({
      correlationId: 2,
      acks: -1,
      timeoutMs: 0,
      topics: [
        { topic: "t", partitions: [{ partition: 0, records: corrupt }, { partition: 1, records: batch(["fine"]) }, { partition: 9, records: batch(["x"]) }, { partition: -1, records: batch(["x"]) }] },
        { topic: "missing", partitions: [{ partition: 0, records: batch(["x"]) }] },
        { topic: "bad/name", partitions: [{ partition: 0, records: batch(["x"]) }] },
        { topic: "t", partitions: [{ partition: 0, records: Buffer.alloc(0) }] },
      ],
    });
    // Answers are grouped by topic (both "t" entries under one), partitions in request order.
    expect(answers.map((a) => a.error?.errorName ?? "NONE")).toEqual([
      "CORRUPT_MESSAGE",
      "NONE",
      "UNKNOWN_TOPIC_OR_PARTITION",
      "INVALID_REQUEST",
      "CORRUPT_MESSAGE",
      "UNKNOWN_TOPIC_OR_PARTITION",
      "INVALID_TOPIC_EXCEPTION",
    ]);
    expect(answers[1]?.baseOffset).toBe(0);
    const [p0] = await fetch(fetchRequest("t", [{ partition: 0, offset: 0 }]));
    expect(p0?.highWatermark).toBe(0);
  });

  it("refuses a batch over max.message.bytes and writes nothing", async () => {
    await createTopic("small", 1, { "max.message.bytes": "1024" });
    const [answer] = await produce(request("small", 0, batch(["z".repeat(2000)])));
    expect(answer?.error).toBeInstanceOf(SluiceError);
    expect(answer?.error?.errorName).toBe("MESSAGE_TOO_LARGE");
    expect((await fetch(fetchRequest("small", [{ partition: 0, offset: 0 }])))[0]?.highWatermark).toBe(0);
  });

  it("answers NOT_ENOUGH_REPLICAS to acks=all when min.insync.replicas exceeds the one broker, but takes acks=1", async () => {
    await createTopic("strict", 1, { "min.insync.replicas": "2" });
    expect((await produce(request("strict", 0, batch(["a"]), -1)))[0]?.error?.errorName).toBe("NOT_ENOUGH_REPLICAS");
    expect((await produce(request("strict", 0, batch(["a"]), 1)))[0]).toMatchObject({ error: null, baseOffset: 0 });
  });

  it("re-compresses batches when the topic forces a codec, keeping every record", async () => {
    await createTopic("zstd", 1, { "compression.type": "zstd" });
    await produce(request("zstd", 0, batch(["one", "two", "three"], { compression: CompressionCodec.gzip })));
    const [answer] = await fetch(fetchRequest("zstd", [{ partition: 0, offset: 0 }]));
    const [stored] = decodeRecordBatches(answer!.records);
    expect(stored?.compression).toBe(CompressionCodec.zstd);
    expect(stored?.records.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.timestamp])).toEqual([
      [0, "k0", "one", NOW - 1000],
      [1, "k1", "two", NOW - 999],
      [2, "k2", "three", NOW - 998],
    ]);
  });

  it("stamps LogAppendTime topics with the broker's clock", async () => {
    await createTopic("appendtime", 1, { "message.timestamp.type": "LogAppendTime" });
    const [answer] = await produce(request("appendtime", 0, batch(["a", "b"], { timestamp: 5 })));
    expect(answer).toMatchObject({ error: null, logAppendTimeMs: NOW });
    const [fetched] = await fetch(fetchRequest("appendtime", [{ partition: 0, offset: 0 }]));
    const [stored] = decodeRecordBatches(fetched!.records);
    expect(stored?.timestampType).toBe("log-append");
    expect(stored?.records.map((r) => r.timestamp)).toEqual([NOW, NOW]);
  });
});

describe("fetch", () => {
  it("answers OFFSET_OUT_OF_RANGE beyond the end and below zero, INVALID_FETCH_SIZE for negative budgets", async () => {
    await createTopic("t");
    await produce(request("t", 0, batch(["a"])));
    const answers = await fetch(fetchRequest("t", [{ partition: 0, offset: 2 }, { partition: 0, offset: -1 }, { partition: 1, offset: 0, max: -5 }, { partition: 0, offset: 1 }]));
    expect(answers.map((a) => a.error?.errorName ?? "NONE")).toEqual(["OFFSET_OUT_OF_RANGE", "OFFSET_OUT_OF_RANGE", "INVALID_FETCH_SIZE", "NONE"]);
    expect(answers[3]?.records.length).toBe(0); // at the high watermark: nothing yet, not an error
    await expect(handleFetch(core.ctx, fetchRequest("t", [], { maxBytes: -1 }), never)).rejects.toBeInstanceOf(RequestError);
  });

  it("keeps to the response budget except for the first batch", async () => {
    await createTopic("t");
    await produce(request("t", 0, batch(["p".repeat(3000)])));
    await produce(request("t", 1, batch(["q".repeat(3000)])));
    const answers = await fetch(fetchRequest("t", [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }], { maxBytes: 100 }));
    expect(values(answers[0]!.records)).toEqual(["p".repeat(3000)]); // over budget, but first: returned whole
    expect(answers[1]?.records.length).toBe(0);
    expect(answers[1]?.highWatermark).toBe(1);
  });

  it("long-polls until an append brings min_bytes, without polling", async () => {
    await createTopic("t");
    let answered = false;
    const waiting = fetch(fetchRequest("t", [{ partition: 0, offset: 0 }], { minBytes: 1, maxWaitMs: 30_000 })).then((a) => {
      answered = true;
      return a;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    expect(await core.ctx.metrics.fetchWaiters.get()).toMatchObject({ values: [{ value: 1 }] });
    await produce(request("t", 0, batch(["wake up"])));
    const [answer] = await waiting;
    expect(values(answer!.records)).toEqual(["wake up"]);
    expect(await core.ctx.metrics.fetchWaiters.get()).toMatchObject({ values: [{ value: 0 }] });
  });

  it("answers an expired long poll with nothing, and a draining broker's long poll at once", async () => {
    await createTopic("t");
    const [expired] = await fetch(fetchRequest("t", [{ partition: 0, offset: 0 }], { minBytes: 1, maxWaitMs: 20 }));
    expect(expired).toMatchObject({ error: null, highWatermark: 0 });
    const waiting = fetch(fetchRequest("t", [{ partition: 0, offset: 0 }], { minBytes: 1, maxWaitMs: 30_000 }));
    core.drain();
    expect((await waiting)[0]?.records.length).toBe(0); // within the test timeout, far below 30 s
    expect(core.ctx.health.status).toBe("NOT_SERVING");
  });

  it("wakes long polls on a deleted topic with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    await createTopic("doomed");
    const waiting = fetch(fetchRequest("doomed", [{ partition: 0, offset: 0 }], { minBytes: 1, maxWaitMs: 30_000 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const deleted = await handleDeleteTopics(core.ctx, { names: ["doomed"] });
    expect(deleted.topics?.[0]?.error).toBeUndefined();
    expect((await waiting)[0]?.error?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    expect((await produce(request("doomed", 0, batch(["x"]))))[0]?.error?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("stops waiting when the caller cancels", async () => {
    await createTopic("t");
    const cancel = new AbortController();
    const waiting = fetch(fetchRequest("t", [{ partition: 0, offset: 0 }], { minBytes: 1, maxWaitMs: 30_000 }), cancel.signal);
    cancel.abort();
    expect((await waiting)[0]?.records.length).toBe(0);
  });
});

describe("list offsets and metadata", () => {
  it("finds earliest, latest and by-timestamp offsets; -1 when nothing is that new", async () => {
    await createTopic("t", 1);
    await produce(request("t", 0, batch(["a", "b"], { timestamp: 1000 })));
    await produce(request("t", 0, batch(["c"], { timestamp: 5000 })));
    const response = await handleListOffsets(core.ctx, {
      topics: [{ topic: "t", partitions: [-2, -1, 3000, 99_999, -9].map((timestamp) => ({ partition: 0, timestamp })) }, { topic: "nope", partitions: [{ partition: 0, timestamp: -1 }] }],
    });
    const [t, nope] = response.topics ?? [];
    expect(t?.partitions?.map((p) => [p.offset, p.timestamp, fromErrorInfo(p.error as api.ErrorInfo | null)?.errorName ?? "NONE"])).toEqual([
      [0, -1, "NONE"],
      [3, -1, "NONE"],
      [2, 5000, "NONE"],
      [-1, -1, "NONE"],
      [-1, -1, "INVALID_REQUEST"],
    ]);
    expect(fromErrorInfo(nope?.partitions?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("finds the exact record inside a batch by timestamp, not just the batch", async () => {
    await createTopic("t", 1);
    const records = encodeRecordBatch({ records: [1000, 2000, 3000].map((timestamp) => ({ value: Buffer.from(String(timestamp)), timestamp })) });
    await produce(request("t", 0, records));
    const response = await handleListOffsets(core.ctx, { topics: [{ topic: "t", partitions: [{ partition: 0, timestamp: 2500 }, { partition: 0, timestamp: 2000 }] }] });
    expect(response.topics?.[0]?.partitions?.map((p) => [p.offset, p.timestamp])).toEqual([
      [2, 3000],
      [1, 2000],
    ]);
  });

  it("describes brokers, topics and partitions; unknown and invalid names get errors", async () => {
    await createTopic("t", 3);
    const all = await handleMetadata(core.ctx, { topics: [] });
    expect(all.brokers).toEqual([{ brokerId: 0, host: "127.0.0.1", port: 0, rack: "" }]);
    // The broker's own __consumer_offsets is listed too, flagged internal (as Kafka does).
    expect(all.topics?.find((t) => t.name === "__consumer_offsets")).toMatchObject({ internal: true });
    all.topics = all.topics?.filter((t) => t.name !== "__consumer_offsets");
    expect(all.topics?.[0]).toMatchObject({ name: "t", internal: false });
    expect(all.topics?.[0]?.partitions?.map((p) => [p.partition, p.leaderId, p.leaderEpoch, p.replicas])).toEqual([
      [0, 0, 0, [0]],
      [1, 0, 0, [0]],
      [2, 0, 0, [0]],
    ]);
    const some = await handleMetadata(core.ctx, { topics: ["t", "nope", "bad name"] });
    expect(some.topics?.map((t) => fromErrorInfo(t.error as api.ErrorInfo | null)?.errorName ?? "NONE")).toEqual(["NONE", "UNKNOWN_TOPIC_OR_PARTITION", "INVALID_TOPIC_EXCEPTION"]);
    expect((await handleDescribeCluster(core.ctx, {})).clusterId).toBe(core.store.clusterId);
  });
});

describe("admin", () => {
  it("validates without creating, creates, adds partitions and lists", async () => {
    const dry = await handleCreateTopics(core.ctx, { topics: [{ name: "dry", partitions: 0, replicationFactor: 0, configs: {} }], validateOnly: true });
    expect(dry.topics?.[0]).toMatchObject({ name: "dry", partitions: 1, replicationFactor: 1, topicId: "" });
    expect((await handleListTopics(core.ctx, { includeInternal: true })).topics?.map((t) => [t.name, t.internal])).toEqual([["__consumer_offsets", true]]);

    await createTopic("grow", 1);
    const bad = await handleCreatePartitions(core.ctx, { topics: [{ name: "grow", count: 1 }], validateOnly: false });
    expect(fromErrorInfo(bad.topics?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("INVALID_PARTITIONS");
    await handleCreatePartitions(core.ctx, { topics: [{ name: "grow", count: 4 }], validateOnly: false });
    expect((await produce(request("grow", 3, batch(["new partition"]))))[0]).toMatchObject({ error: null, baseOffset: 0 });
    await createTopic("__internal", 1);
    expect((await handleListTopics(core.ctx, { includeInternal: false })).topics?.map((t) => [t.name, t.partitions])).toEqual([["grow", 4]]);
    const described = await handleDescribeTopics(core.ctx, { names: ["grow"] });
    expect(described.topics?.[0]?.partitions?.map((p) => p.highWatermark)).toEqual([0, 0, 0, 1]);
  });

  it("refuses creations for every documented reason", async () => {
    await createTopic("taken", 1);
    await createTopic("dot.ted", 1);
    const response = await handleCreateTopics(core.ctx, {
      validateOnly: false,
      topics: [
        { name: "..", partitions: 1, replicationFactor: 1, configs: {} },
        { name: "taken", partitions: 1, replicationFactor: 1, configs: {} },
        { name: "dot_ted", partitions: 1, replicationFactor: 1, configs: {} },
        { name: "rf", partitions: 1, replicationFactor: 2, configs: {} },
        { name: "np", partitions: -3, replicationFactor: 1, configs: {} },
        { name: "cfg", partitions: 1, replicationFactor: 1, configs: { "segment.bytes": "1" } },
      ],
    });
    expect(response.topics?.map((t) => fromErrorInfo(t.error as api.ErrorInfo | null)?.errorName)).toEqual([
      "INVALID_TOPIC_EXCEPTION",
      "TOPIC_ALREADY_EXISTS",
      "INVALID_TOPIC_EXCEPTION",
      "INVALID_REPLICATION_FACTOR",
      "INVALID_PARTITIONS",
      "INVALID_CONFIG",
    ]);
    expect((await handleListTopics(core.ctx, { includeInternal: true })).topics?.map((t) => t.name)).toEqual(["__consumer_offsets", "dot.ted", "taken"]);
  });

  it("alters configs incrementally, all or nothing, and describes them with sources", async () => {
    await createTopic("t", 1, { "retention.ms": "1000" });
    const bad = await handleAlterConfigs(core.ctx, {
      validateOnly: false,
      topics: [{ topic: "t", alterations: [{ name: "segment.ms", value: "60000", op: "SET" }, { name: "flush.me", value: "1", op: "SET" }] }],
    });
    expect(fromErrorInfo(bad.topics?.[0]?.error as api.ErrorInfo | null)?.message).toContain("flush.me");
    const ok = await handleAlterConfigs(core.ctx, {
      validateOnly: false,
      topics: [{ topic: "t", alterations: [{ name: "segment.ms", value: "60000", op: "SET" }, { name: "retention.ms", value: "", op: "DELETE" }] }],
    });
    expect(ok.topics?.[0]?.error).toBeUndefined();
    const overrides = await handleDescribeConfigs(core.ctx, { topics: ["t"], includeDefaults: false });
    expect(overrides.topics?.[0]?.entries?.map((e) => [e.name, e.value, e.source])).toEqual([["segment.ms", "60000", "TOPIC_OVERRIDE"]]);
    const all = await handleDescribeConfigs(core.ctx, { topics: ["t", "nope"], includeDefaults: true });
    expect(all.topics?.[0]?.entries?.find((e) => e.name === "retention.ms")).toMatchObject({ value: "604800000", source: "DEFAULT" });
    expect(fromErrorInfo(all.topics?.[1]?.error as api.ErrorInfo | null)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("refuses deleting a topic that does not exist", async () => {
    const response = await handleDeleteTopics(core.ctx, { names: ["ghost"] });
    expect(fromErrorInfo(response.topics?.[0]?.error as api.ErrorInfo | null)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });
});

describe("health and error mapping", () => {
  it("reports the serving status and NOT_FOUND for unknown services", async () => {
    expect(await handleHealthCheck(core.ctx, { service: "" })).toEqual({ status: "SERVING" });
    expect(await handleHealthCheck(core.ctx, { service: "sluice.v1.Admin" })).toEqual({ status: "SERVING" });
    await expect(handleHealthCheck(core.ctx, { service: "x.Y" })).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it("maps errors to gRPC statuses with the table code in trailers", () => {
    const invalid = statusOf(new RequestError("too many"));
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(invalid.metadata?.get("sluice-error-name")).toEqual(["INVALID_REQUEST"]);
    expect(statusOf(new SluiceError("KAFKA_STORAGE_ERROR")).code).toBe(grpc.status.UNAVAILABLE);
    expect(statusOf(new SluiceError("INVALID_CONFIG")).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(statusOf(new ServiceNotFoundError("x")).code).toBe(grpc.status.NOT_FOUND);
    expect(statusOf(new AssertionError("bug")).code).toBe(grpc.status.INTERNAL);
  });

  it("registers a handler for every method of every service", () => {
    expect(Object.keys(rpcRegistry["sluice.v1.Sluice"] ?? {}).sort()).toEqual(["Fetch", "ListOffsets", "Metadata", "Produce", "ProduceStream"]);
    expect(Object.keys(rpcRegistry["sluice.v1.Admin"] ?? {})).toHaveLength(8);
    expect(Object.keys(rpcRegistry["sluice.v1.Groups"] ?? {})).toHaveLength(9);
    // Binding checks every loaded .proto method against the registry (and the call kinds).
    expect(buildServices(core.ctx, { onBug: () => undefined })).toHaveLength(4);
  });
});
