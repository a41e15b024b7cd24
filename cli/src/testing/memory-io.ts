/** A CliIo in memory for tests: captured stdout/stderr, a given stdin, a controllable stop signal. */
import { PassThrough, Readable } from "node:stream";
import type { CliIo } from "../io.js";

export interface MemoryIo extends CliIo {
  stdoutText(): string;
  stdoutBytes(): Buffer;
  stderrText(): string;
  stop(): void;
}

export function memoryIo(options: { stdin?: string | Buffer; env?: Record<string, string>; cwd?: string; stderrIsTTY?: boolean } = {}): MemoryIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const controller = new AbortController();
  return {
    stdout,
    stderr,
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? {},
    stderrIsTTY: options.stderrIsTTY ?? false,
    signal: controller.signal,
    cwd: options.cwd ?? process.cwd(),
    now: () => Date.now(),
    stdoutText: () => Buffer.concat(out).toString("utf8"),
    stdoutBytes: () => Buffer.concat(out),
    stderrText: () => Buffer.concat(err).toString("utf8"),
    stop: () => controller.abort(),
  };
}
