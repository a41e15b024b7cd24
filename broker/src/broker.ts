/**
 * A running single broker: `startBroker(config)` opens the metadata store and partition logs
 * under the data directory, serves the gRPC API, the data listener (Produce/Fetch over plain TCP,
 * server/data-listener.ts) and `/metrics`, and returns a `Broker` whose
 * `close()` shuts down gracefully. `main.ts` wraps it in a process; `sluice dev` runs it in-process.
 *
 * Data directory layout:
 *   <dataDir>/broker.lock            the owning process's pid (data-dir-lock.ts)
 *   <dataDir>/metadata/topics.json   topic metadata (metadata/metadata-store.ts)
 *   <dataDir>/logs/<topic>-<p>/      partition logs (broker/src/storage)
 *
 * Start order: metadata → logs (recovery if the last stop was unclean) → topics' partitions →
 * `__consumer_offsets` and the group coordinators (replayed) → gRPC server → data listener →
 * metrics server → health SERVING → "broker ready" log line (with the bound `port`, `dataPort`).
 *
 * Graceful shutdown (close):
 *   1. health NOT_SERVING and drain: long polls answer now, produce streams and data
 *      connections stop taking requests;
 *   2. the gRPC server and the data listener stop accepting and in-flight requests finish, both
 *      bounded by shutdownTimeoutMs (then the rest are cancelled);
 *   3. the group coordinators stop their timer and finish in-flight writes;
 *   4. every log is flushed and closed, leaving the storage engine's clean-shutdown marker, so
 *      the next start needs no recovery;
 *   5. the metrics server closes; "broker stopped" is logged.
 */
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { AssertionError } from "@sluice/protocol";
import type { BrokerConfig } from "./config.js";
import { lockDataDir } from "./data-dir-lock.js";
import { registerGroupMetrics } from "./group-runtime/lag-metrics.js";
import { GroupCoordinatorRuntime } from "./group-runtime/runtime.js";
import { createLogger, lifecycleLogger, type Logger } from "./logger.js";
import { FileMetadataStore, type MetadataStore } from "./metadata/metadata-store.js";
import { resolveTopicConfig } from "./metadata/topic-config.js";
import { TopicController } from "./metadata/topic-controller.js";
import { BrokerMetrics, startMetricsServer, type MetricsServer } from "./metrics.js";
import type { LogStore } from "./partition/log-port.js";
import { PartitionRegistry } from "./partition/partition-registry.js";
import { openStorageLogStore } from "./partition/storage-adapter.js";
import type { BrokerContext } from "./server/context.js";
import { startDataListener, type DataListener } from "./server/data-listener.js";
import { startGrpcServer, type GrpcServer } from "./server/grpc-server.js";
import { HealthState } from "./server/health-state.js";
import { buildServices } from "./server/registry.js";
import { formatFsyncPolicy } from "./storage/index.js";

export const BROKER_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
})();

export interface StartBrokerOptions {
  /** Defaults to a pino logger on stdout at config.logLevel. */
  readonly logger?: Logger;
  /** Wall clock for timestamps (LogAppendTime, topic creation). */
  readonly nowMs?: () => number;
  /** What to do when a handler hits a broken invariant; default: log fatal and crash the process. */
  readonly onBug?: (error: AssertionError) => void;
  /** Period of the group coordinators' tick; 0 turns the timer off (tests call `ctx.groups.tick()`). */
  readonly groupTickIntervalMs?: number;
}

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Everything a broker is except its network servers: metadata, logs, partitions, topic
 * controller, metrics, health and drain state, wired into the context handlers receive. Tests
 * call handlers on a core directly; `startBroker` adds the gRPC and metrics servers.
 */
export interface BrokerCore {
  readonly ctx: BrokerContext;
  readonly logs: LogStore;
  readonly store: MetadataStore;
  /** Starts draining: health NOT_SERVING, long polls answer now, streams stop reading. */
  drain(): void;
  /** Flushes and closes the metadata store and every log (clean-shutdown marker). */
  close(): Promise<void>;
}

export async function openBrokerCore(config: BrokerConfig, options: StartBrokerOptions = {}): Promise<BrokerCore> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, brokerId: config.brokerId });
  const nowMs = options.nowMs ?? Date.now;
  await mkdir(config.dataDir, { recursive: true });
  const lock = await lockDataDir(config.dataDir);
  let store: MetadataStore;
  try {
    store = await FileMetadataStore.open(join(config.dataDir, "metadata"));
  } catch (error) {
    await lock.release();
    throw error;
  }

  // The metrics' scrape-time providers read these once they exist.
  const scraped: { partitions?: PartitionRegistry; logs?: LogStore; groups?: GroupCoordinatorRuntime } = {};
  const metrics = new BrokerMetrics(
    {
      partitions: () =>
        (scraped.partitions?.all() ?? []).map((p) => ({
          topic: p.topic,
          partition: p.partition,
          logStartOffset: p.logStartOffset,
          logEndOffset: p.logEndOffset,
          highWatermark: p.highWatermark,
          sizeBytes: p.sizeBytes,
        })),
      storage: () => scraped.logs?.stats() ?? { openSegments: 0, openFiles: 0 },
    },
    { broker_id: String(config.brokerId) },
  );

  let logs: LogStore;
  try {
    logs = await openStorageLogStore({
      dir: join(config.dataDir, "logs"),
      fsync: config.fsync,
      retentionCheckIntervalMs: config.retentionCheckIntervalMs,
      cleanerCheckIntervalMs: config.cleanerCheckIntervalMs,
      logger,
      onFsync: (seconds: number) => metrics.fsyncDuration.observe(seconds),
      configFor: (topic) => {
        const record = store.topic(topic);
        return record === undefined ? undefined : resolveTopicConfig(record.configs, config.topicDefaults);
      },
      nowMs,
    });
  } catch (error) {
    await store.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
  scraped.logs = logs;
  try {
    const partitions = new PartitionRegistry({ logs, logger });
    scraped.partitions = partitions;
    const topics = new TopicController({
      store,
      partitions,
      logger,
      nowMs,
      defaultPartitions: config.defaultPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      topicDefaults: config.topicDefaults,
    });
    await topics.load();
    const groups = await GroupCoordinatorRuntime.start({
      topics,
      partitions,
      logger,
      nowMs,
      config: config.groupCoordinator,
      offsetsTopicPartitions: config.offsetsTopicPartitions,
      offsetsTopicSegmentBytes: config.offsetsTopicSegmentBytes,
      tickIntervalMs: options.groupTickIntervalMs,
    });
    scraped.groups = groups;
    registerGroupMetrics(metrics.registry, { runtime: () => scraped.groups, partitions, nowMs });

    const health = new HealthState();
    const drainController = new AbortController();
    // Every open produce stream and health watch listens for the drain: no listener cap.
    setMaxListeners(0, drainController.signal);
    const ctx: BrokerContext = {
      identity: {
        brokerId: config.brokerId,
        clusterId: store.clusterId,
        advertisedHost: config.advertisedHost,
        port: config.port,
        dataPort: 0,
        version: BROKER_VERSION,
      },
      partitions,
      topics,
      groups,
      metrics,
      logger,
      health,
      drain: {
        get draining() {
          return drainController.signal.aborted;
        },
        signal: drainController.signal,
      },
      nowMs,
    };
    const opened = logs;
    return {
      ctx,
      logs: opened,
      store,
      drain() {
        drainController.abort();
        health.set("NOT_SERVING");
        partitions.wakeAll();
      },
      async close() {
        // In-flight group writes finish before the logs they append to close.
        await groups.close();
        await store.close();
        await opened.close();
        // Only a clean close gives the directory up; after a failure the next start recovers.
        await lock.release();
      },
    };
  } catch (error) {
    await logs.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
}

export class Broker {
  private closing: Promise<void> | undefined;

  /** @internal use startBroker */
  constructor(
    readonly config: BrokerConfig,
    private readonly core: BrokerCore,
    private readonly grpcServer: GrpcServer,
    private readonly dataListener: DataListener | undefined,
    private readonly metricsServer: MetricsServer | undefined,
  ) {}

  get logger(): Logger {
    return this.core.ctx.logger;
  }
  get metrics(): BrokerMetrics {
    return this.core.ctx.metrics;
  }
  get health(): HealthState {
    return this.core.ctx.health;
  }

  /** Where clients connect. */
  get address(): BrokerAddress {
    return { host: this.core.ctx.identity.advertisedHost, port: this.grpcServer.port };
  }

  /** "host:port" for clients' bootstrap option. */
  get bootstrap(): string {
    return `${this.core.ctx.identity.advertisedHost}:${this.grpcServer.port}`;
  }

  /** The data listener's address (Produce/Fetch over plain TCP); undefined when data-port is -1. */
  get dataAddress(): BrokerAddress | undefined {
    return this.dataListener === undefined ? undefined : { host: this.core.ctx.identity.advertisedHost, port: this.dataListener.port };
  }

  get metricsAddress(): BrokerAddress | undefined {
    return this.metricsServer === undefined ? undefined : { host: this.metricsServer.host, port: this.metricsServer.port };
  }

  get clusterId(): string {
    return this.core.ctx.identity.clusterId;
  }

  /** Whether the logs needed recovery at start (the previous stop was not clean). */
  get recoveredUncleanly(): boolean {
    return this.core.logs.recoveredUncleanly;
  }

  /** Graceful shutdown (idempotent): see the module comment for the steps. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const started = performance.now();
    const logger = this.core.ctx.logger;
    logger.info("shutting down");
    this.core.drain();
    const timeoutMs = this.config.shutdownTimeoutMs;
    const [grpcHow, dataHow] = await Promise.all([this.grpcServer.shutdown(timeoutMs), this.dataListener?.shutdown(timeoutMs) ?? "graceful"]);
    const how = grpcHow === "forced" || dataHow === "forced" ? "forced" : "graceful";
    let storageError: unknown;
    try {
      await this.core.close();
    } catch (error) {
      storageError = error;
      logger.error({ err: error }, "closing the logs failed; the next start will recover");
    }
    await this.metricsServer?.close();
    lifecycleLogger(logger).info({ shutdown: how, durationMs: Math.round(performance.now() - started) }, "broker stopped");
    logger.flush();
    if (storageError !== undefined) throw storageError;
  }
}

/** Opens everything under config.dataDir and starts serving. */
export async function startBroker(config: BrokerConfig, options: StartBrokerOptions = {}): Promise<Broker> {
  const core = await openBrokerCore(config, options);
  const { ctx } = core;
  const logger = ctx.logger;
  try {
    const onBug =
      options.onBug ??
      ((error: AssertionError) => {
        logger.fatal({ err: error }, "invariant violated; crashing");
        logger.flush();
        setImmediate(() => {
          throw error;
        });
      });
    const grpcServer = await startGrpcServer(buildServices(ctx, { onBug }), config.host, config.port, logger);
    ctx.identity.port = grpcServer.port;
    let dataListener: DataListener | undefined;
    let metricsServer: MetricsServer | undefined;
    try {
      dataListener = config.dataPort < 0 ? undefined : await startDataListener(ctx, config.host, config.dataPort, { onBug });
      ctx.identity.dataPort = dataListener?.port ?? 0;
      metricsServer = config.metricsPort < 0 ? undefined : await startMetricsServer(ctx.metrics.registry, config.metricsHost, config.metricsPort);
    } catch (error) {
      dataListener?.forceShutdown();
      grpcServer.forceShutdown();
      throw error;
    }
    ctx.health.set("SERVING");
    const broker = new Broker(config, core, grpcServer, dataListener, metricsServer);
    lifecycleLogger(logger).info(
      {
        address: `${config.host}:${grpcServer.port}`,
        host: config.host,
        port: grpcServer.port,
        dataPort: dataListener?.port ?? -1,
        advertised: broker.bootstrap,
        metricsPort: metricsServer?.port ?? -1,
        dataDir: config.dataDir,
        fsync: formatFsyncPolicy(config.fsync),
        topics: core.store.topics().length,
        recoveredUncleanly: core.logs.recoveredUncleanly,
        clusterId: ctx.identity.clusterId,
        version: BROKER_VERSION,
      },
      "broker ready",
    );
    return broker;
  } catch (error) {
    await core.close().catch(() => undefined);
    throw error;
  }
}
