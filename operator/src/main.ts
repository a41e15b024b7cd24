#!/usr/bin/env node
/**
 * `sluice-operator`: the operator process. Parses the flags (config.ts, `--help`), loads
 * Kubernetes credentials with KubeConfig.loadFromDefault() ($KUBECONFIG, ~/.kube/config, or the
 * in-cluster service account), and runs the operator (operator.ts) until SIGTERM/SIGINT.
 *
 * Log lines tests and scripts may wait for: "operator started" (with the bound `metricsPort`)
 * and "controllers running" (this replica reconciles).
 * Exit codes: 0 clean stop, 1 failure (including a lost leader Lease), 2 bad flags, 130 a second
 * signal during shutdown.
 *
 * From source: `node --conditions=source --import tsx operator/src/main.ts --metrics-port=0`.
 */
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import { helpText, parseCommandLine, type OperatorConfig } from "./config.js";
import { describeError, OperatorConfigError } from "./errors.js";
import { createLogger } from "./logger.js";
import { startOperator, type Operator } from "./operator.js";
import { OPERATOR_VERSION } from "./version.js";

async function main(): Promise<number> {
  let config: OperatorConfig;
  try {
    const parsed = parseCommandLine(process.argv.slice(2), process.env, `${hostname()}-${process.pid}`);
    if (parsed.kind === "help") {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (parsed.kind === "version") {
      process.stdout.write(`${OPERATOR_VERSION}\n`);
      return 0;
    }
    config = parsed.config;
  } catch (error) {
    if (error instanceof OperatorConfigError) {
      process.stderr.write(`sluice-operator: invalid flags: ${error.detail}\n`);
      return 2;
    }
    throw error;
  }

  const logger = createLogger(config.logLevel, config.identity);
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    process.stderr.write(`sluice-operator: cannot load Kubernetes credentials ($KUBECONFIG, ~/.kube/config or the in-cluster service account): ${describeError(error)}\n`);
    return 1;
  }
  if (kubeConfig.getCurrentCluster() === null) {
    process.stderr.write("sluice-operator: no Kubernetes cluster configured (set KUBECONFIG or run in a Pod)\n");
    return 1;
  }

  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const started: { operator?: Operator } = {};
  let signalled = false;
  const shutdown = (code: number): void => {
    const running = started.operator;
    if (running === undefined) {
      resolveExit(code);
      return;
    }
    running.stop().then(
      () => resolveExit(code),
      (error: unknown) => {
        logger.error({ err: describeError(error) }, "shutdown failed");
        resolveExit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      process.stderr.write(`sluice-operator: second ${signal}: exiting without waiting\n`);
      process.exit(130);
    }
    signalled = true;
    logger.info({ signal }, "signal received; stopping");
    shutdown(0);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  started.operator = await startOperator({
    config,
    kubeConfig,
    logger,
    onFatal: (reason) => {
      // No graceful stop: another replica may already be reconciling.
      logger.fatal({ reason }, "exiting");
      process.exit(1);
    },
  });
  if (signalled) shutdown(0);
  return exited;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sluice-operator: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
