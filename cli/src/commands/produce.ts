/**
 * `sluice produce <topic>`: one record per input line, from stdin or `--file`. Keys come from
 * `--key-separator` (the line is split at its first occurrence), headers from `--header k=v`.
 * Records are handed to the Producer with back-pressure (`enqueue` waits when the producer's
 * buffer is full), so memory stays bounded for inputs of any size. The command succeeds only if
 * every record was acknowledged; the first failure stops reading and is reported.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Producer, type Acks, type CompressionName } from "@sluice/client";
import type { CommandSpec } from "../args.js";
import { keyValuePairs } from "../args.js";
import type { CommandContext } from "../context.js";
import { writeOut } from "../io.js";
import { LINE_BYTES_MAX, TOPIC_WAIT_MS } from "../limits.js";
import { LineSplitter, splitKey } from "../lines.js";
import { ProgressReporter } from "../progress.js";
import { formatBytes } from "../table.js";

export const produceSpecs: readonly CommandSpec[] = [
  {
    name: "produce",
    summary: "Produce one record per line of stdin or a file.",
    positionals: [{ name: "topic", required: true }],
    flags: [
      { name: "file", kind: "string", valueName: "path", description: "read lines from this file instead of stdin" },
      { name: "key-separator", short: "K", kind: "string", valueName: "sep", description: "split each line into key and value at the first sep" },
      { name: "header", short: "H", kind: "list", valueName: "k=v", description: "header added to every record" },
      { name: "partition", short: "p", kind: "int", valueName: "N", description: "send every record to this partition" },
      { name: "compression", short: "z", kind: "string", valueName: "codec", description: "none|gzip|snappy|lz4|zstd", defaultText: "none" },
      { name: "acks", kind: "string", valueName: "0|1|all", description: "acknowledgement level", defaultText: "all" },
      { name: "linger-ms", kind: "int", valueName: "ms", description: "how long a batch waits for more records", defaultText: "5" },
      { name: "batch-bytes", kind: "int", valueName: "bytes", description: "batch size per partition", defaultText: "524288" },
      { name: "progress", kind: "boolean", description: "draw a progress bar for --file even when stderr is not a terminal" },
      { name: "no-progress", kind: "boolean", description: "never draw a progress bar" },
    ],
    examples: ["echo 'hello' | sluice produce demo", "sluice produce orders --file orders.txt --key-separator ':' --header source=import --compression zstd"],
  },
];

const compressions: ReadonlySet<string> = new Set(["none", "gzip", "snappy", "lz4", "zstd"]);
const acksByText: Readonly<Record<string, Acks>> = { "0": 0, "1": 1, "-1": -1, all: "all" };

export async function produce(ctx: CommandContext): Promise<number> {
  const topic = ctx.positional("topic");
  const compression = ctx.string("compression") ?? "none";
  if (!compressions.has(compression)) throw ctx.usage(`--compression must be none, gzip, snappy, lz4 or zstd, got "${compression}"`);
  const acksText = ctx.string("acks") ?? "all";
  const acks = acksByText[acksText];
  if (acks === undefined) throw ctx.usage(`--acks must be 0, 1 or all, got "${acksText}"`);
  const partition = ctx.int("partition");
  if (partition !== undefined && partition < 0) throw ctx.usage("--partition must be >= 0");
  const separatorText = ctx.string("key-separator");
  if (separatorText === "") throw ctx.usage("--key-separator must not be empty");
  const separator = separatorText === undefined ? undefined : Buffer.from(separatorText, "utf8");
  const headers = Object.entries(keyValuePairs(ctx.list("header"), "header", ctx.name)).map(([key, value]) => ({ key, value: Buffer.from(value, "utf8") }));
  const file = ctx.string("file");
  const lingerMs = ctx.int("linger-ms");
  const batchBytes = ctx.int("batch-bytes");

  const path = file === undefined || file === "-" ? undefined : resolve(ctx.io.cwd, file);
  const totalBytes = path === undefined ? undefined : (await stat(path)).size;
  const input: NodeJS.ReadableStream = path === undefined ? ctx.io.stdin : createReadStream(path);
  const showProgress = totalBytes !== undefined && !ctx.bool("no-progress") && (ctx.bool("progress") || ctx.io.stderrIsTTY);
  const startMs = ctx.io.now();
  const progress = showProgress ? new ProgressReporter({ write: (text) => void writeOut(ctx.io.stderr, text) }, totalBytes, startMs) : undefined;

  const producer = new Producer({
    bootstrap: ctx.bootstrap,
    acks,
    compression: compression as CompressionName,
    metadataWaitMs: TOPIC_WAIT_MS,
    ...(lingerMs === undefined ? {} : { lingerMs }),
    ...(batchBytes === undefined ? {} : { batchBytes }),
  });
  let sent = 0;
  let acknowledged = 0;
  let valueBytes = 0;
  let readBytes = 0;
  let failure: unknown;
  const perPartition = new Map<number, number>();
  const onAck = (meta: { partition: number }): void => {
    acknowledged++;
    perPartition.set(meta.partition, (perPartition.get(meta.partition) ?? 0) + 1);
  };
  const onFail = (error: unknown): void => {
    failure ??= error;
  };
  const send = async (line: Buffer): Promise<void> => {
    const { key, value } = splitKey(line, separator);
    const { delivered } = await producer.enqueue({ topic, key, value, ...(headers.length === 0 ? {} : { headers }), ...(partition === undefined ? {} : { partition }) });
    sent++;
    valueBytes += line.length;
    delivered.then(onAck, onFail);
  };

  try {
    const splitter = new LineSplitter(LINE_BYTES_MAX);
    for await (const chunk of input) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      readBytes += bytes.length;
      for (const line of splitter.push(bytes)) {
        if (failure !== undefined || ctx.io.signal.aborted) break;
        await send(line);
      }
      if (failure !== undefined || ctx.io.signal.aborted) break;
      progress?.update(readBytes, sent, ctx.io.now());
    }
    const last = splitter.end();
    if (last !== undefined && failure === undefined && !ctx.io.signal.aborted) await send(last);
    await producer.flush();
  } catch (error) {
    failure ??= error;
  } finally {
    await producer.close();
    if (path !== undefined && "destroy" in input && typeof input.destroy === "function") input.destroy();
  }
  // Acknowledgement callbacks run before flush() returns; this settles any still queued.
  await new Promise((r) => setImmediate(r));
  const elapsedMs = ctx.io.now() - startMs;
  if (progress !== undefined) {
    if (failure === undefined) progress.finish(readBytes, sent, ctx.io.now());
    else progress.clear();
  }
  if (failure !== undefined) throw failure;
  if (ctx.output === "json") {
    await ctx.json({ topic, records: acknowledged, bytes: valueBytes, partitions: Object.fromEntries([...perPartition].sort((a, b) => a[0] - b[0])), durationMs: elapsedMs });
  } else {
    await ctx.note(`produced ${acknowledged} records (${formatBytes(valueBytes)}) to "${topic}" in ${(elapsedMs / 1000).toFixed(2)} s`);
  }
  return 0;
}
