/**
 * Baseline for the broker benchmarks: how fast bare grpc-js moves the same bytes, in the same
 * message sizes, with the same number of messages in flight, between two processes on loopback.
 * produce.ts / consume.ts divide their throughput by this (measured in the same run).
 *
 *   push  client → server payloads, 8-byte acks back   (the shape of Produce / ProduceStream)
 *   pull  4-byte requests, server → client payloads    (the shape of Fetch)
 *
 * Also a benchmark of its own: `npm run bench -- grpc-baseline [--message-kib 1024] [--mb 256]
 * [--inflight 4] [--direction push|pull]`.
 */
import * as grpc from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { grpcChannelOptions } from "@sluice/protocol";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { baselineService } from "./support/grpc-baseline-service.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface BaselineOptions {
  readonly direction: "push" | "pull";
  readonly messageBytes: number;
  readonly totalBytes: number;
  readonly inflight: number;
}

export interface BaselineResult {
  readonly mbPerSec: number;
  readonly messages: number;
  readonly seconds: number;
}

interface BaselineServer {
  readonly port: number;
  stop(): Promise<void>;
}

async function startServer(): Promise<BaselineServer> {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(here, "support", "grpc-baseline-server.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      text += chunk;
      const nl = text.indexOf("\n");
      if (nl >= 0) resolve((JSON.parse(text.slice(0, nl)) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** MiB/s (2^20 bytes per second), the unit every broker benchmark reports. */
export function mibPerSec(bytes: number, seconds: number): number {
  return bytes / (1024 * 1024) / seconds;
}

export async function measureGrpcBaseline(options: BaselineOptions): Promise<BaselineResult> {
  const server = await startServer();
  const Client = grpc.makeGenericClientConstructor(baselineService, "Baseline");
  const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), grpcChannelOptions);
  try {
    const messages = Math.max(1, Math.round(options.totalBytes / options.messageBytes));
    const payload = Buffer.alloc(options.messageBytes, 0x62);
    const sizeRequest = Buffer.alloc(4);
    sizeRequest.writeUInt32BE(options.messageBytes, 0);
    const method = options.direction === "push" ? "Push" : "Pull";
    const call = (client as unknown as Record<string, () => grpc.ClientDuplexStream<Buffer, Buffer>>)[method]!.call(client);
    // Warm-up: one round trip so connection setup is not timed.
    await new Promise<void>((resolve) => {
      call.once("data", () => resolve());
      call.write(options.direction === "push" ? payload : sizeRequest);
    });
    const started = performance.now();
    let sent = 0;
    let received = 0;
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      const send = (): void => {
        while (sent < messages && sent - received < options.inflight) {
          sent++;
          call.write(options.direction === "push" ? payload : sizeRequest);
        }
      };
      call.on("data", (message: Buffer) => {
        received++;
        bytes += options.direction === "push" ? options.messageBytes : message.length;
        if (received === messages) resolve();
        else send();
      });
      call.on("error", reject);
      send();
    });
    const seconds = (performance.now() - started) / 1000;
    call.end();
    return { mbPerSec: mibPerSec(bytes, seconds), messages, seconds };
  } finally {
    client.close();
    await server.stop();
  }
}

/**
 * The baseline as a ceiling: the best of several in-flight depths (grpc-js's throughput for a
 * message size depends on how many messages are in flight, and the clients we compare with
 * pipeline differently). Returns the best result and the depth that gave it.
 */
export async function measureGrpcCeiling(
  options: Omit<BaselineOptions, "inflight">,
  depths: readonly number[] = [2, 4, 8],
): Promise<BaselineResult & { readonly inflight: number }> {
  let best: (BaselineResult & { inflight: number }) | undefined;
  for (const inflight of [...new Set(depths)]) {
    const result = await measureGrpcBaseline({ ...options, inflight });
    if (best === undefined || result.mbPerSec > best.mbPerSec) best = { ...result, inflight };
  }
  if (best === undefined) throw new Error("no in-flight depth to measure");
  return best;
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const messageBytes = numberOption(options, "message-kib", 1024) * 1024;
  const totalBytes = numberOption(options, "mb", 256) * 1024 * 1024;
  const inflight = numberOption(options, "inflight", 4);
  const direction = options["direction"] === "pull" ? "pull" : "push";
  const result = await measureGrpcBaseline({ direction, messageBytes, totalBytes, inflight });
  printTable(`bare grpc-js ${direction}`, [
    ["message bytes", messageBytes],
    ["messages", result.messages],
    ["in flight", inflight],
    ["seconds", result.seconds],
    ["MiB/s", result.mbPerSec],
  ]);
  return {
    config: { direction, message_bytes: messageBytes, total_bytes: totalBytes, inflight },
    metrics: { grpc_baseline_mb_s: result.mbPerSec },
  };
}
