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
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { grpcChannelOptions } from "@sluice/protocol";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";
import { baselineService } from "./support/grpc-baseline-service.js";
import { limits } from "@sluice/client";

/** The same transport tuning the SDK's channels use (32 MiB HTTP/2 receive window), so the
 * comparison measures Sluice, not a difference in flow-control settings. */
const clientChannelOptions: grpc.ChannelOptions = { ...grpcChannelOptions, "grpc-node.flow_control_window": limits.CLIENT_RECEIVE_WINDOW_BYTES };

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
  /** CPU seconds (user + system) per GiB moved, of the client process and of the server process. */
  readonly clientCpuSPerGiB: number;
  readonly serverCpuSPerGiB: number;
}

interface BaselineServer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux); NaN elsewhere. */
export function childCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
/** Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every common build). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) this process has used since `since` (a process.cpuUsage() result). */
export function ownCpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Seconds per GiB (2^30 bytes). */
export function perGiB(seconds: number, bytes: number): number {
  return seconds / (bytes / 2 ** 30);
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
    pid: child.pid ?? -1,
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
  const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), clientChannelOptions);
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
    const clientCpu = process.cpuUsage();
    const serverCpu = childCpuSeconds(server.pid);
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
    const clientCpuSPerGiB = perGiB(ownCpuSeconds(clientCpu), bytes);
    const serverCpuSPerGiB = perGiB(childCpuSeconds(server.pid) - serverCpu, bytes);
    call.end();
    return { mbPerSec: mibPerSec(bytes, seconds), messages, seconds, clientCpuSPerGiB, serverCpuSPerGiB };
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
    ["client CPU s/GiB", result.clientCpuSPerGiB],
    ["server CPU s/GiB", result.serverCpuSPerGiB],
  ]);
  return {
    config: { direction, message_bytes: messageBytes, total_bytes: totalBytes, inflight },
    metrics: { grpc_baseline_mb_s: result.mbPerSec, client_cpu_s_per_gib: result.clientCpuSPerGiB, server_cpu_s_per_gib: result.serverCpuSPerGiB },
  };
}
