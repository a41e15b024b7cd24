/**
 * `npm run bench -- latency`: end-to-end latency, produce → consumer receipt, through one broker
 * process, at 25% of the maximum produce rate measured in the same run.
 *
 * Workload: 1 KiB keyed records, 8 partitions, acks=all, default fsync (`always`). The max-rate
 * probe sends with the same API as the timed phase, record by record (`--probe-api one`; `many`
 * probes with the produce benchmark's headline `enqueueMany`, a ~25% higher max), with the
 * throughput linger (`--probe-linger-ms`, the Producer's default 5 ms); the timed phase sends
 * record by record with `send()` and a latency-tuned producer, `--linger-ms` 1 by default (measured on a quiet machine,
 * consumer in its own process: linger 5 → p50 6.3 / p99 21–27 ms, 2 → 3.6 / 16–39, 1 → 3.0 /
 * 16–26, 0 → 2.5 / 16). A Consumer in its own process (support/latency-consumer.ts: producers and
 * consumers are different processes in production, and sharing one event loop made the
 * producer's bursts part of the measured latency) tails all partitions (long poll, min_bytes 1).
 * Each record's value starts with its send time in epoch milliseconds at microsecond resolution
 * (the same clock in both processes), so latency = receipt − send. The first second is warm-up
 * and not sampled.
 *
 * Options: --seconds 10, --probe-mb 64 (the max-rate probe), --rate-fraction 0.25,
 * --rate-mb-s N (skip the probe and use N as the max), --partitions 8, --record-bytes 1024,
 * --linger-ms 1 (timed phase), --probe-linger-ms 5, --probe-api one|many (max-rate probe), --max-wait-ms 100,
 * --consumer-heap-mib 256 (0: Node's default heap sizing).
 *
 * The consumer process starts with a sized old generation (`--initial-old-space-size`), as a
 * latency-sensitive JVM consumer runs with -Xms: with Node's default sizing its heap of ~15 MiB
 * gets an old-generation limit so close to the young generation's capacity that V8 runs a full
 * mark-compact every 0.2–0.5 s (48–61 per run), and in a traced run every 50 ms window holding
 * tail samples but one began with one of those collections. Sized, the same run has 3.
 */
import { spawn } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Producer } from "@sluice/client";
import { produceAll } from "./produce.js";
import { epochNowMs, numberOption, percentile, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { createBenchTopic, recordValue, startBenchBroker } from "./support/broker-fixture.js";

const WARMUP_MS = 1000;
const here = dirname(fileURLToPath(import.meta.url));

interface LatencyConsumer {
  /** Tells the consumer how many records were sent; resolves with what it received and its samples. */
  finish(expected: number): Promise<{ received: number; samples: number[]; loopDelayMaxMs: number }>;
  /** Records sent before `epochMs` are not sampled (warm-up). */
  sampleFrom(epochMs: number): void;
  kill(): void;
}

/** Starts support/latency-consumer.ts in its own process; resolves once it is assigned at the end of every partition. */
async function startLatencyConsumer(args: { bootstrap: string; topic: string; partitions: number; maxWaitMs: number }, heapMib: number): Promise<LatencyConsumer> {
  const heap = heapMib > 0 ? [`--initial-old-space-size=${heapMib}`] : [];
  const child = spawn(process.execPath, [...heap, "--conditions=source", "--import", "tsx", join(here, "support", "latency-consumer.ts"), JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    messages.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`latency consumer exited with ${code}`))));
  exited.catch(() => undefined);
  const nextMessage = async (): Promise<Record<string, unknown>> => {
    while (messages.length === 0) await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), exited]);
    return messages.shift()!;
  };
  await nextMessage(); // {"ready":true}
  return {
    async finish(expected) {
      child.stdin.write(`${JSON.stringify({ expect: expected })}\n`);
      return (await nextMessage()) as unknown as { received: number; samples: number[]; loopDelayMaxMs: number };
    },
    sampleFrom(epochMs) {
      child.stdin.write(`${JSON.stringify({ sampleFromEpochMs: epochMs })}\n`);
    },
    kill: () => {
      if (child.exitCode === null) child.kill();
    },
  };
}
/** The consumer process's initial old generation (MiB), see the header. */
const CONSUMER_HEAP_MIB = 256;

/** The sender wakes this often and sends what the target rate says is due. */
const PACING_TICK_MS = 1;

export async function run(options: BenchOptions): Promise<BenchResult> {
  const seconds = numberOption(options, "seconds", 10);
  const probeMb = numberOption(options, "probe-mb", 64);
  const fraction = numberOption(options, "rate-fraction", 0.25);
  const partitions = numberOption(options, "partitions", 8);
  const recordBytes = numberOption(options, "record-bytes", 1024);
  const lingerMs = numberOption(options, "linger-ms", 1);
  const probeLingerMs = numberOption(options, "probe-linger-ms", 5);
  const probeApi = options["probe-api"] ?? "one";
  if (probeApi !== "one" && probeApi !== "many") throw new Error(`--probe-api must be one or many, got ${probeApi}`);
  const maxWaitMs = numberOption(options, "max-wait-ms", 100);
  const consumerHeapMib = numberOption(options, "consumer-heap-mib", CONSUMER_HEAP_MIB);
  const fsync = options["fsync"] ?? "always";

  const broker = await startBenchBroker({ fsync });
  try {
    let maxRecordsPerSec: number;
    if (options["rate-mb-s"] !== undefined) {
      maxRecordsPerSec = (numberOption(options, "rate-mb-s", 0) * 1024 * 1024) / recordBytes;
    } else {
      await createBenchTopic(broker.bootstrap, "bench-latency-probe", partitions);
      const records = Math.round((probeMb * 1024 * 1024) / recordBytes);
      const probe = await produceAll({ bootstrap: broker.bootstrap, topic: "bench-latency-probe", records, recordBytes, batchBytes: 512 * 1024, lingerMs: probeLingerMs, inflight: 5, api: probeApi });
      maxRecordsPerSec = records / probe.seconds;
    }
    const rate = maxRecordsPerSec * fraction;

    const topic = "bench-latency";
    await createBenchTopic(broker.bootstrap, topic, partitions);
    const consumer = await startLatencyConsumer({ bootstrap: broker.bootstrap, topic, partitions, maxWaitMs }, consumerHeapMib);
    const start = performance.now();
    consumer.sampleFrom(epochNowMs() + WARMUP_MS);
    setTimeout(() => producerLoop.enable(), WARMUP_MS).unref();
    const producer = new Producer({ bootstrap: broker.bootstrap, acks: "all", lingerMs });
    let samples: number[];
    let consumerLoopMaxMs: number;
    const producerLoop = monitorEventLoopDelay({ resolution: 1 });
    let sent = 0;
    let failed: unknown;
    try {
      const template = recordValue(recordBytes, 7);
      const keys = Array.from({ length: 4096 }, (_, i) => Buffer.from(`key-${i}`));
      const endAt = start + WARMUP_MS + seconds * 1000;
      while (performance.now() < endAt && failed === undefined) {
        const due = Math.floor(((performance.now() - start) / 1000) * rate);
        while (sent < due) {
          const value = Buffer.from(template);
          value.writeDoubleLE(epochNowMs(), 0);
          producer.send({ topic, key: keys[sent % keys.length], value }).catch((error: unknown) => (failed = error));
          sent++;
        }
        await new Promise((resolve) => setTimeout(resolve, PACING_TICK_MS));
      }
      producerLoop.disable();
      await producer.flush();
      if (failed !== undefined) throw failed;
      const result = await consumer.finish(sent);
      if (result.received < sent) throw new Error(`consumer received ${result.received} of ${sent} records`);
      samples = result.samples;
      consumerLoopMaxMs = result.loopDelayMaxMs;
    } finally {
      await producer.close();
      consumer.kill();
    }

    samples.sort((a, b) => a - b);
    // Where the time goes on the broker side (its own histograms): produce and fsync averages.
    const produceCount = await broker.metric("sluice_rpc_duration_seconds_count", { method: "DataProduce" });
    const produceSum = await broker.metric("sluice_rpc_duration_seconds_sum", { method: "DataProduce" });
    const fetchCount = await broker.metric("sluice_rpc_requests_total", { method: "DataFetch" });
    const fsyncCount = await broker.metric("sluice_log_fsync_duration_seconds_count");
    const fsyncSum = await broker.metric("sluice_log_fsync_duration_seconds_sum");
    const metrics = {
      e2e_p50_ms: percentile(samples, 50),
      e2e_p99_ms: percentile(samples, 99),
      e2e_max_ms: samples[samples.length - 1] ?? Number.NaN,
      target_records_s: rate,
      max_records_s: maxRecordsPerSec,
      target_mb_s: (rate * recordBytes) / (1024 * 1024),
      samples: samples.length,
      broker_produce_avg_ms: produceCount === 0 ? Number.NaN : (1000 * produceSum) / produceCount,
      broker_fsync_avg_ms: fsyncCount === 0 ? Number.NaN : (1000 * fsyncSum) / fsyncCount,
      broker_fetches_per_s: fetchCount / (WARMUP_MS / 1000 + seconds),
      producer_event_loop_delay_max_ms: producerLoop.max / 1e6,
      consumer_event_loop_delay_max_ms: consumerLoopMaxMs,
    };
    printTable(`end-to-end latency at ${Math.round(fraction * 100)}% of max rate`, [
      ["max rate records/s", maxRecordsPerSec],
      ["target records/s", rate],
      ["target MiB/s", metrics.target_mb_s],
      ["records sent", sent],
      ["samples", samples.length],
      ["p50 ms", metrics.e2e_p50_ms],
      ["p99 ms", metrics.e2e_p99_ms],
      ["max ms", metrics.e2e_max_ms],
      ["broker produce avg ms", metrics.broker_produce_avg_ms],
      ["broker fsync avg ms", metrics.broker_fsync_avg_ms],
      ["broker fetches/s (data listener)", metrics.broker_fetches_per_s],
      ["producer event-loop stall max ms", metrics.producer_event_loop_delay_max_ms],
      ["consumer event-loop stall max ms", metrics.consumer_event_loop_delay_max_ms],
    ]);
    return {
      config: { record_bytes: recordBytes, partitions, acks: "all", fsync, seconds, rate_fraction: fraction, linger_ms: lingerMs, probe_linger_ms: probeLingerMs, probe_api: probeApi, max_wait_ms: maxWaitMs, consumer_heap_mib: consumerHeapMib, client: "@sluice/client Producer + Consumer" },
      metrics,
    };
  } finally {
    await broker.stop();
  }
}
