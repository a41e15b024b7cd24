/**
 * `sluice consume <topic> --group <id>`: consume as a member of a consumer group. The group
 * decides which partitions this process reads (others running the same command share them);
 * each partition starts at the group's committed offset, else at the end (`--from-beginning`:
 * at the oldest record). Positions are committed every few seconds and when the command stops
 * (after `-n` records, on Ctrl-C, or when stdout is closed), so the next run continues there.
 */
import { GroupConsumer } from "@sluice/client";
import type { CommandContext } from "../context.js";
import { recordJson, renderRecord, type CompiledFormat } from "../format.js";
import { writeOut } from "../io.js";
import { TOPIC_WAIT_MS } from "../limits.js";

export interface GroupConsumeOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly format: CompiledFormat;
  readonly count: number | undefined;
  readonly fromBeginning: boolean;
}

export async function consumeGroup(ctx: CommandContext, options: GroupConsumeOptions): Promise<number> {
  const consumer = new GroupConsumer({
    bootstrap: ctx.bootstrap,
    groupId: options.groupId,
    clientId: "sluice-cli",
    autoOffsetReset: options.fromBeginning ? "earliest" : "latest",
    metadataWaitMs: TOPIC_WAIT_MS,
  });
  const stop = (): void => void consumer.close();
  ctx.io.signal.addEventListener("abort", stop, { once: true });
  const onStdoutError = (): void => stop(); // EPIPE: the reader went away
  ctx.io.stdout.on("error", onStdoutError);
  let printed = 0;
  try {
    // Fail fast on a topic that does not exist (a group would just wait for it).
    await consumer.cluster.topic(options.topic, TOPIC_WAIT_MS);
    consumer.subscribe({ topics: [options.topic] });
    const json = ctx.output === "json";
    for await (const record of consumer) {
      const chunks: Buffer[] = [];
      if (json) chunks.push(Buffer.from(`${recordJson(record)}\n`));
      else renderRecord(options.format, record, chunks);
      await writeOut(ctx.io.stdout, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      printed++;
      if (options.count !== undefined && printed >= options.count) break;
    }
  } finally {
    ctx.io.signal.removeEventListener("abort", stop);
    ctx.io.stdout.off("error", onStdoutError);
    await consumer.close();
  }
  if (ctx.io.stderrIsTTY) await ctx.note(`consumed ${printed} records (group "${options.groupId}")`);
  return 0;
}
