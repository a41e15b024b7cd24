/**
 * The broker's Prometheus metrics ("probe") and the HTTP server that exposes them on `/metrics`.
 *
 * Names follow Prometheus conventions with base units (`_seconds`, `_bytes`, `_total`), all
 * prefixed `sluice_`. Each broker owns a `Registry` (not prom-client's global one) so several
 * brokers can live in one process (tests, `sluice dev`).
 *
 * Per-partition gauges (log end/start offset, high watermark, size) and storage gauges (open
 * segments, open file handles) are read from providers at scrape time, so the hot path never
 * touches them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface PartitionGaugeSample {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly sizeBytes: number;
}

export interface StorageGaugeSample {
  readonly openSegments: number;
  readonly openFiles: number;
}

export interface MetricsProviders {
  partitions(): readonly PartitionGaugeSample[];
  storage(): StorageGaugeSample;
}

/** Latency buckets (seconds) from 100 µs to 10 s: fsyncs sit at the low end, long polls at the top. */
const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly rpcRequests: Counter<"method" | "code">;
  readonly rpcDuration: Histogram<"method">;
  readonly partitionErrors: Counter<"method" | "error">;
  readonly topicBytesIn: Counter<"topic">;
  readonly topicBytesOut: Counter<"topic">;
  readonly topicRecordsIn: Counter<"topic">;
  readonly fsyncDuration: Histogram;
  readonly fetchWaiters: Gauge;
  readonly dataConnections: Gauge;
  readonly dataConnectionErrors: Counter<"error">;

  constructor(providers: MetricsProviders, defaultLabels: Readonly<Record<string, string>> = {}) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ ...defaultLabels });
    this.rpcRequests = new Counter({
      name: "sluice_rpc_requests_total",
      help: "Requests handled, by method and gRPC status code (data-listener requests count as DataProduce / DataFetch).",
      labelNames: ["method", "code"],
      registers,
    });
    this.rpcDuration = new Histogram({
      name: "sluice_rpc_duration_seconds",
      help: "Time from receiving a request to sending its answer (long-poll waits included).",
      labelNames: ["method"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.partitionErrors = new Counter({
      name: "sluice_partition_errors_total",
      help: "Per-partition errors put into responses, by method and error name.",
      labelNames: ["method", "error"],
      registers,
    });
    this.topicBytesIn = new Counter({
      name: "sluice_topic_bytes_in_total",
      help: "Record batch bytes appended, by topic.",
      labelNames: ["topic"],
      registers,
    });
    this.topicBytesOut = new Counter({
      name: "sluice_topic_bytes_out_total",
      help: "Record batch bytes returned by fetches, by topic.",
      labelNames: ["topic"],
      registers,
    });
    this.topicRecordsIn = new Counter({
      name: "sluice_topic_records_in_total",
      help: "Offsets assigned to appended records, by topic.",
      labelNames: ["topic"],
      registers,
    });
    this.fsyncDuration = new Histogram({
      name: "sluice_log_fsync_duration_seconds",
      help: "Duration of each fdatasync of a partition log (one covers a whole group commit).",
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.fetchWaiters = new Gauge({
      name: "sluice_fetch_waiters",
      help: "Long-poll fetches currently waiting for data.",
      registers,
    });

    this.dataConnections = new Gauge({
      name: "sluice_data_connections",
      help: "Open connections to the data listener.",
      registers,
    });
    this.dataConnectionErrors = new Counter({
      name: "sluice_data_connection_errors_total",
      help: "Data-listener connections failed for a protocol violation (bad HELLO, unknown frame kind, oversized frame), by error name.",
      labelNames: ["error"],
      registers,
    });

    const partitionGauge = (name: string, help: string, pick: (s: PartitionGaugeSample) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ["topic", "partition"],
        registers,
        collect() {
          this.reset();
          for (const s of providers.partitions()) this.set({ topic: s.topic, partition: String(s.partition) }, pick(s));
        },
      });
    };
    partitionGauge("sluice_partition_log_end_offset", "Next offset the partition log will assign.", (s) => s.logEndOffset);
    partitionGauge("sluice_partition_log_start_offset", "First offset still in the partition log.", (s) => s.logStartOffset);
    partitionGauge("sluice_partition_high_watermark", "Offset below which records are durable and visible to consumers.", (s) => s.highWatermark);
    partitionGauge("sluice_partition_size_bytes", "Bytes of all segments of the partition log.", (s) => s.sizeBytes);

    new Gauge({
      name: "sluice_log_open_segments",
      help: "Segments of all partition logs that are open.",
      registers,
      collect() {
        this.set(providers.storage().openSegments);
      },
    });
    new Gauge({
      name: "sluice_log_open_files",
      help: "File handles the log manager holds open (bounded by its LRU).",
      registers,
      collect() {
        this.set(providers.storage().openFiles);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "sluice_process_" });
  }

  /** Drops per-topic series of a deleted topic so dashboards do not show ghosts. */
  forgetTopic(topic: string): void {
    this.topicBytesIn.remove({ topic });
    this.topicBytesOut.remove({ topic });
    this.topicRecordsIn.remove({ topic });
  }
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text format) and nothing else. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url !== "/metrics" && !req.url?.startsWith("/metrics?"))) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    host,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
