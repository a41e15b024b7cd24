#!/usr/bin/env node
/**
 * `sluice`: the command-line entry point. Wires the real process (streams, environment,
 * signals) into runCli and sets the exit code. Ctrl-C (SIGINT) or SIGTERM asks the running
 * command to stop cleanly; a second one exits at once with 130.
 */
import { runCli } from "./run.js";

const controller = new AbortController();
let signals = 0;
const onSignal = (): void => {
  signals++;
  if (signals > 1) process.exit(130);
  controller.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// A closed stdout (e.g. `sluice consume t | head`) ends the command, not the process with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  controller.abort();
});

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
  signal: controller.signal,
  cwd: process.cwd(),
  now: () => Date.now(),
}).then(
  (code) => {
    process.exitCode = code;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  },
  (error: unknown) => {
    process.stderr.write(`sluice: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
