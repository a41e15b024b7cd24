/**
 * @sluice/broker: the broker's public surface, one `export *` line per subsystem.
 */
export * from "./storage/index.js";
export * from "./broker.js";
export * from "./config.js";
export * from "./logger.js";
