/**
 * `sluice consume <topic>`: print records with a kcat-like `--format` template (or JSON lines
 * with `--output json`). Starts at the end by default (new records only), or at the beginning,
 * an offset (negative: that many before the end), or a time. Stops after `-n` records, at the
 * end of the partitions with `--exit`, on Ctrl-C, or when stdout is closed (`| head`).
 * With `--group` it joins a consumer group instead (consume-group.ts).
 */
import { Consumer, type ConsumerBatch, type TopicPartition } from "@sluice/client";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../context.js";
import { consumeGroup } from "./consume-group.js";
import { compileFormat, DEFAULT_FORMAT, FormatError, recordJson, renderRecord } from "../format.js";
import { writeOut } from "../io.js";
import { TOPIC_WAIT_MS } from "../limits.js";
import { parseTimestamp } from "../timestamp.js";

export const consumeSpecs: readonly CommandSpec[] = [
  {
    name: "consume",
    summary: "Print records of a topic.",
    positionals: [{ name: "topic", required: true }],
    flags: [
      { name: "from-beginning", kind: "boolean", description: "start at the oldest record" },
      { name: "from-end", kind: "boolean", description: "start after the newest record (the default)" },
      { name: "offset", kind: "int", valueName: "N", description: "start at offset N; negative: N records before the end" },
      { name: "from-timestamp", kind: "string", valueName: "T", description: "start at the first record at or after T (ms or ISO date)" },
      { name: "partition", short: "p", kind: "list", valueName: "N", description: "only this partition", defaultText: "all" },
      { name: "count", short: "n", kind: "int", valueName: "N", description: "stop after N records" },
      { name: "exit", short: "e", kind: "boolean", description: "stop at the end of the partitions (as they were at start)" },
      { name: "format", short: "f", kind: "string", valueName: "fmt", description: "%k key %v value %o offset %p partition %T timestamp %t topic %h headers %K/%S lengths, \\n \\t", defaultText: "%v\\n" },
      { name: "group", short: "g", kind: "string", valueName: "id", description: "join this consumer group: share partitions with its members, start at its committed offsets, commit" },
    ],
    examples: ["sluice consume orders --group billing --from-beginning", "sluice consume orders --from-beginning -n 10", "sluice consume orders --offset -5 --exit -f '%p:%o %k=%v\\n'", "sluice consume orders --from-timestamp 2024-05-01T00:00:00Z --output json"],
  },
];

export async function consume(ctx: CommandContext): Promise<number> {
  const topic = ctx.positional("topic");
  const starts = ["from-beginning", "from-end", "offset", "from-timestamp"].filter((f) => ctx.parsed.flags[f] !== undefined && ctx.parsed.flags[f] !== false);
  if (starts.length > 1) throw ctx.usage(`choose one start position, got ${starts.map((s) => `--${s}`).join(" and ")}`);
  const count = ctx.int("count");
  if (count !== undefined && count < 0) throw ctx.usage("--count must be >= 0");
  let format;
  try {
    format = compileFormat(ctx.string("format") ?? DEFAULT_FORMAT);
  } catch (error) {
    if (error instanceof FormatError) throw ctx.usage(`--format: ${error.message}`);
    throw error;
  }
  const timestampText = ctx.string("from-timestamp");
  const timestamp = timestampText === undefined ? undefined : parseTimestamp(timestampText);
  if (timestampText !== undefined && timestamp === undefined) throw ctx.usage(`--from-timestamp needs milliseconds since the epoch or an ISO date, got "${timestampText}"`);
  const partitionsWanted = ctx.list("partition").map((p) => {
    if (!/^\d+$/.test(p)) throw ctx.usage(`--partition needs a partition number, got "${p}"`);
    return Number(p);
  });
  if (count === 0) return 0;
  const groupId = ctx.string("group");
  if (groupId !== undefined) {
    const positional = ["offset", "from-timestamp", "exit", "partition"].filter((f) => ctx.parsed.flags[f] !== undefined && ctx.parsed.flags[f] !== false);
    if (positional.length > 0) throw ctx.usage(`--group takes its partitions and positions from the group; ${positional.map((f) => `--${f}`).join(" and ")} cannot be used with it`);
    return consumeGroup(ctx, { topic, groupId, format, count, fromBeginning: ctx.bool("from-beginning") });
  }

  const consumer = new Consumer({ bootstrap: ctx.bootstrap, autoOffsetReset: "latest", metadataWaitMs: TOPIC_WAIT_MS });
  const stop = (): void => void consumer.close();
  ctx.io.signal.addEventListener("abort", stop, { once: true });
  const onStdoutError = (): void => stop(); // EPIPE: the reader went away
  ctx.io.stdout.on("error", onStdoutError);
  let printed = 0;
  try {
    const info = await consumer.cluster.topic(topic, TOPIC_WAIT_MS);
    const all = info.partitions.map((p) => p.partition);
    for (const p of partitionsWanted) {
      if (!all.includes(p)) throw ctx.usage(`topic "${topic}" has no partition ${p} (it has ${all.length})`);
    }
    const tps: TopicPartition[] = (partitionsWanted.length > 0 ? [...new Set(partitionsWanted)] : all).map((partition) => ({ topic, partition }));
    consumer.assign(tps);
    const offset = ctx.int("offset");
    if (ctx.bool("from-beginning")) await consumer.seekToBeginning();
    else if (timestamp !== undefined) await consumer.seekToTimestamp(timestamp);
    else if (offset !== undefined) {
      const [begins, ends] = await Promise.all([consumer.beginningOffsets(), consumer.endOffsets()]);
      for (const [i, tp] of tps.entries()) {
        const begin = begins[i]!.offset;
        const end = ends[i]!.offset;
        consumer.seek(tp, offset >= 0 ? offset : Math.max(begin, end + offset));
      }
    } else await consumer.seekToEnd();

    // --exit: the end of each partition as it is now.
    const remaining = new Map<number, number>();
    if (ctx.bool("exit")) {
      const ends = await consumer.endOffsets();
      for (const [i, tp] of tps.entries()) {
        const end = ends[i]!.offset;
        if ((consumer.position(tp) ?? end) < end) remaining.set(tp.partition, end);
      }
      if (remaining.size === 0) return 0;
    }

    const json = ctx.output === "json";
    // Output is written once per fetched batch: few writes, memory bounded by one batch.
    const write = async (batch: ConsumerBatch): Promise<boolean> => {
      const chunks: Buffer[] = [];
      let done = false;
      for (const record of batch.records) {
        if (json) chunks.push(Buffer.from(`${recordJson(record)}\n`));
        else renderRecord(format, record, chunks);
        printed++;
        if (count !== undefined && printed >= count) {
          done = true;
          break;
        }
      }
      if (chunks.length > 0) await writeOut(ctx.io.stdout, Buffer.concat(chunks));
      return done;
    };
    for await (const batch of consumer.batches()) {
      const done = await write(batch);
      const end = remaining.get(batch.partition);
      if (end !== undefined && (consumer.position({ topic, partition: batch.partition }) ?? 0) >= end) remaining.delete(batch.partition);
      if (done || (ctx.bool("exit") && remaining.size === 0)) break;
    }
  } finally {
    ctx.io.signal.removeEventListener("abort", stop);
    ctx.io.stdout.off("error", onStdoutError);
    await consumer.close();
  }
  if (ctx.io.stderrIsTTY) await ctx.note(`consumed ${printed} records`);
  return 0;
}
