/**
 * `sluice dev`: a local broker in this process, for trying Sluice out (what `npm start` runs).
 * Data lives in `--data-dir` (default ./.sluice-data) and survives restarts. The broker is
 * configured like `sluice-broker` (flags here, then SLUICE_* environment variables, then
 * defaults), with quieter logs on stderr; Ctrl-C shuts it down cleanly.
 *
 * The broker package is imported lazily, so `sluice produce` and friends start fast.
 */
import { resolve } from "node:path";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../context.js";

export const devSpecs: readonly CommandSpec[] = [
  {
    name: "dev",
    summary: "Run a local broker for development (data in ./.sluice-data).",
    positionals: [],
    flags: [
      { name: "data-dir", kind: "string", valueName: "dir", description: "where topics and logs are stored", defaultText: "./.sluice-data" },
      { name: "port", kind: "int", valueName: "N", description: "gRPC port (0: any free port)", defaultText: "9092" },
      { name: "data-port", kind: "int", valueName: "N", description: "port of the data listener, Produce/Fetch over TCP (0: any free port, -1: none)", defaultText: "9093, or any free port with --port 0" },
      { name: "metrics-port", kind: "int", valueName: "N", description: "HTTP port of /metrics (-1: none)", defaultText: "9644" },
      { name: "log-level", kind: "string", valueName: "level", description: "broker log level (fatal|error|warn|info|debug|trace|silent)", defaultText: "warn" },
      { name: "fsync", kind: "string", valueName: "policy", description: "always | interval:<ms> | never", defaultText: "always" },
    ],
    examples: ["sluice dev", "sluice dev --data-dir /tmp/sluice --port 0"],
  },
];

/** The text `sluice dev` prints once the broker serves (pure, for tests). */
export function devBanner(info: { bootstrap: string; dataAddress: string | undefined; dataDir: string; metricsUrl: string | undefined; defaultBootstrap: boolean }): string {
  const b = info.defaultBootstrap ? "" : ` --bootstrap ${info.bootstrap}`;
  return [
    "Sluice dev broker is running.",
    "",
    `  bootstrap   ${info.bootstrap}`,
    `  data        ${info.dataAddress ?? "off (clients use gRPC)"}`,
    `  data dir    ${info.dataDir}`,
    `  metrics     ${info.metricsUrl ?? "off"}`,
    "",
    "Try it (in another terminal):",
    `  sluice topic create demo --partitions 3${b}`,
    `  printf 'k1:hello\\nk2:world\\n' | sluice produce demo --key-separator :${b}`,
    `  sluice consume demo --from-beginning --exit --format '%p/%o %k=%v\\n'${b}`,
    "",
    "From code: new Producer({ bootstrap: \"" + info.bootstrap + "\" }) (package @sluice/client).",
    "Press Ctrl-C to stop.",
  ].join("\n");
}

export async function dev(ctx: CommandContext): Promise<number> {
  // Loaded here, not at the top: other commands should not pay for loading the whole broker.
  const { createLogger, loadBrokerConfig, startBroker } = await import("@sluice/broker");
  const dataDir = resolve(ctx.io.cwd, ctx.string("data-dir") ?? ".sluice-data");
  const flags = ["--data-dir", dataDir, "--log-level", ctx.string("log-level") ?? "warn"];
  for (const key of ["port", "data-port", "metrics-port"] as const) {
    const value = ctx.int(key);
    if (value !== undefined) flags.push(`--${key}`, String(value));
  }
  const fsync = ctx.string("fsync");
  if (fsync !== undefined) flags.push("--fsync", fsync);
  const { config } = loadBrokerConfig(flags, ctx.io.env, () => {
    throw new Error("sluice dev reads no config file");
  });
  // Broker logs (JSON lines) go to stderr; stdout carries the banner for people.
  const stderr = ctx.io.stderr;
  const logger = createLogger({ level: config.logLevel, brokerId: config.brokerId, stream: { write: (line: string) => void stderr.write(line) } });
  const broker = await startBroker(config, { logger });
  const metrics = broker.metricsAddress;
  const data = broker.dataAddress;
  await ctx.out(
    devBanner({
      bootstrap: broker.bootstrap,
      dataAddress: data === undefined ? undefined : `${data.host}:${data.port}`,
      dataDir,
      metricsUrl: metrics === undefined ? undefined : `http://${metrics.host}:${metrics.port}/metrics`,
      defaultBootstrap: broker.bootstrap === "127.0.0.1:9092",
    }),
  );
  await new Promise<void>((resolveStop) => {
    if (ctx.io.signal.aborted) resolveStop();
    ctx.io.signal.addEventListener("abort", () => resolveStop(), { once: true });
  });
  await ctx.note("stopping the broker...");
  await broker.close();
  await ctx.note("stopped cleanly");
  return 0;
}
