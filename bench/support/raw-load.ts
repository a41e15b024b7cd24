/**
 * Diagnostic load for the broker benchmarks: the broker's API driven without the SDK — record
 * batches encoded once up front and sent again and again on one ProduceStream, and Fetch calls
 * pipelined over partition groups. It separates what the broker can take from what the SDK
 * produces or consumes; the benchmarks report it next to (never instead of) the SDK figures.
 */
import * as grpc from "@grpc/grpc-js";
import { encodeRecordBatch, fromErrorInfo, grpcChannelOptions, loadProtos, type api } from "@sluice/protocol";
import { limits } from "@sluice/client";

/** The same transport tuning the SDK's channels use (32 MiB HTTP/2 receive window), so the
 * comparison measures Sluice, not a difference in flow-control settings. */
const clientChannelOptions: grpc.ChannelOptions = { ...grpcChannelOptions, "grpc-node.flow_control_window": limits.CLIENT_RECEIVE_WINDOW_BYTES };

export interface RawProduceOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  readonly recordBytes: number;
  /** Records per batch. */
  readonly recordsPerBatch: number;
  /** Batches per partition in each request. */
  readonly batchesPerPartition: number;
  readonly totalBytes: number;
  readonly inflight: number;
}

export interface RawResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly messages: number;
}

function sluiceClient(bootstrap: string): api.SluiceClient {
  return new (loadProtos().sluice.Sluice)(bootstrap, grpc.credentials.createInsecure(), clientChannelOptions);
}

/** Produces `totalBytes` of pre-encoded batches, every request carrying the same batches for every partition. */
export async function rawProduce(options: RawProduceOptions): Promise<RawResult> {
  const value = Buffer.alloc(options.recordBytes, 0x61);
  const batch = encodeRecordBatch({
    now: Date.now(),
    records: Array.from({ length: options.recordsPerBatch }, (_, i) => ({ key: Buffer.from(`key-${i}`), value })),
  });
  const records = Buffer.concat(new Array<Buffer>(options.batchesPerPartition).fill(batch));
  const requestBytes = records.length * options.partitions;
  const requests = Math.max(1, Math.round(options.totalBytes / requestBytes));
  const request = (correlationId: number): api.ProduceRequestInput => ({
    correlationId,
    acks: -1,
    topics: [{ topic: options.topic, partitions: Array.from({ length: options.partitions }, (_, partition) => ({ partition, records })) }],
  });
  const client = sluiceClient(options.bootstrap);
  try {
    const call = client.ProduceStream();
    let sent = 0;
    let answered = 0;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const pump = (): void => {
        while (sent < requests && sent - answered < options.inflight) call.write(request(++sent));
      };
      call.on("data", (response: api.ProduceResponse) => {
        for (const t of response.topics) {
          for (const p of t.partitions) {
            const error = fromErrorInfo(p.error);
            if (error !== null) reject(error);
          }
        }
        if (++answered === requests) resolve();
        else pump();
      });
      call.on("error", reject);
      pump();
    });
    const seconds = (performance.now() - started) / 1000;
    call.end();
    return { bytes: requests * requestBytes, seconds, messages: requests };
  } finally {
    client.close();
  }
}

export interface RawConsumeOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  /** Where each partition's log ends (read up to here). */
  readonly endOffsets: readonly number[];
  readonly partitionMaxBytes: number;
  /** Fetches in flight: partitions are split into this many groups, one fetch loop each. */
  readonly inflight: number;
}

function nextOffsetAfter(records: Buffer, current: number): number {
  let at = 0;
  let next = current;
  while (records.length - at >= 61) {
    const size = records.readInt32BE(at + 8) + 12;
    if (size > records.length - at) break;
    next = Number(records.readBigInt64BE(at)) + records.readInt32BE(at + 23) + 1;
    at += size;
  }
  return next;
}

/** Reads every partition from 0 to its end offset with pipelined Fetch calls (no decoding). */
export async function rawConsume(options: RawConsumeOptions): Promise<RawResult> {
  const client = sluiceClient(options.bootstrap);
  const positions = new Array<number>(options.partitions).fill(0);
  let bytes = 0;
  let fetches = 0;
  const fetch = (request: api.FetchRequestInput): Promise<api.FetchResponse> =>
    new Promise((resolve, reject) => client.Fetch(request, (error, response) => (error !== null || response === undefined ? reject(error) : resolve(response))));
  try {
    const started = performance.now();
    const groups = Array.from({ length: options.inflight }, (_, g) => [...positions.keys()].filter((p) => p % options.inflight === g));
    await Promise.all(
      groups.map(async (group) => {
        for (;;) {
          const pending = group.filter((p) => (positions[p] ?? 0) < (options.endOffsets[p] ?? 0));
          if (pending.length === 0) return;
          const response = await fetch({
            maxWaitMs: 0,
            minBytes: 1,
            maxBytes: 0,
            topics: [{ topic: options.topic, partitions: pending.map((partition) => ({ partition, fetchOffset: positions[partition] ?? 0, partitionMaxBytes: options.partitionMaxBytes })) }],
          });
          fetches++;
          for (const p of response.topics[0]?.partitions ?? []) {
            const error = fromErrorInfo(p.error);
            if (error !== null) throw error;
            bytes += p.records.length;
            positions[p.partition] = nextOffsetAfter(p.records, positions[p.partition] ?? 0);
          }
        }
      }),
    );
    return { bytes, seconds: (performance.now() - started) / 1000, messages: fetches };
  } finally {
    client.close();
  }
}
