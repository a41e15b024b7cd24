// Proves that bad input through the real API — corrupt or truncated batches, oversized batches and
// requests, unknown topics, invalid names, configs and fields, out-of-range fetches, undecodable
// protobuf, garbage bytes on the gRPC port and on the data listener's port — gets clear typed errors, leaves the broker up and
// serving, and changes no stored data.
import { connect } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DATA_PROTOCOL_VERSION,
  encodeFrameHeader,
  encodeHello,
  encodeRecordBatch,
  errorNameOf,
  FrameKind,
  FrameReader,
  fromErrorInfo,
  GRPC_MESSAGE_BYTES_MAX,
  grpcChannelOptions,
  loadProtos,
  type api,
  type DataFrame,
} from "@sluice/protocol";
import protobuf from "protobufjs";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { onlyPartition, RawClient } from "./raw-client.js";

const TOPIC = "guarded";
const sluiceService = loadProtos().sluice.Sluice.service;
/** ErrorInfo (common.proto), to read the payload of ERROR frames. */
const errorInfoType = protobuf.Type.fromJSON("ErrorInfo", {
  fields: { code: { id: 1, type: "int32" }, name: { id: 2, type: "string" }, message: { id: 3, type: "string" }, retriable: { id: 4, type: "bool" } },
});
const MAX_MESSAGE_BYTES = 4096;

/** Flips bits of one byte (inside the CRC-covered region when `fromEnd` is small). */
function flip(buf: Buffer, fromEnd: number, mask: number): Buffer {
  const at = buf.length - fromEnd;
  buf.writeUInt8((buf.readUInt8(at) ^ mask) & 0xff, at);
  return buf;
}

function batch(values: readonly string[], timestamp = 1_700_000_000_000): Buffer {
  return encodeRecordBatch({ records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp })) });
}

describe("bad input through the real API", () => {
  let broker: BrokerProcess;
  let client: RawClient;
  let baseline: { records: Buffer[]; ends: number[] };

  async function produceTo(partition: number, records: Buffer, topic = TOPIC, acks = -1): Promise<api.PartitionProduceResult> {
    const response = await client.produce({ acks, timeoutMs: 10_000, topics: [{ topic, partitions: [{ partition, records }] }] });
    return onlyPartition(response.topics);
  }

  async function errorName(result: { error: api.ErrorInfo | null }): Promise<string> {
    return fromErrorInfo(result.error)?.errorName ?? "NONE";
  }

  async function readAll(): Promise<{ records: Buffer[]; ends: number[] }> {
    const response = await client.fetch({
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 0,
      topics: [{ topic: TOPIC, partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 8 * 1024 * 1024 })) }],
    });
    const partitions = response.topics[0]?.partitions ?? [];
    for (const p of partitions) expect(fromErrorInfo(p.error)).toBeNull();
    return { records: partitions.map((p) => Buffer.from(p.records)), ends: partitions.map((p) => p.highWatermark) };
  }

  beforeAll(async () => {
    broker = await startBrokerProcess();
    client = new RawClient(broker.bootstrap);
    const created = await client.createTopics({
      topics: [
        { name: TOPIC, partitions: 2, replicationFactor: 1, configs: { "max.message.bytes": String(MAX_MESSAGE_BYTES) } },
        { name: "other", partitions: 1, replicationFactor: 0, configs: {} },
      ],
    });
    for (const t of created.topics) expect(fromErrorInfo(t.error)).toBeNull();
    for (let i = 0; i < 3; i++) {
      for (const partition of [0, 1]) expect(await errorName(await produceTo(partition, batch([`good-${i}-a`, `good-${i}-b`])))).toBe("NONE");
    }
    baseline = await readAll();
    expect(baseline.ends).toEqual([6, 6]);
  });

  afterAll(async () => {
    client?.close();
    if (broker !== undefined) {
      await broker.kill9();
      await removeDataDir(broker.dataDir);
    }
  });

  describe("produce", () => {
    it("refuses a batch whose CRC does not match (CORRUPT_MESSAGE)", async () => {
      const bad = flip(batch(["will be corrupted"]), 3, 0xff);
      const result = await produceTo(0, bad);
      expect(await errorName(result)).toBe("CORRUPT_MESSAGE");
      expect(result.error?.message).toMatch(/CRC/);
      expect(result.baseOffset).toBe(-1);
    });

    it("writes nothing when the third of several batches is corrupt", async () => {
      const third = flip(batch(["third"]), 1, 0x01);
      const result = await produceTo(1, Buffer.concat([batch(["first"]), batch(["second"]), third]));
      expect(await errorName(result)).toBe("CORRUPT_MESSAGE");
    });

    it("refuses truncated batches, random bytes and an empty record set", async () => {
      const whole = batch(["truncated"]);
      expect(await errorName(await produceTo(0, whole.subarray(0, whole.length - 5)))).toBe("CORRUPT_MESSAGE");
      expect(await errorName(await produceTo(0, Buffer.from("this is not a record batch at all, just text")))).toBe("CORRUPT_MESSAGE");
      const random = Buffer.alloc(512);
      for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 0xff;
      expect(await errorName(await produceTo(0, random))).toBe("CORRUPT_MESSAGE");
      expect(await errorName(await produceTo(0, Buffer.alloc(0)))).toBe("CORRUPT_MESSAGE");
    });

    it("refuses a batch over the topic's max.message.bytes (MESSAGE_TOO_LARGE)", async () => {
      const result = await produceTo(0, batch(["y".repeat(MAX_MESSAGE_BYTES + 100)]));
      expect(await errorName(result)).toBe("MESSAGE_TOO_LARGE");
      expect(result.error?.message).toContain(String(MAX_MESSAGE_BYTES));
    });

    it("refuses a request over the gRPC message limit with RESOURCE_EXHAUSTED", async () => {
      const big = new RawClient(broker.bootstrap, 30_000, { ...grpcChannelOptions, "grpc.max_send_message_length": 2 * GRPC_MESSAGE_BYTES_MAX });
      try {
        const records = Buffer.alloc(GRPC_MESSAGE_BYTES_MAX + 1024);
        await expect(big.produce({ acks: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, records }] }] })).rejects.toMatchObject({
          code: grpc.status.RESOURCE_EXHAUSTED,
        });
      } finally {
        big.close();
      }
    });

    it("answers unknown topics and partitions with UNKNOWN_TOPIC_OR_PARTITION", async () => {
      expect(await errorName(await produceTo(0, batch(["x"]), "no-such-topic"))).toBe("UNKNOWN_TOPIC_OR_PARTITION");
      const result = await produceTo(99, batch(["x"]));
      expect(await errorName(result)).toBe("UNKNOWN_TOPIC_OR_PARTITION");
      expect(result.error?.message).toContain("has 2 partitions");
    });

    it("refuses malformed fields: invalid topic name, negative partition, unknown acks", async () => {
      expect(await errorName(await produceTo(0, batch(["x"]), "bad name!"))).toBe("INVALID_TOPIC_EXCEPTION");
      expect(await errorName(await produceTo(0, batch(["x"]), ""))).toBe("INVALID_TOPIC_EXCEPTION");
      const negative = await produceTo(-1, batch(["x"]));
      expect(await errorName(negative)).toBe("INVALID_REQUEST");
      expect(negative.error?.message).toContain("partition -1");
      const acks = await produceTo(0, batch(["x"]), TOPIC, 7);
      expect(await errorName(acks)).toBe("INVALID_REQUIRED_ACKS");
      expect(acks.error?.retriable).toBe(false);
    });

    it("answers a request whose protobuf cannot be decoded with a gRPC error, not a crash", async () => {
      const Generic = grpc.makeGenericClientConstructor(
        {
          Produce: {
            path: "/sluice.v1.Sluice/Produce",
            requestStream: false,
            responseStream: false,
            requestSerialize: (value: Buffer) => value,
            requestDeserialize: (value: Buffer) => value,
            responseSerialize: (value: Buffer) => value,
            responseDeserialize: (value: Buffer) => value,
          },
        },
        "Junk",
      );
      const junk = new Generic(broker.bootstrap, grpc.credentials.createInsecure());
      try {
        const status = await new Promise<grpc.ServiceError | null>((resolve) => {
          (junk as unknown as { Produce: (req: Buffer, cb: (e: grpc.ServiceError | null) => void) => void }).Produce(
            Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
            (error) => resolve(error),
          );
        });
        expect(status?.code).toBe(grpc.status.INTERNAL);
        expect(status?.details).toMatch(/deserializ/i);
      } finally {
        junk.close();
      }
    });
  });

  describe("admin", () => {
    it("refuses invalid topic names with INVALID_TOPIC_EXCEPTION", async () => {
      const names = ["", ".", "..", "a/b", "white space", "x".repeat(250)];
      const response = await client.createTopics({ topics: names.map((name) => ({ name, partitions: 1, replicationFactor: 1, configs: {} })) });
      expect(response.topics.map((t) => fromErrorInfo(t.error)?.errorName)).toEqual(names.map(() => "INVALID_TOPIC_EXCEPTION"));
    });

    it("refuses bad configs naming the key, bad counts, a replication factor above the broker count, and duplicates", async () => {
      const response = await client.createTopics({
        topics: [
          { name: "c1", partitions: 1, replicationFactor: 1, configs: { "retention.ms": "soon" } },
          { name: "c2", partitions: 1, replicationFactor: 1, configs: { "no.such.key": "1" } },
          { name: "c3", partitions: 1, replicationFactor: 1, configs: { "cleanup.policy": "shred" } },
          { name: "c4", partitions: -1, replicationFactor: 1, configs: {} },
          { name: "c5", partitions: 1, replicationFactor: 3, configs: {} },
          { name: TOPIC, partitions: 1, replicationFactor: 1, configs: {} },
        ],
      });
      const errors = response.topics.map((t) => fromErrorInfo(t.error));
      expect(errors.map((e) => e?.errorName)).toEqual([
        "INVALID_CONFIG",
        "INVALID_CONFIG",
        "INVALID_CONFIG",
        "INVALID_PARTITIONS",
        "INVALID_REPLICATION_FACTOR",
        "TOPIC_ALREADY_EXISTS",
      ]);
      expect(errors[0]?.message).toContain('"retention.ms" must be an integer');
      expect(errors[1]?.message).toContain('unknown topic config "no.such.key"');
      expect(errors[4]?.message).toContain("larger than the number of brokers (1)");
      const listed = await client.describeTopics({ names: ["c1", "c2", "c3", "c4", "c5"] });
      expect(listed.topics.map((t) => fromErrorInfo(t.error)?.errorName)).toEqual(Array(5).fill("UNKNOWN_TOPIC_OR_PARTITION"));
    });

    it("refuses a bad config alteration and keeps the old configs", async () => {
      const response = await client.alterConfigs({
        topics: [{ topic: TOPIC, alterations: [{ name: "retention.ms", value: "1000", op: "SET" }, { name: "max.message.bytes", value: "-5", op: "SET" }] }],
      });
      const error = fromErrorInfo(response.topics[0]?.error);
      expect(error?.errorName).toBe("INVALID_CONFIG");
      expect(error?.message).toContain("max.message.bytes");
      const described = await client.describeConfigs({ topics: [TOPIC], includeDefaults: false });
      expect(described.topics[0]?.entries.map((e) => [e.name, e.value])).toEqual([["max.message.bytes", String(MAX_MESSAGE_BYTES)]]);
    });
  });

  describe("fetch and list offsets", () => {
    it("answers a fetch beyond the end or below zero with OFFSET_OUT_OF_RANGE", async () => {
      const response = await client.fetch({
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 0,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 1000, partitionMaxBytes: 0 }, { partition: 1, fetchOffset: -3, partitionMaxBytes: 0 }] }],
      });
      const [beyond, negative] = response.topics[0]?.partitions ?? [];
      expect(fromErrorInfo(beyond?.error)?.errorName).toBe("OFFSET_OUT_OF_RANGE");
      expect(beyond?.error?.message).toContain("1000");
      expect(fromErrorInfo(negative?.error)?.errorName).toBe("OFFSET_OUT_OF_RANGE");
    });

    it("answers a fetch of an unknown topic with UNKNOWN_TOPIC_OR_PARTITION and does not wait", async () => {
      const started = Date.now();
      const response = await client.fetch({ maxWaitMs: 5000, minBytes: 1, maxBytes: 0, topics: [{ topic: "nope", partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 0 }] }] });
      expect(fromErrorInfo(response.topics[0]?.partitions[0]?.error)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
      expect(Date.now() - started).toBeLessThan(4000);
    });

    it("refuses a timestamp that is neither a time nor latest/earliest", async () => {
      const response = await client.listOffsets({ topics: [{ topic: TOPIC, partitions: [{ partition: 0, timestamp: -7 }] }] });
      expect(fromErrorInfo(response.topics[0]?.partitions[0]?.error)?.errorName).toBe("INVALID_REQUEST");
    });
  });

  describe("garbage bytes on the gRPC port", () => {
    /** Writes `bytes` on a fresh TCP connection; "closed" when the broker hangs up within 3 s. */
    async function sendRaw(bytes: Buffer): Promise<"closed" | "open"> {
      return new Promise((resolve) => {
        const socket = connect(broker.port, "127.0.0.1", () => socket.write(bytes));
        const timer = setTimeout(() => {
          socket.destroy();
          resolve("open");
        }, 3000);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearTimeout(timer);
          resolve("closed");
        });
        socket.resume();
      });
    }

    it("drops connections that send junk and keeps serving", async () => {
      const random = Buffer.alloc(64 * 1024);
      for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
      expect(await sendRaw(random)).toBe("closed");
      expect(await sendRaw(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).toBe("closed");
      // A valid HTTP/2 preface followed by nonsense frames.
      const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
      expect(await sendRaw(Buffer.concat([preface, Buffer.from([0, 0, 8, 0xff, 0xff, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]), random.subarray(0, 4096)]))).toBe("closed");
      // A connection that never says anything: left open (or closed), never a crash.
      const silent = connect(broker.port, "127.0.0.1");
      silent.on("error", () => undefined);
      await new Promise((resolve) => silent.once("connect", resolve));
      silent.destroy();

      expect((await client.healthCheck()).status).toBe("SERVING");
      expect(broker.child.exitCode).toBeNull();
    });
  });

  describe("garbage and malformed frames on the data port", () => {
    interface Exchange {
      readonly closed: boolean;
      readonly hello: boolean;
      readonly frames: DataFrame[];
    }
    /**
     * Writes `bytes` on a fresh connection to the data listener and reads what comes back until
     * the broker closes (or `waitMs` passes): the broker's HELLO, if any, and its frames.
     */
    async function exchange(bytes: Buffer, waitMs = 3000): Promise<Exchange> {
      const received: Buffer[] = [];
      const closed = await new Promise<boolean>((resolve) => {
        const socket = connect(broker.dataPort, "127.0.0.1", () => socket.write(bytes));
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(false);
        }, waitMs);
        socket.on("data", (chunk: Buffer) => received.push(chunk));
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      const all = Buffer.concat(received);
      const hello = all.length >= 4 && all.subarray(0, 4).toString("ascii") === "SLDP";
      const reader = new FrameReader(hello ? { onHello: () => undefined } : {});
      reader.push(all);
      const frames: DataFrame[] = [];
      for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push(f);
      return { closed, hello, frames };
    }
    const errorOf = (frame: DataFrame | undefined): string => errorNameOf((errorInfoType.decode(frame?.payload ?? Buffer.alloc(0)) as unknown as { code: number }).code);
    const frame = (kind: FrameKind, correlationId: number, payload: Buffer): Buffer => Buffer.concat([encodeFrameHeader(kind, correlationId, payload.length), payload]);
    const produceRequest = (records: Buffer): Buffer =>
      sluiceService.Produce.requestSerialize({ acks: -1, timeoutMs: 10_000, topics: [{ topic: TOPIC, partitions: [{ partition: 1, records }] }] });

    it("answers junk instead of a HELLO with an ERROR frame and closes", async () => {
      const random = Buffer.alloc(64 * 1024);
      for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
      for (const junk of [random, Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]) {
        const got = await exchange(junk);
        expect(got.closed).toBe(true);
        expect(got.hello).toBe(false);
        expect(got.frames.map((f) => [f.kind, f.correlationId])).toEqual([[FrameKind.ERROR, 0]]);
        expect(errorOf(got.frames[0])).toBe("INVALID_REQUEST");
      }
      const future = Buffer.from(encodeHello());
      future.writeUInt16BE(DATA_PROTOCOL_VERSION + 1, 4);
      const refused = await exchange(future);
      expect(refused.closed).toBe(true);
      expect(errorOf(refused.frames[0])).toBe("UNSUPPORTED_VERSION");
    });

    it("closes on an oversized or unknown frame, after a typed ERROR", async () => {
      const oversized = Buffer.alloc(9);
      oversized.writeUInt32BE(0xffff_fff0, 0);
      oversized[4] = FrameKind.PRODUCE;
      const big = await exchange(Buffer.concat([encodeHello(), oversized]));
      expect(big.hello && big.closed).toBe(true);
      expect(errorOf(big.frames.find((f) => f.kind === FrameKind.ERROR))).toBe("MESSAGE_TOO_LARGE");

      const unknown = await exchange(Buffer.concat([encodeHello(), Buffer.from([0, 0, 0, 5, 0x42, 0, 0, 0, 1])]));
      expect(unknown.closed).toBe(true);
      expect(errorOf(unknown.frames.find((f) => f.kind === FrameKind.ERROR))).toBe("INVALID_REQUEST");
    });

    it("refuses an undecodable request and a corrupt batch per request, and keeps the connection", async () => {
      const corrupt = flip(batch(["bad-crc"]), 3, 0x10);
      const got = await exchange(
        Buffer.concat([
          encodeHello(),
          frame(FrameKind.PRODUCE, 7, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a])),
          frame(FrameKind.PRODUCE, 8, produceRequest(corrupt)),
          frame(FrameKind.FETCH, 9, sluiceService.Fetch.requestSerialize({ maxWaitMs: 0, topics: [{ topic: "no-such-topic", partitions: [{ partition: 0, fetchOffset: 0 }] }] })),
        ]),
        1000,
      );
      expect(got.closed).toBe(false);
      const byId = new Map(got.frames.map((f) => [f.correlationId, f]));
      expect(byId.get(7)?.kind).toBe(FrameKind.ERROR);
      expect(errorOf(byId.get(7))).toBe("INVALID_REQUEST");
      const produced = sluiceService.Produce.responseDeserialize(byId.get(8)!.payload) as api.ProduceResponse;
      expect(await errorName(onlyPartition(produced.topics))).toBe("CORRUPT_MESSAGE");
      const fetched = sluiceService.Fetch.responseDeserialize(byId.get(9)!.payload) as api.FetchResponse;
      expect(fromErrorInfo(fetched.topics[0]?.partitions[0]?.error)?.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
      expect(broker.child.exitCode).toBeNull();
    });
  });

  describe("afterwards", () => {
    it("is still healthy, still takes produce, and no stored data changed", async () => {
      expect((await client.healthCheck()).status).toBe("SERVING");
      expect((await client.healthCheck("sluice.v1.Sluice")).status).toBe("SERVING");
      await expect(client.healthCheck("no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

      const after = await readAll();
      expect(after.ends).toEqual(baseline.ends);
      for (const p of [0, 1]) expect(after.records[p]?.equals(baseline.records[p]!)).toBe(true);

      const ok = await produceTo(0, batch(["after the storm"]));
      expect(await errorName(ok)).toBe("NONE");
      expect(ok.baseOffset).toBe(6);
      const final = await readAll();
      expect(final.ends).toEqual([7, 6]);
      expect(final.records[0]?.subarray(0, baseline.records[0]!.length).equals(baseline.records[0]!)).toBe(true);
      expect(broker.lines.some((l) => l.level === "fatal")).toBe(false);
    });
  });
});
