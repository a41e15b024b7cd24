/**
 * Runs the CLI in-process against a broker, capturing its output (memory-io.ts): what the
 * end-to-end tests call `sluice ...`. `ok` also fails the test, showing stderr, unless the
 * command exited 0.
 */
import { expect } from "vitest";
import { runCli } from "../run.js";
import { memoryIo } from "./memory-io.js";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunner {
  sluice(argv: string[], stdin?: string): Promise<CliResult>;
  ok(argv: string[], stdin?: string): Promise<string>;
}

/** `bootstrap` is read when a command runs, so the broker may start after this is built. */
export function cliRunner(bootstrap: () => string, cwd: () => string): CliRunner {
  const sluice = async (argv: string[], stdin?: string): Promise<CliResult> => {
    const io = memoryIo({ env: { SLUICE_BOOTSTRAP: bootstrap() }, cwd: cwd(), ...(stdin === undefined ? {} : { stdin }) });
    const code = await runCli(argv, io);
    return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
  };
  return {
    sluice,
    async ok(argv, stdin) {
      const result = await sluice(argv, stdin);
      expect(result.code, `${argv.join(" ")}\n${result.stderr}`).toBe(0);
      return result.stdout;
    },
  };
}
