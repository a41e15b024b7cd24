/**
 * The broker's structured logger: pino JSON, one event per line on stdout, every line carrying
 * `brokerId`; partition events add `topic` and `partition` (use `partitionLogger`).
 *
 * Writes are synchronous so that the "broker ready" line and the last lines before exit are
 * never lost in a buffer (a broker logs events, not per-record traffic, so this costs nothing).
 */
import { pino, destination, type Logger, type DestinationStream } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly brokerId: number;
  /** Where lines go; stdout by default. Tests pass a stream to capture lines. */
  readonly stream?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { brokerId: options.brokerId },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.stream ?? destination({ dest: 1, sync: true }),
  );
}

export function partitionLogger(logger: Logger, topic: string, partition: number): Logger {
  return logger.child({ topic, partition });
}

/**
 * A logger for the few lifecycle lines scripts wait for ("broker ready", "broker stopped"):
 * written at info even when the configured level is warn or error, and muted only by "silent".
 */
export function lifecycleLogger(logger: Logger): Logger {
  if (logger.level === "silent" || logger.isLevelEnabled("info")) return logger;
  return logger.child({}, { level: "info" });
}
