/**
 * `npm run bench -- latency`: end-to-end latency, produce → consumer receipt, through one broker
 * process, at 25% of the maximum produce rate measured in the same run.
 *
 * Workload: 1 KiB keyed records, 8 partitions, acks=all, default fsync (`always`). The max-rate
 * probe always uses the throughput configuration (`--probe-linger-ms`, the Producer's default
 * 5 ms); the timed phase uses `--linger-ms` (also 5 ms by default). A smaller linger did not help
 * when measured (5 s runs, shared machine: linger 5 → p50 27 / p99 119 ms, 1 → 19 / 163 ms,
 * 0 → 19 / 447 ms): p50 is not dominated by linger, and linger 0 makes many small sends that
 * queue behind one-send-per-partition. A Consumer tails all partitions (long poll, min_bytes 1). Each record's
 * value starts with its send time (performance.now(), same process), so latency = receipt − send.
 * The first second is warm-up and not sampled.
 *
 * Options: --seconds 10, --probe-mb 64 (the max-rate probe), --rate-fraction 0.25,
 * --rate-mb-s N (skip the probe and use N as the max), --partitions 8, --record-bytes 1024,
 * --linger-ms 5 (timed phase), --probe-linger-ms 5 (max-rate probe), --max-wait-ms 100.
 */
import { Consumer, Producer } from "@sluice/client";
import { produceAll } from "./produce.js";
import { numberOption, percentile, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { createBenchTopic, recordValue, startBenchBroker } from "./support/broker-fixture.js";

const WARMUP_MS = 1000;
/** The sender wakes this often and sends what the target rate says is due. */
const PACING_TICK_MS = 1;

export async function run(options: BenchOptions): Promise<BenchResult> {
  const seconds = numberOption(options, "seconds", 10);
  const probeMb = numberOption(options, "probe-mb", 64);
  const fraction = numberOption(options, "rate-fraction", 0.25);
  const partitions = numberOption(options, "partitions", 8);
  const recordBytes = numberOption(options, "record-bytes", 1024);
  const lingerMs = numberOption(options, "linger-ms", 5);
  const probeLingerMs = numberOption(options, "probe-linger-ms", 5);
  const maxWaitMs = numberOption(options, "max-wait-ms", 100);
  const fsync = options["fsync"] ?? "always";

  const broker = await startBenchBroker({ fsync });
  try {
    let maxRecordsPerSec: number;
    if (options["rate-mb-s"] !== undefined) {
      maxRecordsPerSec = (numberOption(options, "rate-mb-s", 0) * 1024 * 1024) / recordBytes;
    } else {
      await createBenchTopic(broker.bootstrap, "bench-latency-probe", partitions);
      const records = Math.round((probeMb * 1024 * 1024) / recordBytes);
      const probe = await produceAll({ bootstrap: broker.bootstrap, topic: "bench-latency-probe", records, recordBytes, batchBytes: 512 * 1024, lingerMs: probeLingerMs, inflight: 5 });
      maxRecordsPerSec = records / probe.seconds;
    }
    const rate = maxRecordsPerSec * fraction;

    const topic = "bench-latency";
    await createBenchTopic(broker.bootstrap, topic, partitions);
    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "latest", maxWaitMs, minBytes: 1 });
    const producer = new Producer({ bootstrap: broker.bootstrap, acks: "all", lingerMs });
    const samples: number[] = [];
    let received = 0;
    let sent = 0;
    let failed: unknown;
    try {
      consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
      await consumer.seekToEnd();
      const start = performance.now();
      const sampleFrom = start + WARMUP_MS;
      const phase = { stopping: false };
      const consuming = (async () => {
        for await (const batch of consumer.batches()) {
          const now = performance.now();
          for (const record of batch.records) {
            const sentAt = record.value?.readDoubleLE(0) ?? now;
            if (sentAt >= sampleFrom) samples.push(now - sentAt);
            received++;
          }
          if (phase.stopping && received >= sent) break;
        }
      })();
      const template = recordValue(recordBytes, 7);
      const keys = Array.from({ length: 4096 }, (_, i) => Buffer.from(`key-${i}`));
      const endAt = start + WARMUP_MS + seconds * 1000;
      while (performance.now() < endAt && failed === undefined) {
        const due = Math.floor(((performance.now() - start) / 1000) * rate);
        while (sent < due) {
          const value = Buffer.from(template);
          value.writeDoubleLE(performance.now(), 0);
          producer.send({ topic, key: keys[sent % keys.length], value }).catch((error: unknown) => (failed = error));
          sent++;
        }
        await new Promise((resolve) => setTimeout(resolve, PACING_TICK_MS));
      }
      await producer.flush();
      phase.stopping = true;
      const deadline = performance.now() + 10_000;
      while (received < sent && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      if (failed !== undefined) throw failed;
      if (received < sent) throw new Error(`consumer received ${received} of ${sent} records`);
      await consumer.close();
      await consuming;
    } finally {
      await producer.close();
      await consumer.close();
    }

    samples.sort((a, b) => a - b);
    // Where the time goes on the broker side (its own histograms): produce and fsync averages.
    const produceCount = await broker.metric("sluice_rpc_duration_seconds_count", { method: "ProduceStream" });
    const produceSum = await broker.metric("sluice_rpc_duration_seconds_sum", { method: "ProduceStream" });
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
    ]);
    return {
      config: { record_bytes: recordBytes, partitions, acks: "all", fsync, seconds, rate_fraction: fraction, linger_ms: lingerMs, probe_linger_ms: probeLingerMs, max_wait_ms: maxWaitMs, client: "@sluice/client Producer + Consumer" },
      metrics,
    };
  } finally {
    await broker.stop();
  }
}
