/**
 * The operator's Prometheus metrics (prom-client, one registry) and the HTTP server on
 * --metrics-port: GET /metrics, GET /healthz (the process answers), GET /readyz (informer caches
 * synced, or waiting as a standby replica: both are healthy states).
 *
 * Names follow the Prometheus conventions (`sluice_operator_…`, base units, `_total` counters).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Reconciles take milliseconds (apiserver and broker round trips) to seconds (a slow broker). */
const RECONCILE_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration: Histogram<"kind">;
  readonly reconcileTotal: Counter<"kind" | "result">;
  readonly reconcileErrors: Counter<"kind">;
  readonly queueDepth: Gauge<"kind">;
  readonly leader: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.reconcileDuration = new Histogram({
      name: "sluice_operator_reconcile_duration_seconds",
      help: "Time one reconcile of one object took, by kind (Cluster, Topic).",
      labelNames: ["kind"],
      buckets: RECONCILE_BUCKETS_SECONDS,
      registers,
    });
    this.reconcileTotal = new Counter({
      name: "sluice_operator_reconciles_total",
      help: "Reconciles run, by kind and result (success, requeue, error).",
      labelNames: ["kind", "result"],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: "sluice_operator_reconcile_errors_total",
      help: "Reconciles that failed and were retried with backoff, by kind.",
      labelNames: ["kind"],
      registers,
    });
    this.queueDepth = new Gauge({
      name: "sluice_operator_queue_depth",
      help: "Objects waiting in the work queue, by kind.",
      labelNames: ["kind"],
      registers,
    });
    this.leader = new Gauge({
      name: "sluice_operator_leader",
      help: "1 while this replica holds the leader Lease (or runs without leader election), else 0.",
      registers,
    });
  }
}

export interface HealthState {
  /** /readyz answers 200 when this returns true. */
  ready(): boolean;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(metrics: OperatorMetrics, health: HealthState, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
      return;
    }
    if (path === "/healthz" || path === "/livez") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      return;
    }
    if (path === "/readyz") {
      const ok = health.ready();
      res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok" : "not ready");
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
