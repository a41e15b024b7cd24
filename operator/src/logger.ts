/**
 * The operator's structured logger: pino JSON on stdout, one event per line. Reconcile lines
 * carry `kind`, `namespace` and `name` (the Controller adds them), topic lines add `topic`.
 * Writes are synchronous so the lines before an exit (lost leadership, a fatal error) are kept.
 */
import { destination, pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger } from "pino";

export function createLogger(level: LogLevel, identity: string, stream?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component: "sluice-operator", identity },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream ?? destination({ dest: 1, sync: true }),
  );
}

/**
 * For the few lifecycle lines scripts and tests wait for ("operator started", "controllers
 * running", leader changes, "operator stopped"): written at info even when the configured level is
 * warn or error, muted only by "silent".
 */
export function lifecycleLogger(logger: Logger): Logger {
  return logger.level === "silent" ? logger : logger.child({}, { level: logger.isLevelEnabled("info") ? logger.level : "info" });
}
