/**
 * `npm run bench -- produce`: produce throughput of one broker process through the client SDK.
 *
 * Workload: 1 KiB records with keys, 8 partitions, acks=all, the broker's default fsync policy
 * (`always`, group commit) unless `--fsync` says otherwise, the Producer's defaults (512 KiB
 * batches, 5 requests in flight, the data listener as transport) unless overridden. After an
 * untimed warm-up (a quarter of the data, bulk API), three timed runs on one broker, each into a
 * fresh topic:
 *   `produce_*`            records handed over with `enqueueMany` in chunks of MANY_CHUNK_RECORDS
 *                          (the bulk API, as kafkajs's `send({ messages })`), data listener;
 *   `produce_per_record_*` the same records through `enqueue` one at a time (a promise each);
 *   `produce_grpc_*`       the bulk API with `transport: "grpc"` (where the data port is closed).
 *
 * Baseline (same run): bare grpc-js pushes the same number of bytes, in messages of the average
 * produce request size the broker actually saw (from its own metrics), between two processes; the
 * best of several in-flight depths (the producer's, 2, 4, 8) counts, so the baseline is grpc-js's
 * ceiling for that message size. Every `*_ratio` = that run's MiB/s / baseline MiB/s.
 *
 * Diagnostic (same run, same broker): `produce_raw_mb_s` feeds the broker pre-encoded batches in
 * requests of the SDK's average size on one gRPC ProduceStream — what the broker takes over gRPC
 * when the client costs nothing — and `produce_raw_ratio` compares that to the same baseline.
 *
 * Options: --mb 256 (record payload per run), --record-bytes 1024, --partitions 8,
 * --batch-kib 512, --linger-ms 5, --inflight 5, --per-partition <Producer default>
 * (maxInFlightPerPartition), --buffer-mib 64 (bufferMemoryBytes), --fsync always|interval:<ms>|never.
 */
import { Producer, type ClientTransport } from "@sluice/client";
import { measureGrpcCeiling, mibPerSec, ownCpuSeconds, perGiB } from "./grpc-baseline.js";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { createBenchTopic, recordValue, startBenchBroker } from "./support/broker-fixture.js";
import { rawProduce, type RawResult } from "./support/raw-load.js";

export interface ProduceRunResult {
  readonly seconds: number;
  readonly records: number;
  readonly payloadBytes: number;
  /** Record batch bytes the broker appended (its sluice_topic_bytes_in_total). */
  readonly wireBytes: number;
  readonly requests: number;
  readonly clientCpuSeconds: number;
  readonly brokerCpuSeconds: number;
}

export interface ProduceWorkload {
  readonly bootstrap: string;
  readonly topic: string;
  readonly records: number;
  readonly recordBytes: number;
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly inflight: number;
  /** maxInFlightPerPartition; undefined: the Producer's default. */
  readonly perPartition?: number | undefined;
  /** "one": `enqueue` per record (default); "many": `enqueueMany` per MANY_CHUNK_RECORDS records. */
  readonly api?: "one" | "many" | undefined;
  /** The Producer's bufferMemoryBytes in MiB (default 64). */
  readonly bufferMib?: number | undefined;
  /** The client's transport (default "auto": the data listener when the broker has one). */
  readonly transport?: ClientTransport | undefined;
}

/** Records per `enqueueMany` call with `--api many` (a kafkajs-sized `send({ messages })`). */
const MANY_CHUNK_RECORDS = 1000;

/**
 * Sends `records` keyed records as fast as the producer takes them (plus one untimed warm-up
 * record first); resolves when all are acknowledged.
 */
export async function produceAll(workload: ProduceWorkload): Promise<{ seconds: number; payloadBytes: number; sent: number; clientCpuSeconds: number }> {
  const producer = new Producer({
    bootstrap: workload.bootstrap,
    acks: "all",
    batchBytes: workload.batchBytes,
    lingerMs: workload.lingerMs,
    maxInFlightRequestsPerBroker: workload.inflight,
    ...(workload.perPartition === undefined ? {} : { maxInFlightPerPartition: workload.perPartition }),
    bufferMemoryBytes: (workload.bufferMib ?? 64) * 1024 * 1024,
    transport: workload.transport ?? "auto",
  });
  // A pool of distinct values reused round-robin: generating 256k random values would time the generator.
  const values = Array.from({ length: 64 }, (_, i) => recordValue(workload.recordBytes, i + 1));
  const keys = Array.from({ length: 4096 }, (_, i) => Buffer.from(`key-${i}`));
  try {
    // Warm-up: metadata, connection and stream setup are not timed.
    await producer.send({ topic: workload.topic, key: keys[0], value: values[0] ?? null });
    const started = performance.now();
    const cpu = process.cpuUsage();
    let failed: unknown;
    const pending: Array<Promise<unknown>> = [];
    if (workload.api === "many") {
      for (let from = 0; from < workload.records; from += MANY_CHUNK_RECORDS) {
        const chunk = Array.from({ length: Math.min(MANY_CHUNK_RECORDS, workload.records - from) }, (_, j) => ({
          topic: workload.topic,
          key: keys[(from + j) % keys.length],
          value: values[(from + j) % values.length] ?? null,
        }));
        const { delivered } = await producer.enqueueMany(chunk);
        pending.push(delivered.catch((error: unknown) => (failed = error)));
      }
    } else {
      for (let i = 0; i < workload.records; i++) {
        const { delivered } = await producer.enqueue({ topic: workload.topic, key: keys[i % keys.length], value: values[i % values.length] ?? null });
        if (i % 1024 === 0) pending.push(delivered.catch((error: unknown) => (failed = error)));
        else delivered.catch((error: unknown) => (failed = error));
      }
    }
    await producer.flush();
    await Promise.all(pending);
    if (failed !== undefined) throw failed;
    const seconds = (performance.now() - started) / 1000;
    return { seconds, payloadBytes: workload.records * workload.recordBytes, sent: workload.records + 1, clientCpuSeconds: ownCpuSeconds(cpu) };
  } finally {
    await producer.close();
  }
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const mb = numberOption(options, "mb", 256);
  const recordBytes = numberOption(options, "record-bytes", 1024);
  const partitions = numberOption(options, "partitions", 8);
  const batchBytes = numberOption(options, "batch-kib", 512) * 1024;
  const lingerMs = numberOption(options, "linger-ms", 5);
  const inflight = numberOption(options, "inflight", 5);
  const perPartition = options["per-partition"] === undefined ? undefined : numberOption(options, "per-partition", 1);
  const bufferMib = numberOption(options, "buffer-mib", 64);
  const fsync = options["fsync"] ?? "always";
  const records = Math.round((mb * 1024 * 1024) / recordBytes);
  const topic = "bench-produce";

  const broker = await startBenchBroker({ fsync });
  let bulk: ProduceRunResult;
  let perRecord: ProduceRunResult;
  let grpcBulk: ProduceRunResult;
  let raw: RawResult;
  let messageBytes: number;
  try {
    const requestCount = async (): Promise<number> =>
      (
        await Promise.all(["ProduceStream", "Produce", "DataProduce"].map((method) => broker.metric("sluice_rpc_requests_total", { method })))
      ).reduce((a, b) => a + b, 0);
    /** One timed run into a fresh topic, with the broker's own counts of what it took. */
    const measure = async (name: string, api: "one" | "many", transport: ClientTransport): Promise<ProduceRunResult> => {
      await createBenchTopic(broker.bootstrap, name, partitions);
      const bytesBefore = await broker.metric("sluice_topic_bytes_in_total", { topic: name });
      const requestsBefore = await requestCount();
      const brokerCpuBefore = await broker.cpuSeconds();
      const timed = await produceAll({ bootstrap: broker.bootstrap, topic: name, records, recordBytes, batchBytes, lingerMs, inflight, perPartition, api, bufferMib, transport });
      const brokerCpuSeconds = (await broker.cpuSeconds()) - brokerCpuBefore;
      const wireBytes = (await broker.metric("sluice_topic_bytes_in_total", { topic: name })) - bytesBefore;
      const requests = (await requestCount()) - requestsBefore;
      return { ...timed, records, wireBytes, requests, brokerCpuSeconds };
    };
    // Untimed warm-up (a quarter of the data, bulk API, data listener): the broker's and the
    // SDK's hot paths get compiled here rather than inside the headline run's window.
    await createBenchTopic(broker.bootstrap, `${topic}-warm-up`, partitions);
    await produceAll({ bootstrap: broker.bootstrap, topic: `${topic}-warm-up`, records: Math.ceil(records / 4), recordBytes, batchBytes, lingerMs, inflight, perPartition, api: "many", bufferMib });
    bulk = await measure(topic, "many", "auto");
    perRecord = await measure(`${topic}-per-record`, "one", "auto");
    grpcBulk = await measure(`${topic}-grpc`, "many", "grpc");
    messageBytes = Math.max(1, Math.round(bulk.wireBytes / Math.max(1, bulk.requests)));

    // Diagnostic: the same broker fed pre-encoded batches in requests of the same size (gRPC).
    await createBenchTopic(broker.bootstrap, `${topic}-raw`, partitions);
    const perPartitionBytes = messageBytes / partitions;
    const batchesPerPartition = Math.max(1, Math.ceil(perPartitionBytes / batchBytes));
    const recordsPerBatch = Math.max(1, Math.round(perPartitionBytes / batchesPerPartition / (recordBytes + 16)));
    raw = await rawProduce({
      bootstrap: broker.bootstrap,
      topic: `${topic}-raw`,
      partitions,
      recordBytes,
      recordsPerBatch,
      batchesPerPartition,
      totalBytes: bulk.wireBytes,
      inflight,
    });
  } finally {
    await broker.stop();
  }

  const baseline = await measureGrpcCeiling({ direction: "push", messageBytes, totalBytes: bulk.wireBytes }, [inflight, 2, 4, 8]);
  const rate = (r: ProduceRunResult): number => mibPerSec(r.wireBytes, r.seconds);
  const rawMbS = mibPerSec(raw.bytes, raw.seconds);
  const metrics = {
    produce_mb_s: rate(bulk),
    produce_payload_mb_s: mibPerSec(bulk.payloadBytes, bulk.seconds),
    produce_records_s: bulk.records / bulk.seconds,
    grpc_baseline_mb_s: baseline.mbPerSec,
    produce_ratio: rate(bulk) / baseline.mbPerSec,
    produce_per_record_mb_s: rate(perRecord),
    produce_per_record_ratio: rate(perRecord) / baseline.mbPerSec,
    produce_grpc_mb_s: rate(grpcBulk),
    produce_grpc_ratio: rate(grpcBulk) / baseline.mbPerSec,
    request_bytes_avg: messageBytes,
    baseline_inflight: baseline.inflight,
    produce_raw_mb_s: rawMbS,
    produce_raw_ratio: rawMbS / baseline.mbPerSec,
    client_cpu_s_per_gib: perGiB(bulk.clientCpuSeconds, bulk.wireBytes),
    broker_cpu_s_per_gib: perGiB(bulk.brokerCpuSeconds, bulk.wireBytes),
    per_record_client_cpu_s_per_gib: perGiB(perRecord.clientCpuSeconds, perRecord.wireBytes),
    baseline_client_cpu_s_per_gib: baseline.clientCpuSPerGiB,
    baseline_server_cpu_s_per_gib: baseline.serverCpuSPerGiB,
  };
  printTable("produce (SDK → broker process, acks=all)", [
    ["records per run", records],
    ["record bytes", recordBytes],
    ["partitions", partitions],
    ["fsync", fsync],
    ["avg request bytes", messageBytes],
    ["grpc-js baseline MiB/s", baseline.mbPerSec],
    ["baseline best in-flight", baseline.inflight],
    ["enqueueMany, data listener: seconds", bulk.seconds],
    ["  MiB/s (batch bytes)", metrics.produce_mb_s],
    ["  records/s", metrics.produce_records_s],
    ["  ratio", metrics.produce_ratio],
    ["  client CPU s/GiB", metrics.client_cpu_s_per_gib],
    ["  broker CPU s/GiB", metrics.broker_cpu_s_per_gib],
    ["enqueue per record, data listener MiB/s", metrics.produce_per_record_mb_s],
    ["  ratio", metrics.produce_per_record_ratio],
    ["  client CPU s/GiB", metrics.per_record_client_cpu_s_per_gib],
    ["enqueueMany over gRPC MiB/s", metrics.produce_grpc_mb_s],
    ["  ratio", metrics.produce_grpc_ratio],
    ["broker without SDK (gRPC) MiB/s", rawMbS],
    ["  ratio", metrics.produce_raw_ratio],
    ["baseline client CPU s/GiB", metrics.baseline_client_cpu_s_per_gib],
    ["baseline server CPU s/GiB", metrics.baseline_server_cpu_s_per_gib],
  ]);
  return {
    config: { record_bytes: recordBytes, partitions, acks: "all", fsync, mb, batch_bytes: batchBytes, linger_ms: lingerMs, inflight, per_partition: perPartition ?? "default", buffer_mib: bufferMib, client: "@sluice/client Producer" },
    metrics,
  };
}
