/** What a command handler gets: its parsed arguments, the process IO and the global options. */
import { UsageError, type ParsedCommand } from "./args.js";
import { writeOut, type CliIo } from "./io.js";

export type OutputFormat = "table" | "json";

export class CommandContext {
  constructor(
    readonly parsed: ParsedCommand,
    readonly io: CliIo,
    readonly bootstrap: string,
    readonly output: OutputFormat,
  ) {}

  get name(): string {
    return this.parsed.command.name;
  }

  string(flag: string): string | undefined {
    const value = this.parsed.flags[flag];
    return typeof value === "string" ? value : undefined;
  }

  int(flag: string): number | undefined {
    const value = this.parsed.flags[flag];
    return typeof value === "number" ? value : undefined;
  }

  bool(flag: string): boolean {
    return this.parsed.flags[flag] === true;
  }

  list(flag: string): string[] {
    const value = this.parsed.flags[flag];
    return Array.isArray(value) ? value : [];
  }

  positional(name: string): string {
    const value = this.parsed.positionals[name];
    if (typeof value !== "string") throw new UsageError(`missing <${name}>`, this.name);
    return value;
  }

  positionals(name: string): string[] {
    const value = this.parsed.positionals[name];
    return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  }

  usage(message: string): UsageError {
    return new UsageError(message, this.name);
  }

  /** Writes a line of the result to stdout. */
  out(text: string): Promise<void> {
    return writeOut(this.io.stdout, `${text}\n`);
  }

  json(value: unknown): Promise<void> {
    return this.out(JSON.stringify(value, null, 2));
  }

  /** A note for humans on stderr (never part of the result). */
  note(text: string): Promise<void> {
    return writeOut(this.io.stderr, `${text}\n`);
  }
}
