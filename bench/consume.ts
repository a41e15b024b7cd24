/**
 * `npm run bench -- consume`: consume throughput of one broker process through the client SDK.
 *
 * Workload: the produce benchmark's data (1 KiB keyed records, 8 partitions, acks=all, default
 * fsync) is written first (not timed); then a Consumer assigned all partitions reads everything
 * from the beginning with pipelined fetches.
 *
 * Baseline (same run): bare grpc-js pulls the same number of bytes, in messages of the average
 * Fetch response size the broker actually sent (from its own metrics), between two processes;
 * the best of several in-flight depths (2, 4, 8) counts. `consume_ratio` = consume / baseline.
 *
 * Diagnostic (same run, same broker, same data): `consume_raw_mb_s` reads everything again with
 * pipelined Fetch calls and no decoding — what the broker serves when the client costs nothing.
 *
 * Options: --mb 256, --record-bytes 1024, --partitions 8, --fetch-max-kib 8192,
 * --partition-max-kib 1024, --inflight 8 (raw diagnostic: fetch loops, one per partition group), --fsync.
 */
import { Consumer } from "@sluice/client";
import { measureGrpcCeiling, mibPerSec, ownCpuSeconds, perGiB } from "./grpc-baseline.js";
import { produceAll } from "./produce.js";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { createBenchTopic, startBenchBroker } from "./support/broker-fixture.js";
import { rawConsume, type RawResult } from "./support/raw-load.js";

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
  try {
    await createBenchTopic(broker.bootstrap, topic, partitions);
    const { sent } = await produceAll({ bootstrap: broker.bootstrap, topic, records, recordBytes, batchBytes: 512 * 1024, lingerMs: 5, inflight: 5 });

    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest", maxBytes, partitionMaxBytes, maxWaitMs: 100, minBytes: 1 });
    try {
      consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
      const bytesBefore = await broker.metric("sluice_topic_bytes_out_total", { topic });
      const fetchesBefore = await broker.metric("sluice_rpc_requests_total", { method: "Fetch" });
      const brokerCpuBefore = await broker.cpuSeconds();
      const started = performance.now();
      const cpu = process.cpuUsage();
      let seen = 0;
      let payload = 0;
      for await (const batch of consumer.batches()) {
        seen += batch.records.length;
        for (const r of batch.records) payload += r.value?.length ?? 0;
        if (seen >= sent) break;
      }
      seconds = (performance.now() - started) / 1000;
      clientCpuSeconds = ownCpuSeconds(cpu);
      brokerCpuSeconds = (await broker.cpuSeconds()) - brokerCpuBefore;
      if (seen !== sent || payload !== sent * recordBytes) throw new Error(`consumed ${seen} records / ${payload} bytes, expected ${sent}`);
      fetchedBytes = (await broker.metric("sluice_topic_bytes_out_total", { topic })) - bytesBefore;
      fetches = (await broker.metric("sluice_rpc_requests_total", { method: "Fetch" })) - fetchesBefore;
    } finally {
      await consumer.close();
    }
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
    ["broker without SDK MiB/s", rawMbS],
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
