// Proves the CLI parser: commands of one or two words, every flag syntax, repeatable flags,
// negative numbers as values, positionals, generated help, and clear errors for bad input.
import { describe, expect, it } from "vitest";
import { commandHelp, keyValuePairs, parseCommandLine, UsageError, type CommandSpec, type ParsedCommand } from "./args.js";
import { commandSpecs } from "./run.js";

function parse(argv: string[], specs: readonly CommandSpec[] = commandSpecs): ParsedCommand {
  const result = parseCommandLine(argv, specs);
  if (result.kind !== "command") throw new Error(`expected a command, got ${result.kind}`);
  return result.parsed;
}

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, commandSpecs);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`expected a usage error for ${argv.join(" ")}`);
}

describe("parseCommandLine", () => {
  it("parses two-word commands with positionals and every flag syntax", () => {
    const parsed = parse(["topic", "create", "orders", "--partitions", "6", "--replication-factor=1", "-c", "retention.ms=1000", "--config=cleanup.policy=compact", "--if-not-exists"]);
    expect(parsed.command.name).toBe("topic create");
    expect(parsed.positionals).toEqual({ topic: "orders" });
    expect(parsed.flags).toEqual({ partitions: 6, "replication-factor": 1, config: ["retention.ms=1000", "cleanup.policy=compact"], "if-not-exists": true });
  });

  it("accepts global flags before the command and short flags with attached values", () => {
    const parsed = parse(["--bootstrap", "10.0.0.1:9092", "consume", "t", "-n5", "-p", "2", "-o", "json"]);
    expect(parsed.command.name).toBe("consume");
    expect(parsed.flags).toMatchObject({ bootstrap: "10.0.0.1:9092", count: 5, partition: ["2"], output: "json" });
  });

  it("takes negative numbers as values of integer flags", () => {
    expect(parse(["consume", "t", "--offset", "-10"]).flags["offset"]).toBe(-10);
    expect(parse(["consume", "t", "--offset=-3"]).flags["offset"]).toBe(-3);
  });

  it("collects variadic positionals and treats everything after -- as positional", () => {
    expect(parse(["topic", "delete", "a", "b", "c"]).positionals).toEqual({ topic: ["a", "b", "c"] });
    expect(parse(["topic", "delete", "--", "--weird"]).positionals).toEqual({ topic: ["--weird"] });
  });

  it("returns help for --help anywhere, per command and for groups", () => {
    const top = parseCommandLine(["--help"], commandSpecs);
    expect(top.kind).toBe("help");
    const command = parseCommandLine(["produce", "t", "--help"], commandSpecs);
    expect(command.kind === "help" && command.text).toContain("--key-separator");
    const group = parseCommandLine(["topic"], commandSpecs);
    expect(group.kind === "help" && group.text).toContain("topic create");
    expect(parseCommandLine(["--version"], commandSpecs).kind).toBe("version");
  });

  it("explains unknown commands and flags, with a suggestion", () => {
    expect(usageError(["produs", "t"]).message).toContain("did you mean produce");
    expect(usageError(["topic", "crate", "x"]).message).toContain("did you mean topic create");
    const flag = usageError(["consume", "t", "--from-begining"]);
    expect(flag.message).toContain("unknown flag --from-begining");
    expect(flag.message).toContain("--from-beginning");
    expect(flag.commandName).toBe("consume");
  });

  it("rejects missing values, bad numbers, repeated single flags, missing and extra arguments", () => {
    expect(usageError(["topic", "create", "x", "--partitions"]).message).toBe("--partitions needs a value (N)");
    expect(usageError(["topic", "create", "x", "--partitions", "many"]).message).toContain("needs an integer");
    expect(usageError(["topic", "create", "x", "--partitions", "1", "--partitions", "2"]).message).toContain("more than once");
    expect(usageError(["topic", "create"]).message).toBe("missing <topic>");
    expect(usageError(["topic", "create", "a", "b"]).message).toContain('unexpected argument "b"');
    expect(usageError(["consume", "t", "--exit=maybe"]).message).toContain("takes no value");
    expect(usageError(["consume", "t", "--format", "--exit"]).message).toContain("--format needs a value");
  });

  it("generates help listing every flag of the command and the global ones", () => {
    const spec = commandSpecs.find((s) => s.name === "consume")!;
    const help = commandHelp(spec);
    for (const flag of spec.flags) expect(help).toContain(`--${flag.name}`);
    expect(help).toContain("--bootstrap");
    expect(help).toContain("usage: sluice consume <topic> [flags]");
  });
});

describe("keyValuePairs", () => {
  it("splits at the first = and rejects pairs without one", () => {
    expect(keyValuePairs(["a=1", "b=x=y", "c="], "config", "c")).toEqual({ a: "1", b: "x=y", c: "" });
    expect(() => keyValuePairs(["novalue"], "config", "c")).toThrow(UsageError);
    expect(() => keyValuePairs(["=v"], "config", "c")).toThrow(UsageError);
  });
});
