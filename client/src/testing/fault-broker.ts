/**
 * A small in-process gRPC broker for the SDK's own tests: it implements the data-plane RPCs
 * (Metadata, Produce, ProduceStream, Fetch, ListOffsets) over in-memory partition logs, with
 * hooks to inject the faults a real broker cannot produce on demand: per-partition errors
 * (NOT_LEADER_OR_FOLLOWER, MESSAGE_TOO_LARGE, ...), lost answers, broken produce streams,
 * leaderless partitions and slow answers (`produceDelayMs`, so answers to pipelined requests
 * come back out of order). ProduceStreams opened with `sluice-ordered: 1` behave like the real
 * broker's ordered mode: appends in arrival order, and a partition that failed once on the
 * stream fails (NETWORK_EXCEPTION, nothing appended) in every later request of that stream.
 *
 * It is not a stand-in for the real broker: end-to-end behaviour is tested against
 * `broker/src/main.ts` (client.e2e.test.ts). Batches are validated (CRC, size) and stamped with
 * the same protocol functions the broker uses, so what the producer sends must be valid bytes.
 */
import * as grpc from "@grpc/grpc-js";
import {
  batchSizeAt,
  decodeRecordBatch,
  grpcChannelOptions,
  loadProtos,
  SluiceError,
  stampBatch,
  toErrorInfo,
  validateBatch,
  type api,
} from "@sluice/protocol";

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
}

export interface FaultTopic {
  readonly partitions: number;
  /** Largest batch accepted (max.message.bytes); default 1 MiB. */
  readonly maxMessageBytes?: number;
}

export interface Faults {
  /** Called per partition of each Produce request; an error is answered instead of appending. */
  produce?: (topic: string, partition: number) => SluiceError | undefined;
  /** Called per Produce request: "drop" appends but never answers; "break" appends, then kills the stream. */
  produceAnswer?: (request: api.ProduceRequest) => "answer" | "drop" | "break";
  /** Per partition of each Fetch; an error is answered instead of data. */
  fetch?: (topic: string, partition: number) => SluiceError | undefined;
  /** Partitions reported without a leader in Metadata. */
  leaderless?: (topic: string, partition: number) => boolean;
  /** Per Produce request: milliseconds before its answer is written (the append happens at once). */
  produceDelayMs?: (request: api.ProduceRequest) => number;
  /** Whether ProduceStream exists (false answers UNIMPLEMENTED, like an older broker). */
  produceStream?: boolean;
}

export class FaultBroker {
  readonly logs = new Map<string, StoredBatch[][]>();
  readonly topicConfig = new Map<string, FaultTopic>();
  readonly faults: Faults = {};
  /** Produce requests seen (after faults), for assertions. */
  readonly produceRequests: api.ProduceRequest[] = [];
  fetchRequests = 0;
  metadataRequests = 0;
  /** ProduceStreams opened in ordered mode. */
  orderedStreams = 0;
  /** Partition entries refused because an earlier request of their ordered stream failed them. */
  poisonedRefusals = 0;
  private readonly server = new grpc.Server({ ...grpcChannelOptions });
  private readonly appendWaiters = new Set<() => void>();
  private readonly streams = new Set<grpc.ServerDuplexStream<api.ProduceRequest, api.ProduceResponseInput>>();
  port = 0;

  static async start(topics: Readonly<Record<string, FaultTopic>>): Promise<FaultBroker> {
    const broker = new FaultBroker();
    for (const [name, config] of Object.entries(topics)) broker.createTopic(name, config);
    await broker.listen();
    return broker;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  createTopic(name: string, config: FaultTopic): void {
    this.topicConfig.set(name, config);
    this.logs.set(name, Array.from({ length: config.partitions }, () => []));
  }

  /** Records of a partition as stored, decoded. */
  records(topic: string, partition: number): { offset: number; key: string | null; value: string | null; timestamp: number; headers: Record<string, string | null> }[] {
    const out = [];
    for (const batch of this.logs.get(topic)?.[partition] ?? []) {
      for (const r of decodeRecordBatch(batch.bytes).records) {
        out.push({
          offset: r.offset,
          key: r.key?.toString() ?? null,
          value: r.value?.toString() ?? null,
          timestamp: r.timestamp,
          headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value?.toString() ?? null])),
        });
      }
    }
    return out;
  }

  endOffset(topic: string, partition: number): number {
    const batches = this.logs.get(topic)?.[partition] ?? [];
    return batches.length === 0 ? 0 : batches[batches.length - 1]!.lastOffset + 1;
  }

  /** Ends every open produce stream with UNAVAILABLE (as a broker restart would). */
  breakStreams(): void {
    for (const stream of this.streams) stream.emit("error", { code: grpc.status.UNAVAILABLE, details: "injected stream failure", metadata: new grpc.Metadata() });
    this.streams.clear();
  }

  async stop(): Promise<void> {
    for (const waiter of this.appendWaiters) waiter();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
  }

  private async listen(): Promise<void> {
    const protos = loadProtos();
    const handlers: api.SluiceHandlers = {
      Metadata: (call, callback) => callback(null, this.metadata(call.request)),
      Produce: (call, callback) => {
        const answer = this.faults.produceAnswer?.(call.request) ?? "answer";
        const response = this.produce(call.request);
        if (answer === "answer") callback(null, response);
        else if (answer === "break") callback({ code: grpc.status.UNAVAILABLE, details: "injected failure" });
        // "drop": never answer; the client's deadline fires.
      },
      ProduceStream: (call) => {
        if (this.faults.produceStream === false) {
          call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "no ProduceStream here" });
          return;
        }
        this.streams.add(call);
        const ordered = call.metadata.get("sluice-ordered")[0] === "1";
        if (ordered) this.orderedStreams++;
        // Ordered mode: partitions ("topic\0partition") that failed on this stream stay failed.
        const poisoned = ordered ? new Set<string>() : undefined;
        let dead = false;
        call.on("data", (request: api.ProduceRequest) => {
          const answer = this.faults.produceAnswer?.(request) ?? "answer";
          const response = this.produce(request, poisoned);
          if (answer === "answer") {
            const delayMs = this.faults.produceDelayMs?.(request) ?? 0;
            if (delayMs <= 0) call.write(response);
            else setTimeout(() => {
              if (!dead && this.streams.has(call)) call.write(response);
            }, delayMs);
          } else if (answer === "break") this.breakStreams();
        });
        call.on("cancelled", () => (dead = true));
        call.on("end", () => {
          this.streams.delete(call);
          call.end();
        });
        call.on("error", () => this.streams.delete(call));
      },
      Fetch: (call, callback) => {
        this.fetchRequests++;
        this.fetch(call.request).then((r) => callback(null, r), (e: unknown) => callback({ code: grpc.status.INTERNAL, details: String(e) }));
      },
      ListOffsets: (call, callback) => callback(null, this.listOffsets(call.request)),
    };
    this.server.addService(protos.sluice.Sluice.service, handlers);
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error === null ? resolve(port) : reject(error)));
    });
  }

  private metadata(request: api.MetadataRequest): api.MetadataResponseInput {
    this.metadataRequests++;
    const names = request.topics.length === 0 ? [...this.topicConfig.keys()] : request.topics;
    return {
      clusterId: "fault-broker",
      controllerId: 0,
      brokers: [{ brokerId: 0, host: "127.0.0.1", port: this.port, rack: "" }],
      topics: names.map((name) => {
        const config = this.topicConfig.get(name);
        if (config === undefined) return { name, error: toErrorInfo(new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", name)), partitions: [] };
        return {
          name,
          topicId: name,
          partitions: Array.from({ length: config.partitions }, (_, partition) => ({
            partition,
            leaderId: this.faults.leaderless?.(name, partition) === true ? -1 : 0,
            leaderEpoch: 0,
            replicas: [0],
            inSyncReplicas: [0],
          })),
        };
      }),
    };
  }

  private produce(request: api.ProduceRequest, poisoned?: Set<string>): api.ProduceResponseInput {
    this.produceRequests.push(request);
    return {
      correlationId: request.correlationId,
      topics: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const key = `${t.topic}\u0000${p.partition}`;
          if (poisoned?.has(key) === true) {
            this.poisonedRefusals++;
            return { partition: p.partition, error: toErrorInfo(new SluiceError("NETWORK_EXCEPTION", "partition failed earlier on this stream")), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
          }
          try {
            const injected = this.faults.produce?.(t.topic, p.partition);
            if (injected !== undefined) throw injected;
            const baseOffset = this.append(t.topic, p.partition, p.records);
            return { partition: p.partition, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
          } catch (error) {
            poisoned?.add(key);
            return { partition: p.partition, error: toErrorInfo(error), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
          }
        }),
      })),
    };
  }

  private append(topic: string, partition: number, records: Buffer): number {
    const log = this.logs.get(topic)?.[partition];
    const config = this.topicConfig.get(topic);
    if (log === undefined || config === undefined) throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `${topic}-${partition}`);
    const bytes = Buffer.from(records);
    const batches: { at: number; size: number; count: number; maxTimestamp: number }[] = [];
    for (let at = 0; at < bytes.length; ) {
      const header = validateBatch(bytes, at, config.maxMessageBytes ?? 1024 * 1024);
      const size = batchSizeAt(bytes, at);
      batches.push({ at, size, count: header.lastOffsetDelta + 1, maxTimestamp: header.maxTimestamp });
      at += size;
    }
    let next = this.endOffset(topic, partition);
    const first = next;
    for (const b of batches) {
      const copy = Buffer.from(bytes.subarray(b.at, b.at + b.size));
      stampBatch(copy, 0, next, 0);
      log.push({ baseOffset: next, lastOffset: next + b.count - 1, maxTimestamp: b.maxTimestamp, bytes: copy });
      next += b.count;
    }
    for (const waiter of this.appendWaiters) waiter();
    return first;
  }

  private async fetch(request: api.FetchRequest): Promise<api.FetchResponseInput> {
    const deadline = Date.now() + request.maxWaitMs;
    for (;;) {
      const response = this.readFetch(request);
      const bytes = response.topics.reduce((n, t) => n + t.partitions.reduce((m, p) => m + p.records.length, 0), 0);
      const errors = response.topics.some((t) => t.partitions.some((p) => p.error !== null && p.error !== undefined));
      if (bytes >= Math.max(1, request.minBytes) || errors || Date.now() >= deadline) return response;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, deadline - Date.now());
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.appendWaiters.add(done);
        setTimeout(() => this.appendWaiters.delete(done), deadline - Date.now() + 1);
      });
    }
  }

  private readFetch(request: api.FetchRequest): { topics: { topic: string; partitions: { partition: number; error: api.ErrorInfoInput | null; highWatermark: number; logStartOffset: number; records: Buffer }[] }[] } {
    let budget = request.maxBytes;
    return {
      topics: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const log = this.logs.get(t.topic)?.[p.partition];
          const empty = Buffer.alloc(0);
          const injected = this.faults.fetch?.(t.topic, p.partition);
          if (injected !== undefined) return { partition: p.partition, error: toErrorInfo(injected), highWatermark: -1, logStartOffset: -1, records: empty };
          if (log === undefined) return { partition: p.partition, error: toErrorInfo(new SluiceError("UNKNOWN_TOPIC_OR_PARTITION")), highWatermark: -1, logStartOffset: -1, records: empty };
          const hw = this.endOffset(t.topic, p.partition);
          if (p.fetchOffset > hw || p.fetchOffset < 0) {
            return { partition: p.partition, error: toErrorInfo(new SluiceError("OFFSET_OUT_OF_RANGE", `${p.fetchOffset}`)), highWatermark: hw, logStartOffset: 0, records: empty };
          }
          const parts: Buffer[] = [];
          let size = 0;
          for (const batch of log) {
            if (batch.lastOffset < p.fetchOffset) continue;
            if (parts.length > 0 && (size + batch.bytes.length > p.partitionMaxBytes || size + batch.bytes.length > budget)) break;
            parts.push(batch.bytes);
            size += batch.bytes.length;
          }
          budget -= size;
          return { partition: p.partition, error: null, highWatermark: hw, logStartOffset: 0, records: Buffer.concat(parts) };
        }),
      })),
    };
  }

  private listOffsets(request: api.ListOffsetsRequest): api.ListOffsetsResponseInput {
    return {
      topics: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const log = this.logs.get(t.topic)?.[p.partition];
          if (log === undefined) return { partition: p.partition, error: toErrorInfo(new SluiceError("UNKNOWN_TOPIC_OR_PARTITION")), offset: -1, timestamp: -1 };
          if (p.timestamp === -2) return { partition: p.partition, offset: 0, timestamp: -1 };
          if (p.timestamp === -1) return { partition: p.partition, offset: this.endOffset(t.topic, p.partition), timestamp: -1 };
          for (const batch of log) {
            if (batch.maxTimestamp < p.timestamp) continue;
            const found = decodeRecordBatch(batch.bytes).records.find((r) => r.timestamp >= p.timestamp);
            if (found !== undefined) return { partition: p.partition, offset: found.offset, timestamp: found.timestamp };
          }
          return { partition: p.partition, offset: -1, timestamp: -1 };
        }),
      })),
    };
  }
}
