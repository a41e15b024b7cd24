/**
 * The command table and dispatcher of `sluice`: parse argv, run the command, turn errors into
 * messages and exit codes (0 ok, 1 the operation failed, 2 bad usage). No process globals
 * here: main.ts passes the process's IO, tests pass their own.
 */
import { SluiceError } from "@sluice/protocol";
import { ConfigError, parseBootstrap } from "@sluice/client";
import { parseCommandLine, UsageError, type CommandSpec } from "./args.js";
import { clusterDescribe, clusterSpecs } from "./commands/cluster.js";
import { consume, consumeSpecs } from "./commands/consume.js";
import { dev, devSpecs } from "./commands/dev.js";
import { groupDelete, groupDescribe, groupList, groupResetOffsets, groupSpecs } from "./commands/group.js";
import { produce, produceSpecs } from "./commands/produce.js";
import { topicAlter, topicCreate, topicDelete, topicDescribe, topicList, topicSpecs } from "./commands/topic.js";
import { CommandContext, type OutputFormat } from "./context.js";
import type { CliIo } from "./io.js";
import { BOOTSTRAP_DEFAULT } from "./limits.js";

export const CLI_VERSION = "0.1.0";

export const commandSpecs: readonly CommandSpec[] = [...devSpecs, ...topicSpecs, ...produceSpecs, ...consumeSpecs, ...groupSpecs, ...clusterSpecs];

const handlers: Readonly<Record<string, (ctx: CommandContext) => Promise<number>>> = {
  dev,
  "topic create": topicCreate,
  "topic list": topicList,
  "topic describe": topicDescribe,
  "topic alter": topicAlter,
  "topic delete": topicDelete,
  produce,
  consume,
  "group list": groupList,
  "group describe": groupDescribe,
  "group reset-offsets": groupResetOffsets,
  "group delete": groupDelete,
  "cluster describe": clusterDescribe,
};

function describeError(error: unknown): string {
  if (error instanceof SluiceError) {
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : "";
    return `${error.errorName}: ${error.message}${cause}`;
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let commandName: string | undefined;
  try {
    const result = parseCommandLine(argv, commandSpecs);
    if (result.kind === "help") {
      io.stdout.write(`${result.text}\n`);
      return 0;
    }
    if (result.kind === "version") {
      io.stdout.write(`sluice ${CLI_VERSION}\n`);
      return 0;
    }
    const { parsed } = result;
    commandName = parsed.command.name;
    const output = parsed.flags["output"] ?? "table";
    if (output !== "table" && output !== "json") throw new UsageError(`--output must be table or json, got "${String(output)}"`, commandName);
    const bootstrapFlag = parsed.flags["bootstrap"];
    const bootstrap = typeof bootstrapFlag === "string" ? bootstrapFlag : (io.env["SLUICE_BOOTSTRAP"] ?? BOOTSTRAP_DEFAULT);
    try {
      parseBootstrap(bootstrap);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(`--bootstrap: ${error.message}`, commandName);
      throw error;
    }
    const handler = handlers[parsed.command.name];
    if (handler === undefined) throw new UsageError(`no handler for ${parsed.command.name}`);
    return await handler(new CommandContext(parsed, io, bootstrap, output as OutputFormat));
  } catch (error) {
    if (error instanceof UsageError) {
      const about = error.commandName ?? commandName;
      io.stderr.write(`sluice: ${error.message}\n${about === undefined ? "" : `run 'sluice ${about} --help' for usage\n`}`);
      return 2;
    }
    // The reader of stdout went away (`sluice consume t | head`): a normal end, not a failure.
    if ((error as NodeJS.ErrnoException | undefined)?.code === "EPIPE") return 0;
    io.stderr.write(`sluice: error: ${describeError(error)}\n`);
    return 1;
  }
}
