#!/usr/bin/env node
/**
 * `sluice-broker`: the broker process. Reads the configuration (flags > SLUICE_* env > --config
 * file > defaults; see config.ts or `--help`), starts the broker, and logs one JSON line with
 * `"msg":"broker ready"` and the bound `port` when it serves (tests and scripts wait for it).
 *
 * Signals: SIGTERM or SIGINT starts a graceful shutdown and the process exits 0 once the logs are
 * closed cleanly (1 if closing failed); a second signal exits at once with 130.
 * Exit codes: 0 clean stop, 1 failure at start or stop, 2 bad configuration, 130 forced.
 *
 * Runs from source in tests: `node --import tsx broker/src/main.ts --data-dir D --port 0`.
 */
import { readFileSync } from "node:fs";
import { SluiceError } from "@sluice/protocol";
import { BROKER_VERSION, startBroker, type Broker } from "./broker.js";
import { ConfigError, configHelp, loadBrokerConfig } from "./config.js";

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadBrokerConfig(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`sluice-broker: invalid configuration: ${error.detail}\n`);
      return 2;
    }
    throw error;
  }
  if (loaded.help) {
    process.stdout.write(configHelp() + "\n");
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`${BROKER_VERSION}\n`);
    return 0;
  }

  // Signal handlers go in before the broker starts, so a SIGTERM that arrives right after the
  // "broker ready" line (or during start) still means a graceful stop, never a default kill.
  const running: { broker?: Broker } = {};
  let stopRequested = false;
  let stopping: Promise<number> | undefined;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  const stop = (running: Broker): void => {
    stopping ??= running.close().then(
      () => 0,
      () => 1,
    );
    void stopping.then(resolveStopped);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      process.stderr.write(`sluice-broker: second ${signal}: exiting without waiting\n`);
      process.exit(130);
    }
    stopRequested = true;
    running.broker?.logger.info({ signal }, "signal received");
    if (running.broker !== undefined) stop(running.broker);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const broker = await startBroker(loaded.config);
  running.broker = broker;
  if (stopRequested) stop(broker);
  return stopped;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
    const detail = error instanceof SluiceError ? `${error.errorName}: ${error.message}${cause}` : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`sluice-broker: failed: ${detail}\n`);
    process.exit(1);
  },
);
