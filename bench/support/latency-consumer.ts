/**
 * The consuming side of `npm run bench -- latency`, in a process of its own — as consumers run in
 * production: the producer and the consumer no longer share one event loop and one heap, so a
 * burst of sends (or its garbage collection) does not delay the receipts it is being timed by.
 *
 * Protocol with the bench (one JSON object per line):
 *   argv: JSON {bootstrap, topic, partitions, maxWaitMs}
 *   stdout ← {"ready":true} once assigned at the end of every partition
 *   stdin  → {"sampleFromEpochMs":T} records sent before T (the warm-up) are not sampled
 *   stdin  → {"expect":N} after the producer flushed N records
 *   stdout ← {"received":N,"samples":[...ms],"loopDelayMaxMs":D} once N records arrived (or after
 *            10 s), then exit; D is the longest event-loop stall this process saw while sampling
 *
 * Each record's value starts with its send time as a float64 of epoch milliseconds
 * (performance.timeOrigin + performance.now(), microsecond resolution, the same clock in every
 * process of the machine); latency = receipt time − send time, sampled for records sent at or
 * after the time the bench gives (the warm-up is not sampled).
 */
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { Consumer } from "@sluice/client";
import { epochNowMs } from "../report.js";

interface Args {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  readonly maxWaitMs: number;
}

const EXPECT_WAIT_MS = 10_000;

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as Args;
  const consumer = new Consumer({ bootstrap: args.bootstrap, autoOffsetReset: "latest", maxWaitMs: args.maxWaitMs, minBytes: 1 });
  consumer.assign(Array.from({ length: args.partitions }, (_, partition) => ({ topic: args.topic, partition })));
  await consumer.seekToEnd();
  const samples: number[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  // LATENCY_TRACE=<file>: one line per sampled record (ms since sampling began, latency ms, partition).
  const trace: string[] | undefined = process.env["LATENCY_TRACE"] === undefined ? undefined : [];
  let received = 0;
  let expected = Number.POSITIVE_INFINITY;
  let sampleFromEpochMs = Number.POSITIVE_INFINITY;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const message = JSON.parse(line) as { expect?: number; sampleFromEpochMs?: number };
    if (message.sampleFromEpochMs !== undefined) {
      sampleFromEpochMs = message.sampleFromEpochMs;
      loopDelay.enable();
    }
    if (message.expect === undefined) return;
    expected = message.expect;
    if (received >= expected) done();
    setTimeout(done, EXPECT_WAIT_MS).unref();
  });
  const consuming = (async () => {
    for await (const batch of consumer.batches()) {
      const now = epochNowMs();
      for (const record of batch.records) {
        const sentAt = record.value?.readDoubleLE(0) ?? now;
        if (sentAt >= sampleFromEpochMs) {
          samples.push(now - sentAt);
          if (trace !== undefined) trace.push(`${(sentAt - sampleFromEpochMs).toFixed(2)} ${(now - sentAt).toFixed(2)} ${batch.partition}\n`);
        }
        received++;
      }
      if (received >= expected) done();
    }
  })();
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await finished;
  lines.close();
  await consumer.close();
  await consuming;
  if (trace !== undefined) writeFileSync(process.env["LATENCY_TRACE"]!, trace.join(""));
  loopDelay.disable();
  const loopDelayMaxMs = loopDelay.max / 1e6;
  process.stdout.write(`${JSON.stringify({ received, samples, loopDelayMaxMs })}\n`);
}

await main();
