// Proves the Helm chart installs cleanly on the Kubernetes version the tests run: `helm lint`
// passes and values.schema.json refuses bad values; `helm template` for each scenario (defaults,
// a Cluster with an external listener, every monitoring object, namespace-scoped RBAC) renders the
// expected objects, every one passes kubeconform against schemas taken from the harness
// apiserver's /openapi/v2 and the CRDs, and a server-side dry-run apply on that apiserver; and the
// RBAC it grants, once applied, lets the operator's ServiceAccount do exactly its job (checked
// with SubjectAccessReviews), nothing more.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";
import { loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pollUntil } from "./control-plane.js";
import { CRDS_DIR } from "./global-setup.js";
import { chartDir, Helm, kubeconform, parseManifests, writeSchemaFolder, type RenderedObject } from "./helm.js";
import type { OpenApiV2Document } from "./kubeconform-schemas.js";
import { apiRequest, applyManifestDirectory, ManifestApplyError } from "./manifests.js";
import { sharedControlPlane } from "./shared-control-plane.js";

const { kubeConfig } = sharedControlPlane();
const logDir = inject("k8sLogDir");
const core = kubeConfig.makeApiClient(CoreV1Api);
const apps = kubeConfig.makeApiClient(AppsV1Api);
const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);

/** Deleting a CRD removes its objects first; on this control plane that takes about a second. */
const CRD_GONE_TIMEOUT_MS = 60_000;

// Names unique to this run: nothing collides with other files or earlier runs.
const run = Date.now().toString(36);
const releaseNamespace = `chart-${run}`;
const watchedA = `chart-${run}-a`;
const watchedB = `chart-${run}-b`;
const unwatched = `chart-${run}-c`;
const namespaces = [releaseNamespace, watchedA, watchedB, unwatched];

/**
 * Prometheus Operator kinds the chart renders. Their CRDs are not available offline, so:
 * kubeconform skips them (-skip, for these three kinds only; everything else must have a schema),
 * and for the dry run this file installs minimal stand-in CRDs (any spec accepted) so the
 * apiserver still checks their metadata, namespace and admission; the stand-ins are deleted after.
 */
const monitoringKinds = [
  { kind: "ServiceMonitor", plural: "servicemonitors" },
  { kind: "PodMonitor", plural: "podmonitors" },
  { kind: "PrometheusRule", plural: "prometheusrules" },
] as const;
const monitoringSkip = monitoringKinds.map((k) => `monitoring.coreos.com/v1/${k.kind}`);

function standInCrd(kind: string, plural: string): object {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.monitoring.coreos.com`, labels: { "sluice.io/test-stand-in": "true" } },
    spec: {
      group: "monitoring.coreos.com",
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          },
        },
      ],
    },
  };
}

interface Scenario {
  readonly name: string;
  readonly release: string;
  /** Values files under charts/sluice/ci/, then --set flags. */
  readonly args: readonly string[];
  /** "<Kind>/<name>" (namespace-qualified for namespaced kinds: "<Kind>/<namespace>/<name>"). */
  readonly expected: readonly string[];
}

const crdObjects = ["CustomResourceDefinition/clusters.sluice.io", "CustomResourceDefinition/topics.sluice.io"];

function operatorObjects(release: string, options: { namespaced: boolean }): string[] {
  const operator = `${release}-sluice-operator`;
  const ns = releaseNamespace;
  const managed = options.namespaced
    ? [watchedA, watchedB].flatMap((n) => [`Role/${n}/${operator}`, `RoleBinding/${n}/${operator}`])
    : [`ClusterRole/${operator}`, `ClusterRoleBinding/${operator}`];
  return [
    ...crdObjects,
    `ServiceAccount/${ns}/${operator}`,
    `ConfigMap/${ns}/${release}-sluice-dashboard-broker`,
    `ConfigMap/${ns}/${release}-sluice-dashboard-consumer-lag`,
    ...managed,
    `Role/${ns}/${operator}-leader-election`,
    `RoleBinding/${ns}/${operator}-leader-election`,
    `Service/${ns}/${operator}-metrics`,
    `Deployment/${ns}/${operator}`,
  ];
}

const scenarios: readonly Scenario[] = [
  { name: "defaults", release: "dflt", args: [], expected: operatorObjects("dflt", { namespaced: false }) },
  {
    name: "a Cluster with an external listener",
    release: "ext",
    args: ["-f", "ci/cluster-external-values.yaml"],
    expected: [...operatorObjects("ext", { namespaced: false }), `Cluster/${releaseNamespace}/events`],
  },
  {
    name: "every monitoring object",
    release: "mon",
    args: ["-f", "ci/monitoring-values.yaml"],
    expected: [
      ...operatorObjects("mon", { namespaced: false }),
      `ServiceMonitor/${releaseNamespace}/mon-sluice-operator`,
      `PodMonitor/${releaseNamespace}/mon-sluice-brokers`,
      `PrometheusRule/${releaseNamespace}/mon-sluice`,
    ],
  },
  {
    name: "namespace-scoped RBAC",
    release: "nsd",
    args: ["-f", "ci/namespaced-values.yaml", "--set", `watchNamespaces={${watchedA},${watchedB}}`],
    expected: [...operatorObjects("nsd", { namespaced: true }), `PodMonitor/${releaseNamespace}/nsd-sluice-brokers`],
  },
];

const clusterScopedKinds = new Set(["CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"]);

function describeObject(o: RenderedObject): string {
  return clusterScopedKinds.has(o.kind) ? `${o.kind}/${o.metadata.name}` : `${o.kind}/${o.metadata.namespace ?? "?"}/${o.metadata.name}`;
}

let scratch: string;
let helm: Helm;
let schemaLocation: string;
const rendered = new Map<string, { yaml: string; objects: RenderedObject[] }>();

async function render(scenario: Scenario): Promise<{ yaml: string; objects: RenderedObject[] }> {
  const cached = rendered.get(scenario.name);
  if (cached !== undefined) return cached;
  const result = await helm.template(scenario.release, releaseNamespace, scenario.args.map((a) => (a.startsWith("ci/") ? join(chartDir, a) : a)));
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const value = { yaml: result.stdout, objects: parseManifests(result.stdout) };
  rendered.set(scenario.name, value);
  return value;
}

async function dryRunApply(objects: readonly RenderedObject[], label: string): Promise<string[]> {
  const dir = await mkdtemp(join(scratch, `dry-run-${label}-`));
  await writeFile(join(dir, "rendered.json"), objects.map((o) => JSON.stringify(o)).join("\n---\n"));
  return applyManifestDirectory(kubeConfig, dir, { dryRun: true });
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sluice-chart-test-"));
  helm = new Helm(join(scratch, "helm-home"), inject("k8sExpectedVersion"));
  for (const name of namespaces) await core.createNamespace({ body: { metadata: { name } } });

  const openApi = await apiRequest(kubeConfig, "GET", "/openapi/v2");
  expect(openApi.status).toBe(200);
  const crdDocuments: unknown[] = [];
  for (const file of (await readdir(CRDS_DIR)).filter((f) => f.endsWith(".yaml"))) {
    crdDocuments.push(...loadAll(await readFile(join(CRDS_DIR, file), "utf8")));
  }
  await mkdir(join(scratch, "schemas"));
  schemaLocation = await writeSchemaFolder(join(scratch, "schemas"), JSON.parse(openApi.body) as OpenApiV2Document, crdDocuments);

  const standIns = join(scratch, "stand-in-crds");
  await mkdir(standIns);
  await writeFile(join(standIns, "monitoring.json"), monitoringKinds.map((k) => JSON.stringify(standInCrd(k.kind, k.plural))).join("\n---\n"));
  await applyManifestDirectory(kubeConfig, standIns);
});

afterAll(async () => {
  // The stand-in CRDs must not outlive this file: the operator's tests detect ServiceMonitor
  // support by whether the API is served.
  for (const { plural } of monitoringKinds) {
    await extensions.deleteCustomResourceDefinition({ name: `${plural}.monitoring.coreos.com` }).catch(() => undefined);
  }
  await pollUntil(
    "stand-in monitoring.coreos.com CRDs deleted",
    async () => {
      const list = await extensions.listCustomResourceDefinition({ labelSelector: "sluice.io/test-stand-in=true" });
      return list.items.length === 0 ? true : undefined;
    },
    CRD_GONE_TIMEOUT_MS,
    logDir,
  );
  for (const release of ["dflt", "nsd"]) {
    await rbac.deleteClusterRole({ name: `${release}-sluice-operator` }).catch(() => undefined);
    await rbac.deleteClusterRoleBinding({ name: `${release}-sluice-operator` }).catch(() => undefined);
  }
  for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe("helm lint", () => {
  it("passes (--strict) with the default values and with every values file in charts/sluice/ci/", async () => {
    const files = (await readdir(join(chartDir, "ci"))).filter((f) => f.endsWith(".yaml")).sort();
    expect(files).toEqual(["cluster-external-values.yaml", "monitoring-values.yaml", "namespaced-values.yaml"]);
    for (const args of [[], ...files.map((f) => ["-f", join(chartDir, "ci", f)])]) {
      const result = await helm.lint(args);
      expect(result.code, `${args.join(" ")}\n${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it("refuses values that break values.schema.json, saying which value", async () => {
    const cases: Array<[string[], string]> = [
      [["--set", "operator.replicas=2", "--set", "operator.leaderElection.enabled=false"], "at '/operator/replicas': maximum: got 2, want 1"],
      [["--set", "image.pullPolicy=Sometimes"], "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"],
      [["--set", "operatr.replicas=1"], "at '': additional properties 'operatr' not allowed"],
      [["--set", "watchNamespaces={Team_A}"], "at '/watchNamespaces/0': 'Team_A' does not match pattern"],
      [["--set", "dashboards.labels.grafana_dashboard=0"], "at '/dashboards/labels': 'allOf' failed"],
      [["--set-string", "operator.metricsPort=http"], "at '/operator/metricsPort': got string, want integer"],
      [["--set", "monitoring.podMonitor.interval=soon"], "at '/monitoring/podMonitor/interval': 'soon' does not match pattern"],
      [["--set", "cluster.enabled=true", "--set", "cluster.spec=null"], "at '/cluster': missing property 'spec'"],
    ];
    for (const [args, message] of cases) {
      const result = await helm.lint(args);
      expect(result.code, args.join(" ")).not.toBe(0);
      expect(result.stdout, args.join(" ")).toContain(`[ERROR] values.yaml: - ${message}`);
    }
  });
});

describe.each(scenarios)("helm template: $name", (scenario) => {
  it("renders exactly the expected objects, all in the release namespace unless cluster-scoped or watched", async () => {
    const { objects } = await render(scenario);
    expect(objects.map(describeObject).sort()).toEqual([...scenario.expected].sort());
    for (const o of objects) {
      expect(o.metadata.labels?.["app.kubernetes.io/part-of"], describeObject(o)).toBe("sluice");
    }
  });

  it("passes kubeconform (strict) against the apiserver's /openapi/v2 and the CRDs' schemas", async () => {
    const { yaml, objects } = await render(scenario);
    const report = await kubeconform(yaml, schemaLocation, monitoringSkip);
    const problems = report.resources.filter((r) => r.status !== "statusValid" && r.status !== "statusSkipped");
    expect(problems, JSON.stringify(problems, null, 2)).toEqual([]);
    expect(report.code).toBe(0);
    const monitoring = objects.filter((o) => o.apiVersion === "monitoring.coreos.com/v1").length;
    expect(report.summary).toEqual({ valid: objects.length - monitoring, invalid: 0, errors: 0, skipped: monitoring });
  });

  it("is accepted by a server-side dry-run apply on the harness apiserver, which stores nothing", async () => {
    const { objects } = await render(scenario);
    const applied = await dryRunApply(objects, scenario.release);
    expect(applied).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    const deployment = objects.find((o) => o.kind === "Deployment");
    const read = apps.readNamespacedDeployment({ name: deployment?.metadata.name ?? "", namespace: releaseNamespace });
    await expect(read).rejects.toMatchObject({ code: 404 });
  });
});

describe("what the rendered objects say", () => {
  it("runs the operator as the image's non-root user with probes on its metrics/health port and leader election", async () => {
    const { objects } = await render(scenarios[0] as Scenario);
    const deployment = objects.find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: { securityContext: object; containers: Array<Record<string, unknown>> } } };
    };
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
    const container = pod.containers[0] as Record<string, unknown>;
    expect(container["command"]).toEqual(["sluice-operator"]);
    expect(container["args"]).toEqual([
      "--metrics-port=8080",
      "--log-level=info",
      "--default-broker-image=sluice:0.1.0",
      "--leader-elect",
      `--leader-election-namespace=${releaseNamespace}`,
      "--leader-election-id=sluice-operator-leader",
    ]);
    expect(container["securityContext"]).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container["ports"]).toEqual([{ name: "metrics", containerPort: 8080, protocol: "TCP" }]);
    expect(container["livenessProbe"]).toMatchObject({ httpGet: { path: "/healthz", port: "metrics" } });
    expect(container["readinessProbe"]).toMatchObject({ httpGet: { path: "/healthz", port: "metrics" } });
  });

  it("passes the watched namespaces to the operator and ships the Cluster spec from values unchanged", async () => {
    const namespaced = (await render(scenarios[3] as Scenario)).objects.find((o) => o.kind === "Deployment") as unknown as {
      spec: { replicas: number; template: { spec: { containers: Array<{ args: string[] }> } } };
    };
    expect(namespaced.spec.replicas).toBe(2);
    expect(namespaced.spec.template.spec.containers[0]?.args).toContain(`--watch-namespaces=${watchedA},${watchedB}`);
    expect(namespaced.spec.template.spec.containers[0]?.args).toContain("--resync-period=5m");

    const values = loadAll(await readFile(join(chartDir, "ci", "cluster-external-values.yaml"), "utf8"))[0] as { cluster: { spec: object } };
    const cluster = (await render(scenarios[1] as Scenario)).objects.find((o) => o.kind === "Cluster");
    // Helm merges values files over values.yaml: the default resources/rack/metrics stay.
    expect(cluster?.["spec"]).toMatchObject(values.cluster.spec);
    expect(cluster?.["spec"]).toMatchObject({ rack: { topologyKey: "topology.kubernetes.io/zone" }, metrics: { enabled: true } });
  });

  it("ships dashboards/broker.json unchanged in a ConfigMap labelled for Grafana's sidecar", async () => {
    const { objects } = await render(scenarios[2] as Scenario);
    const configMap = objects.find((o) => o.kind === "ConfigMap") as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: "1", grafana_folder: "sluice" });
    const shipped = JSON.parse(configMap.data["sluice-broker.json"] ?? "") as unknown;
    expect(shipped).toEqual(JSON.parse(await readFile(join(chartDir, "dashboards", "broker.json"), "utf8")));
  });

  it("alerts on broker down, RPC errors, slow fsync and consumer lag, and on the operator only when it is scraped", async () => {
    const alerts = (objects: RenderedObject[]): string[] =>
      objects
        .filter((o) => o.kind === "PrometheusRule")
        .flatMap((o) => (o["spec"] as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups)
        .flatMap((g) => g.rules.map((r) => `${r.alert}: ${r.expr.replace(/\s+/g, " ").trim()}`));
    const all = alerts((await render(scenarios[2] as Scenario)).objects);
    expect(all.map((a) => a.split(":")[0])).toEqual([
      "SluiceBrokerDown",
      "SluiceBrokerRpcErrors",
      "SluiceBrokerFsyncSlow",
      "SluiceConsumerLagGrowing",
      "SluiceConsumerTimeLagHigh",
      "SluiceOperatorDown",
    ]);
    expect(all[0]).toBe('SluiceBrokerDown: up{job="sluice-broker"} == 0');
    expect(all[1]).toContain("> 0.02"); // ci/monitoring-values.yaml's rpcErrorRatio
    expect(all[3]).toContain("sluice_consumer_group_lag{");
    expect(all[4]).toContain("sluice_consumer_group_lag_seconds{");
    expect(all[5]).toBe('SluiceOperatorDown: up{job="sluice-operator"} == 0');

    const rulesOnly = await helm.template("r", releaseNamespace, ["--set", "monitoring.prometheusRule.enabled=true"]);
    expect(alerts(parseManifests(rulesOnly.stdout)).map((a) => a.split(":")[0])).toEqual([
      "SluiceBrokerDown",
      "SluiceBrokerRpcErrors",
      "SluiceBrokerFsyncSlow",
      "SluiceConsumerLagGrowing",
      "SluiceConsumerTimeLagHigh",
    ]);
  });
});

describe("what the apiserver refuses at install", () => {
  it("a schema error in cluster.spec fails kubeconform and the dry run; a CEL rule violation fails the dry run", async () => {
    const zero = await helm.template("bad", releaseNamespace, ["--set", "cluster.enabled=true", "--set", "cluster.spec.replicas=0"]);
    expect(zero.code).toBe(0); // values.schema.json leaves cluster.spec to the CRD
    const report = await kubeconform(zero.stdout, schemaLocation, monitoringSkip);
    expect(report.resources.filter((r) => r.status === "statusInvalid").map((r) => [r.kind, r.msg ?? ""])).toEqual([
      ["Cluster", expect.stringContaining("/spec/replicas")],
    ]);
    const zeroCluster = parseManifests(zero.stdout).filter((o) => o.kind === "Cluster");
    await expect(dryRunApply(zeroCluster, "zero")).rejects.toThrow(/Cluster\/bad-sluice: refused: 422: .*spec\.replicas/);

    // CEL rules are beyond kubeconform; the apiserver enforces them.
    const owned = await helm.template("owned", releaseNamespace, ["--set", "cluster.enabled=true", "--set-string", "cluster.spec.config.port=9092"]);
    expect((await kubeconform(owned.stdout, schemaLocation, monitoringSkip)).summary.invalid).toBe(0);
    const ownedCluster = parseManifests(owned.stdout).filter((o) => o.kind === "Cluster");
    await expect(dryRunApply(ownedCluster, "owned")).rejects.toThrow(ManifestApplyError);
    await expect(dryRunApply(ownedCluster, "owned")).rejects.toThrow(/set by the operator/);
  });

  it("kubeconform's schemas catch a misspelled field in an otherwise valid rendered Deployment", async () => {
    const { objects } = await render(scenarios[0] as Scenario);
    const deployment = structuredClone(objects.find((o) => o.kind === "Deployment")) as unknown as {
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
    };
    const container = deployment.spec.template.spec.containers[0] as Record<string, unknown>;
    container["securityContex"] = container["securityContext"];
    delete container["securityContext"];
    const report = await kubeconform(JSON.stringify(deployment), schemaLocation);
    expect(report.summary).toEqual({ valid: 0, invalid: 1, errors: 0, skipped: 0 });
    expect(report.resources[0]?.msg).toContain("additional properties 'securityContex' not allowed");
  });
});

describe("the operator's RBAC, applied and asked with SubjectAccessReviews", () => {
  type Check = [verb: string, resource: string, namespace: string, extra?: Partial<V1ResourceAttributes>];

  async function allowed(serviceAccount: string, [verb, resource, namespace, extra]: Check): Promise<boolean> {
    // "<plural>[.<group>][/<subresource>]", as kubectl names resources.
    const [qualified = "", subresource] = resource.split("/");
    const dot = qualified.indexOf(".");
    const plural = dot < 0 ? qualified : qualified.slice(0, dot);
    const group = dot < 0 ? "" : qualified.slice(dot + 1);
    const review = await authorization.createSubjectAccessReview({
      body: {
        spec: {
          user: `system:serviceaccount:${releaseNamespace}:${serviceAccount}`,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${releaseNamespace}`, "system:authenticated"],
          resourceAttributes: { verb, group, resource: plural, subresource, namespace, ...extra },
        },
      },
    });
    return review.status?.allowed === true;
  }

  async function applyRbac(scenario: Scenario): Promise<string> {
    const { objects } = await render(scenario);
    const rbacKinds = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
    const dir = await mkdtemp(join(scratch, `rbac-${scenario.release}-`));
    await writeFile(join(dir, "rbac.json"), objects.filter((o) => rbacKinds.has(o.kind)).map((o) => JSON.stringify(o)).join("\n---\n"));
    await applyManifestDirectory(kubeConfig, dir);
    return `${scenario.release}-sluice-operator`;
  }

  const lease = { name: "sluice-operator-leader" };

  it("cluster-wide (default): reconciles Clusters/Topics and their children in any namespace, and nothing else", async () => {
    const sa = await applyRbac(scenarios[0] as Scenario);
    const yes: Check[] = [
      ["list", "topics.sluice.io", ""],
      ["watch", "clusters.sluice.io", ""],
      ["patch", "topics.sluice.io", unwatched],
      ["update", "topics.sluice.io/status", watchedA],
      ["patch", "clusters.sluice.io/status", watchedA],
      ["update", "clusters.sluice.io/finalizers", watchedA],
      ["create", "statefulsets.apps", unwatched],
      ["patch", "statefulsets.apps", unwatched],
      ["delete", "services", watchedA],
      ["create", "configmaps", watchedA],
      ["patch", "poddisruptionbudgets.policy", watchedA],
      ["watch", "pods", ""],
      ["create", "events", watchedA],
      ["create", "events.events.k8s.io", watchedA],
      ["create", "servicemonitors.monitoring.coreos.com", watchedA],
      ["create", "leases.coordination.k8s.io", releaseNamespace],
      ["update", "leases.coordination.k8s.io", releaseNamespace, lease],
    ];
    const no: Check[] = [
      ["create", "topics.sluice.io", watchedA],
      ["delete", "clusters.sluice.io", watchedA],
      ["get", "secrets", watchedA],
      ["list", "secrets", ""],
      ["delete", "pods", watchedA],
      ["create", "pods/exec", watchedA],
      ["delete", "persistentvolumeclaims", watchedA],
      ["list", "nodes", ""],
      ["get", "customresourcedefinitions.apiextensions.k8s.io", ""],
      ["create", "clusterroles.rbac.authorization.k8s.io", ""],
      ["create", "rolebindings.rbac.authorization.k8s.io", watchedA],
      ["update", "leases.coordination.k8s.io", releaseNamespace, { name: "someone-elses-lease" }],
      ["create", "leases.coordination.k8s.io", watchedA],
      ["delete", "namespaces", ""],
    ];
    for (const check of yes) expect(await allowed(sa, check), `expected allowed: ${check.join(" ")}`).toBe(true);
    for (const check of no) expect(await allowed(sa, check), `expected denied: ${check.join(" ")}`).toBe(false);
  });

  it("namespace-scoped: the same rights in the watched namespaces only, none cluster-wide", async () => {
    const sa = await applyRbac(scenarios[3] as Scenario);
    for (const ns of [watchedA, watchedB]) {
      for (const check of [
        ["list", "topics.sluice.io", ns],
        ["patch", "clusters.sluice.io/status", ns],
        ["create", "statefulsets.apps", ns],
        ["watch", "pods", ns],
        ["create", "events", ns],
      ] as Check[]) {
        expect(await allowed(sa, check), `expected allowed: ${check.join(" ")}`).toBe(true);
      }
    }
    for (const check of [
      ["list", "topics.sluice.io", ""],
      ["list", "topics.sluice.io", unwatched],
      ["create", "statefulsets.apps", unwatched],
      ["create", "statefulsets.apps", releaseNamespace],
      ["watch", "pods", ""],
    ] as Check[]) {
      expect(await allowed(sa, check), `expected denied: ${check.join(" ")}`).toBe(false);
    }
    // Leader election still works in the release namespace.
    expect(await allowed(sa, ["get", "leases.coordination.k8s.io", releaseNamespace, lease])).toBe(true);
    // No ClusterRole was rendered for this release.
    await expect(rbac.readClusterRole({ name: sa })).rejects.toMatchObject({ code: 404 });
  });
});
