/**
 * `npm run bench -- consume`: consume throughput of one broker process through the client SDK.
 *
 * Workload: the produce benchmark's data (1 KiB keyed records, 8 partitions, acks=all, default
 * fsync) is written first (not timed); then a Consumer assigned all partitions reads everything
 * from the beginning with pipelined fetches over gRPC (`consume_grpc_*`, what a client gets where
 * the data port is unreachable), then twice over the SDK's default transport, the broker's data
 * listener: an untimed warm-up read, then the timed one (`consume_*`).
 *
 * Baseline (same run): bare grpc-js pulls the same number of bytes, in messages of the average
 * Fetch response size the broker actually sent (from its own metrics), between two processes;
 * the best of several in-flight depths (2, 4, 8) counts. `consume_ratio` = consume / baseline.
 *
 * Diagnostic (same run, same broker, same data): `consume_raw_mb_s` reads everything again with
 * pipelined gRPC Fetch calls and no decoding — what the broker serves when the client costs nothing.
 *
 * Options: --mb 256, --record-bytes 1024, --partitions 8, --fetch-max-kib 8192,
 * --partition-max-kib 1024, --inflight 8 (raw diagnostic: fetch loops, one per partition group), --fsync.
 */
import { Consumer, type ClientTransport } from "@sluice/client";
import { measureGrpcCeiling, mibPerSec, ownCpuSeconds, perGiB } from "./grpc-baseline.js";
import { produceAll } from "./produce.js";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { createBenchTopic, startBenchBroker, type BenchBroker } from "./support/broker-fixture.js";
import { rawConsume, type RawResult } from "./support/raw-load.js";

interface ConsumeRun {
  readonly seconds: number;
  /** Record batch bytes the broker sent (its sluice_topic_bytes_out_total). */
  readonly fetchedBytes: number;
  /** Fetch requests the broker answered, over gRPC and the data listener. */
  readonly fetches: number;
  readonly clientCpuSeconds: number;
  readonly brokerCpuSeconds: number;
}

/** Reads every record of `topic` from the beginning with one SDK Consumer; checks the count and payload bytes. */
async function consumeAll(
  broker: BenchBroker,
  w: { topic: string; partitions: number; sent: number; recordBytes: number; maxBytes: number; partitionMaxBytes: number; transport: ClientTransport },
): Promise<ConsumeRun> {
  const consumer = new Consumer({ bootstrap: broker.bootstrap, transport: w.transport, autoOffsetReset: "earliest", maxBytes: w.maxBytes, partitionMaxBytes: w.partitionMaxBytes, maxWaitMs: 100, minBytes: 1 });
  const fetchCount = async (): Promise<number> =>
    (await broker.metric("sluice_rpc_requests_total", { method: "Fetch" })) + (await broker.metric("sluice_rpc_requests_total", { method: "DataFetch" }));
  try {
    consumer.assign(Array.from({ length: w.partitions }, (_, partition) => ({ topic: w.topic, partition })));
    const bytesBefore = await broker.metric("sluice_topic_bytes_out_total", { topic: w.topic });
    const fetchesBefore = await fetchCount();
    const brokerCpuBefore = await broker.cpuSeconds();
    const started = performance.now();
    const cpu = process.cpuUsage();
    let seen = 0;
    let payload = 0;
    for await (const batch of consumer.batches()) {
      seen += batch.records.length;
      for (const r of batch.records) payload += r.value?.length ?? 0;
      if (seen >= w.sent) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const clientCpuSeconds = ownCpuSeconds(cpu);
    const brokerCpuSeconds = (await broker.cpuSeconds()) - brokerCpuBefore;
    if (seen !== w.sent || payload !== w.sent * w.recordBytes) throw new Error(`consumed ${seen} records / ${payload} bytes, expected ${w.sent}`);
    const fetchedBytes = (await broker.metric("sluice_topic_bytes_out_total", { topic: w.topic })) - bytesBefore;
    const fetches = (await fetchCount()) - fetchesBefore;
    return { seconds, fetchedBytes, fetches, clientCpuSeconds, brokerCpuSeconds };
  } finally {
    await consumer.close();
  }
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const mb = numberOption(options, "mb", 256);
  const recordBytes = numberOption(options, "record-bytes", 1024);
  const partitions = numberOption(options, "partitions", 8);
  const maxBytes = numberOption(options, "fetch-max-kib", 8192) * 1024;
  const partitionMaxBytes = numberOption(options, "partition-max-kib", 1024) * 1024;
  const inflight = numberOption(options, "inflight", 8);
  const fsync = options["fsync"] ?? "always";
  const records = Math.round((mb * 1024 * 1024) / recordBytes);
  const topic = "bench-consume";

  const broker = await startBenchBroker({ fsync });
  let seconds: number;
  let fetchedBytes: number;
  let fetches: number;
  let clientCpuSeconds: number;
  let brokerCpuSeconds: number;
  let raw: RawResult;
  let grpcRun: ConsumeRun;
  try {
    await createBenchTopic(broker.bootstrap, topic, partitions);
    const { sent } = await produceAll({ bootstrap: broker.bootstrap, topic, records, recordBytes, batchBytes: 512 * 1024, lingerMs: 5, inflight: 5 });

    // First the read through the SDK's gRPC transport (what clients get where the data port is
    // unreachable), then an untimed read over the data listener: together they warm the decoding
    // and data-connection paths up, so the headline run below measures the SDK in steady state
    // rather than V8 compiling it (a quarter-second window is otherwise half warm-up).
    grpcRun = await consumeAll(broker, { topic, partitions, sent, recordBytes, maxBytes, partitionMaxBytes, transport: "grpc" });
    await consumeAll(broker, { topic, partitions, sent, recordBytes, maxBytes, partitionMaxBytes, transport: "auto" });
    const measured = await consumeAll(broker, { topic, partitions, sent, recordBytes, maxBytes, partitionMaxBytes, transport: "auto" });
    ({ seconds, fetchedBytes, fetches, clientCpuSeconds, brokerCpuSeconds } = measured);
    // Diagnostic: the same data read without the SDK (pipelined Fetch calls, no decoding).
    const endOffsets = await Promise.all(
      Array.from({ length: partitions }, (_, partition) => broker.metric("sluice_partition_high_watermark", { topic, partition: String(partition) })),
    );
    raw = await rawConsume({ bootstrap: broker.bootstrap, topic, partitions, endOffsets, partitionMaxBytes, inflight });
  } finally {
    await broker.stop();
  }

  const messageBytes = Math.max(1, Math.round(fetchedBytes / Math.max(1, fetches)));
  const baseline = await measureGrpcCeiling({ direction: "pull", messageBytes, totalBytes: fetchedBytes }, [inflight, 4, 8]);
  const consumeMbS = mibPerSec(fetchedBytes, seconds);
  const rawMbS = mibPerSec(raw.bytes, raw.seconds);
  const metrics = {
    consume_mb_s: consumeMbS,
    consume_payload_mb_s: mibPerSec(records * recordBytes, seconds),
    consume_records_s: records / seconds,
    grpc_baseline_mb_s: baseline.mbPerSec,
    consume_ratio: consumeMbS / baseline.mbPerSec,
    fetch_bytes_avg: messageBytes,
    baseline_inflight: baseline.inflight,
    consume_grpc_mb_s: mibPerSec(grpcRun.fetchedBytes, grpcRun.seconds),
    consume_grpc_ratio: mibPerSec(grpcRun.fetchedBytes, grpcRun.seconds) / baseline.mbPerSec,
    consume_raw_mb_s: rawMbS,
    consume_raw_ratio: rawMbS / baseline.mbPerSec,
    client_cpu_s_per_gib: perGiB(clientCpuSeconds, fetchedBytes),
    broker_cpu_s_per_gib: perGiB(brokerCpuSeconds, fetchedBytes),
    baseline_client_cpu_s_per_gib: baseline.clientCpuSPerGiB,
    baseline_server_cpu_s_per_gib: baseline.serverCpuSPerGiB,
  };
  printTable("consume (broker process → SDK Consumer, from earliest)", [
    ["records", records],
    ["partitions", partitions],
    ["seconds", seconds],
    ["batch bytes fetched", fetchedBytes],
    ["fetches", fetches],
    ["avg fetch bytes", messageBytes],
    ["consume MiB/s (batch bytes)", consumeMbS],
    ["payload MiB/s", metrics.consume_payload_mb_s],
    ["records/s", metrics.consume_records_s],
    ["grpc-js baseline MiB/s", baseline.mbPerSec],
    ["baseline best in-flight", baseline.inflight],
    ["ratio", metrics.consume_ratio],
    ["SDK over gRPC MiB/s", metrics.consume_grpc_mb_s],
    ["SDK over gRPC ratio", metrics.consume_grpc_ratio],
    ["broker without SDK (gRPC) MiB/s", rawMbS],
    ["without SDK ratio", metrics.consume_raw_ratio],
    ["client CPU s/GiB", metrics.client_cpu_s_per_gib],
    ["broker CPU s/GiB", metrics.broker_cpu_s_per_gib],
    ["baseline client CPU s/GiB", metrics.baseline_client_cpu_s_per_gib],
    ["baseline server CPU s/GiB", metrics.baseline_server_cpu_s_per_gib],
  ]);
  return {
    config: { record_bytes: recordBytes, partitions, acks: "all", fsync, mb, fetch_max_bytes: maxBytes, partition_max_bytes: partitionMaxBytes, raw_inflight: inflight, client: "@sluice/client Consumer" },
    metrics,
  };
}
