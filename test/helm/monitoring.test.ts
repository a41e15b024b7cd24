// Proves the chart's Grafana dashboards and alert rules only use metrics a real broker exports
// (every sluice_* name in their PromQL is on a running broker's /metrics), that the dashboards
// show what they promise (brokers: RPC rate/latency, bytes in/out per topic, log end offset per
// partition; consumer lag: lag and time lag per group/topic/partition, members and state per
// group, groups with no members, bytes in/out), and that each dashboard's JSON is well-formed for
// Grafana (unique ids, defined variables, one data source variable, panels inside the 24-column
// grid without overlaps).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBrokerConfig, startBroker, type Broker } from "@sluice/broker";
import { repoRoot } from "../k8s/control-plane.js";

const chartDir = join(repoRoot, "charts", "sluice");

interface Target {
  readonly expr: string;
  readonly refId: string;
  readonly datasource?: { readonly uid?: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly Target[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query: string };
  readonly datasource?: { readonly uid?: string };
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

/** Series names a scrape can contain for each family in the Prometheus text format. */
function seriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match === null) continue;
    const [, name = "", type] = match;
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    if (type === "summary") for (const suffix of ["_sum", "_count"]) names.add(name + suffix);
  }
  return names;
}

/** Metric names in a PromQL expression: sluice_* identifiers, plus `up`. */
function metricNames(expr: string): string[] {
  const names = [...expr.matchAll(/\b(sluice_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1] as string);
  if (/\bup\{/.test(expr)) names.push("up");
  return names;
}

/** Names used by `exprs` that `exported` lacks (`up` is Prometheus's own, always there). */
function unknownMetrics(exprs: readonly string[], exported: ReadonlySet<string>): string[] {
  return [...new Set(exprs.flatMap(metricNames))].filter((n) => n !== "up" && !exported.has(n)).sort();
}

function variableQuery(v: Variable): string {
  return typeof v.query === "string" ? v.query : (v.query?.query ?? "");
}

let dataDir: string;
let broker: Broker;
let exported: Set<string>;
let dashboard: Dashboard;
let lagDashboard: Dashboard;
let ruleTemplate: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "sluice-monitoring-test-"));
  broker = await startBroker(
    resolveBrokerConfig({ flags: { "data-dir": dataDir, port: "0", "metrics-port": "0", "log-level": "silent" }, env: {}, file: {} }),
  );
  const address = broker.metricsAddress;
  if (address === undefined) throw new Error("broker started without a metrics server");
  const response = await fetch(`http://${address.host}:${address.port}/metrics`);
  expect(response.status).toBe(200);
  exported = seriesNames(await response.text());
  dashboard = JSON.parse(await readFile(join(chartDir, "dashboards", "broker.json"), "utf8")) as Dashboard;
  lagDashboard = JSON.parse(await readFile(join(chartDir, "dashboards", "consumer-lag.json"), "utf8")) as Dashboard;
  ruleTemplate = await readFile(join(chartDir, "templates", "prometheusrule.yaml"), "utf8");
});

afterAll(async () => {
  await broker?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const exprsOf = (d: Dashboard): string[] => [...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...d.templating.list.map(variableQuery)];
const exprs = (): string[] => exprsOf(dashboard);

describe("metric names", () => {
  it("a running broker exports the families the dashboard is built on", () => {
    for (const name of ["sluice_rpc_requests_total", "sluice_rpc_duration_seconds_bucket", "sluice_topic_bytes_in_total", "sluice_partition_log_end_offset"]) {
      expect(exported).toContain(name);
    }
  });

  it("the check catches a name no broker exports (it is not vacuous)", () => {
    expect(unknownMetrics(['rate(sluice_made_up_total{job="x"}[5m])', "up{job='x'}", "sluice_rpc_requests_total"], exported)).toEqual([
      "sluice_made_up_total",
    ]);
  });

  it("every metric in the dashboard's panels and variables is exported by the broker", () => {
    expect(exprs().length).toBeGreaterThan(15);
    expect(unknownMetrics(exprs(), exported)).toEqual([]);
  });

  it("every metric in the consumer-lag dashboard's panels and variables is exported by the broker", () => {
    expect(exprsOf(lagDashboard).length).toBeGreaterThan(10);
    expect(unknownMetrics(exprsOf(lagDashboard), exported)).toEqual([]);
  });

  it("every metric in the PrometheusRule template is exported by the broker or is Prometheus's `up`", () => {
    const used = metricNames(ruleTemplate);
    expect(used).toContain("up");
    expect(used).toContain("sluice_rpc_requests_total");
    expect(used).toContain("sluice_consumer_group_lag");
    expect(unknownMetrics([ruleTemplate], exported)).toEqual([]);
  });
});

describe("the broker dashboard", () => {
  const panelExprs = (): Array<{ title: string; expr: string }> =>
    dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));

  it("shows RPC rate and latency, bytes in/out per topic, and log end offset per partition", () => {
    const has = (pattern: RegExp): boolean => panelExprs().some((p) => pattern.test(p.expr));
    expect(has(/sum by \(method\) \(rate\(sluice_rpc_requests_total\{/)).toBe(true);
    expect(has(/histogram_quantile\(0\.99, sum by \(method, le\) \(rate\(sluice_rpc_duration_seconds_bucket\{/)).toBe(true);
    expect(has(/sum by \(topic\) \(rate\(sluice_topic_bytes_in_total\{/)).toBe(true);
    expect(has(/sum by \(topic\) \(rate\(sluice_topic_bytes_out_total\{/)).toBe(true);
    expect(has(/max by \(topic, partition\) \(sluice_partition_log_end_offset\{/)).toBe(true);
  });

  it("is well-formed and laid out inside the grid", () => {
    checkWellFormed(dashboard, "sluice-brokers");
    checkLayout(dashboard);
  });
});

describe("the consumer lag dashboard", () => {
  const panelExprs = (): string[] => lagDashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const has = (pattern: RegExp): boolean => panelExprs().some((e) => pattern.test(e));

  it("shows lag by group/topic/partition, time lag, members and state per group, groups with no members, bytes in/out", () => {
    expect(has(/sum by \(group\) \(max by \(group, topic, partition\) \(sluice_consumer_group_lag\{/)).toBe(true);
    expect(has(/max by \(group, topic, partition\) \(sluice_consumer_group_lag\{/)).toBe(true);
    expect(has(/max by \(group\) \(sluice_consumer_group_lag_seconds\{/)).toBe(true);
    expect(has(/max by \(group\) \(sluice_consumer_group_members\{/)).toBe(true);
    expect(has(/sluice_consumer_group_state\{[^}]*\}\) == 1/)).toBe(true);
    expect(has(/and on \(group\) \(max by \(group\) \(sluice_consumer_group_members\{[^}]*\}\) == 0\)/)).toBe(true);
    expect(has(/sum by \(topic\) \(rate\(sluice_topic_bytes_in_total\{/)).toBe(true);
    expect(has(/sum by \(topic\) \(rate\(sluice_topic_bytes_out_total\{/)).toBe(true);
  });

  it("is well-formed and laid out inside the grid", () => {
    checkWellFormed(lagDashboard, "sluice-consumer-lag");
    checkLayout(lagDashboard);
  });
});

function checkWellFormed(d: Dashboard, uid: string): void {
  expect(d.uid).toBe(uid);
  const ids = d.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const variables = new Set(d.templating.list.map((v) => v.name));
  expect(d.templating.list.find((v) => v.name === "datasource")?.type).toBe("datasource");
  for (const panel of d.panels) {
    if (panel.type === "row") continue;
    expect(panel.datasource?.uid, panel.title).toBe("${datasource}");
    const targets = panel.targets ?? [];
    expect(targets.length, panel.title).toBeGreaterThan(0);
    expect(new Set(targets.map((t) => t.refId)).size, panel.title).toBe(targets.length);
    for (const t of targets) expect(t.datasource?.uid, panel.title).toBe("${datasource}");
  }
  const builtIns = new Set(["__rate_interval", "__interval", "__range"]);
  for (const expr of exprsOf(d)) {
    for (const [, name] of expr.matchAll(/\$(\w+)/g)) {
      expect(builtIns.has(name as string) || variables.has(name as string), `$${name} in ${expr}`).toBe(true);
    }
  }
}

function checkLayout(d: Dashboard): void {
  const cells = new Map<string, string>();
  for (const panel of d.panels) {
    const { x, y, w, h } = panel.gridPos;
    expect(x >= 0 && w > 0 && x + w <= 24, panel.title).toBe(true);
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        const key = `${row}:${col}`;
        expect(cells.get(key), `${panel.title} overlaps ${cells.get(key) ?? ""}`).toBeUndefined();
        cells.set(key, panel.title);
      }
    }
  }
}
