// Proves buildClusterObjects builds what a Cluster asks for: every child owned by the Cluster and
// labelled consistently, names valid for their kinds, replicas/PDB/external Service/ServiceMonitor
// present exactly when asked, a config hash that changes exactly when the config file does, the
// broker Pod spec (command, probes, drain, security, placement, storage), and clear typed errors
// for Clusters that cannot be built.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadBrokerConfig } from "@sluice/broker";
import { operatorOwnedBrokerKeys as crdOperatorOwnedKeys, userBrokerConfigKeys as crdUserKeys } from "../../../test/helm/crd-keys.js";
import { BROKER_CONFIG_PATH, operatorOwnedBrokerKeys, userBrokerConfigKeys } from "./broker-config.js";
import { ClusterSpecError } from "./errors.js";
import { PRESTOP_DELAY_SECONDS, SHUTDOWN_MARGIN_SECONDS } from "./limits.js";
import { CLUSTER_NAME_LENGTH_MAX, DNS_LABEL_LENGTH_MAX, isDns1035Label } from "./names.js";
import { buildClusterObjects, type BuildClusterOptions, type ClusterChild } from "./objects.js";
import { withClusterDefaults, type Cluster } from "./spec.js";
import { CONFIG_HASH_ANNOTATION, POD_INDEX_LABEL } from "./statefulset.js";
import { clusterArb, makeCluster } from "./testing/clusters.js";
import { containerEnvironment } from "./testing/pod-env.js";

const options: BuildClusterOptions = { defaultBrokerImage: "ghcr.io/sluice/sluice:0.1.0", serviceMonitorAvailable: true };
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** The StatefulSet controller's revision-hash suffix: "-" and up to 10 characters. */
const REVISION_HASH_SUFFIX_LENGTH = 11;

function container(objects: ReturnType<typeof buildClusterObjects>): NonNullable<NonNullable<NonNullable<typeof objects.statefulSet.spec>["template"]["spec"]>["containers"][number]> {
  const found = objects.statefulSet.spec?.template.spec?.containers[0];
  if (found === undefined) throw new Error("no container");
  return found;
}

describe("buildClusterObjects: properties over generated Clusters", () => {
  it("owns every child by the Cluster (controller reference) in its namespace, with the same labels", () => {
    fc.assert(
      fc.property(clusterArb, fc.boolean(), (cluster, serviceMonitorAvailable) => {
        const objects = buildClusterObjects(cluster, { ...options, serviceMonitorAvailable });
        for (const child of objects.desired) {
          expect(child.metadata.namespace).toBe(cluster.metadata.namespace);
          expect(child.metadata.ownerReferences).toEqual([
            { apiVersion: "sluice.io/v1alpha1", kind: "Cluster", name: cluster.metadata.name, uid: cluster.metadata.uid, controller: true, blockOwnerDeletion: true },
          ]);
          expect(child.metadata.labels).toMatchObject({
            "app.kubernetes.io/name": "sluice",
            "app.kubernetes.io/instance": cluster.metadata.name,
            "app.kubernetes.io/component": "broker",
            "app.kubernetes.io/managed-by": "sluice-operator",
            "sluice.io/cluster": cluster.metadata.name,
          });
          for (const value of Object.values(child.metadata.labels)) expect(value).toMatch(LABEL_VALUE);
        }
        // The Pods carry the same labels, and the selectors select exactly those Pods.
        const podLabels = objects.statefulSet.spec?.template.metadata?.labels ?? {};
        expect(podLabels).toEqual(objects.statefulSet.metadata.labels);
        expect(podLabels).toMatchObject(objects.statefulSet.spec?.selector.matchLabels ?? { missing: true });
        for (const service of [objects.headlessService, objects.clientService, objects.externalService]) {
          if (service !== undefined) expect(podLabels).toMatchObject(service.spec?.selector ?? { missing: true });
        }
        if (objects.podDisruptionBudget !== undefined) expect(podLabels).toMatchObject(objects.podDisruptionBudget.spec?.selector?.matchLabels ?? {});
      }),
      { numRuns: 150 },
    );
  });

  it("names every object validly: Services DNS-1035 labels, the rest DNS-1123, Pod names and revision labels within 63", () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        const objects = buildClusterObjects(cluster, options);
        const names = objects.desired.map((o: ClusterChild) => [o.kind, o.metadata.name] as const);
        expect(new Set(names.map(([kind, name]) => `${kind}/${name}`)).size).toBe(names.length);
        for (const [kind, name] of names) {
          if (kind === "Service") expect(isDns1035Label(name), name).toBe(true);
          else expect(name).toMatch(DNS_1123_SUBDOMAIN);
          expect(name.length).toBeLessThanOrEqual(DNS_LABEL_LENGTH_MAX);
        }
        const sts = objects.statefulSet.metadata.name;
        expect(`${sts}-${cluster.spec.replicas - 1}`.length).toBeLessThanOrEqual(DNS_LABEL_LENGTH_MAX);
        expect(sts.length + REVISION_HASH_SUFFIX_LENGTH).toBeLessThanOrEqual(DNS_LABEL_LENGTH_MAX);
      }),
      { numRuns: 150 },
    );
  });

  it("builds what the spec asks for: replicas, ports, PDB, external Service and ServiceMonitor exactly when wanted", () => {
    fc.assert(
      fc.property(clusterArb, fc.boolean(), (cluster, serviceMonitorAvailable) => {
        const spec = withClusterDefaults(cluster.spec);
        const objects = buildClusterObjects(cluster, { ...options, serviceMonitorAvailable });
        expect(objects.statefulSet.spec?.replicas).toBe(cluster.spec.replicas);
        expect(container(objects).ports?.find((p) => p.name === "grpc")?.containerPort).toBe(spec.listeners.internal.port);
        expect(container(objects).ports?.find((p) => p.name === "data")?.containerPort).toBe(spec.listeners.internal.dataPort);
        expect(container(objects).ports?.some((p) => p.name === "metrics")).toBe(spec.metrics.enabled);
        // The broker binds exactly the container ports (the Services' named targetPorts rely on it).
        const file = JSON.parse(objects.configMap.data?.["broker.json"] ?? "{}") as Record<string, string>;
        expect([file["port"], file["data-port"]]).toEqual([String(spec.listeners.internal.port), String(spec.listeners.internal.dataPort)]);
        // In-cluster Services: gRPC and data (plain TCP, no appProtocol), plus metrics when enabled.
        for (const service of [objects.headlessService, objects.clientService]) {
          expect(service.spec?.ports).toEqual([
            { name: "grpc", port: spec.listeners.internal.port, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" },
            { name: "data", port: spec.listeners.internal.dataPort, targetPort: "data", protocol: "TCP" },
            ...(spec.metrics.enabled ? [{ name: "metrics", port: spec.metrics.port, targetPort: "metrics", protocol: "TCP", appProtocol: "http" }] : []),
          ]);
        }
        // Outside the Kubernetes cluster: gRPC only (clients fall back to it).
        expect(objects.externalService?.spec?.ports?.map((p) => p.targetPort)).toEqual(spec.listeners.external === undefined ? undefined : ["grpc"]);
        expect(objects.podDisruptionBudget !== undefined).toBe(spec.podDisruptionBudget.enabled);
        expect(objects.podDisruptionBudget?.spec?.maxUnavailable).toBe(spec.podDisruptionBudget.enabled ? spec.podDisruptionBudget.maxUnavailable : undefined);
        expect(objects.externalService?.spec?.type).toBe(spec.listeners.external?.type);
        expect(objects.externalService?.spec?.ports?.[0]?.port).toBe(spec.listeners.external?.port);
        const monitorWanted = spec.metrics.enabled && spec.metrics.serviceMonitor;
        expect(objects.serviceMonitor !== undefined).toBe(monitorWanted && serviceMonitorAvailable);
        expect(objects.warnings.length > 0).toBe(monitorWanted && !serviceMonitorAvailable);
        // `unwanted` is exactly the optional kinds not built (a ServiceMonitor only where the kind is served).
        const unwantedKinds = objects.unwanted.map((u) => u.kind).sort();
        const expectedUnwanted = [
          ...(objects.externalService === undefined ? ["Service"] : []),
          ...(objects.podDisruptionBudget === undefined ? ["PodDisruptionBudget"] : []),
          ...(objects.serviceMonitor === undefined && serviceMonitorAvailable ? ["ServiceMonitor"] : []),
        ].sort();
        expect(unwantedKinds).toEqual(expectedUnwanted);
        expect(objects.bootstrap).toBe(`${cluster.metadata.name}.${cluster.metadata.namespace}.svc:${spec.listeners.internal.port}`);
      }),
      { numRuns: 150 },
    );
  });

  it("is deterministic: the same Cluster builds the same objects", () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        expect(buildClusterObjects(structuredClone(cluster), options)).toEqual(buildClusterObjects(cluster, options));
      }),
      { numRuns: 50 },
    );
  });

  it("changes the config hash (and the Pod template annotation) exactly when the broker config file changes", () => {
    fc.assert(
      fc.property(clusterArb, clusterArb, (a, b) => {
        const x = buildClusterObjects(a, options);
        const y = buildClusterObjects(b, options);
        const sameFile = x.configMap.data?.["broker.json"] === y.configMap.data?.["broker.json"];
        expect(x.configHash === y.configHash).toBe(sameFile);
        expect(x.statefulSet.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]).toBe(x.configHash);
      }),
      { numRuns: 200 },
    );
  });

  it("does not depend on the order of spec.config keys, and changes with any one value", () => {
    fc.assert(
      fc.property(clusterArb, (cluster) => {
        const entries = Object.entries(cluster.spec.config ?? {});
        const reversed = makeCluster({ ...cluster.spec, config: Object.fromEntries([...entries].reverse()) }, cluster.metadata);
        expect(buildClusterObjects(reversed, options).configHash).toBe(buildClusterObjects(cluster, options).configHash);
        const other = makeCluster({ ...cluster.spec, config: { ...cluster.spec.config, "log-level": cluster.spec.config?.["log-level"] === "trace" ? "debug" : "trace" } }, cluster.metadata);
        expect(buildClusterObjects(other, options).configHash).not.toBe(buildClusterObjects(cluster, options).configHash);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the broker config file", () => {
  it("holds spec.config plus the operator's keys, and a broker reading it with the Pod's environment gets its id and DNS name", () => {
    const cluster = makeCluster({ config: { "log-level": "debug", fsync: "interval:5", "log.retention.ms": "86400000" }, listeners: { internal: { port: 9200, dataPort: 9201 } } });
    const objects = buildClusterObjects(cluster, options);
    const text = objects.configMap.data?.["broker.json"] ?? "";
    expect(JSON.parse(text)).toEqual({
      "data-dir": "/var/lib/sluice/data",
      fsync: "interval:5",
      host: "0.0.0.0",
      "log-level": "debug",
      "log.retention.ms": "86400000",
      "metrics-host": "0.0.0.0",
      "metrics-port": "9644",
      port: "9200",
      "data-port": "9201",
    });
    expect(container(objects).args).toEqual(["--config", BROKER_CONFIG_PATH]);

    // What the kubelet gives broker 2's container: fieldRefs resolved from its Pod, $(VAR) expanded.
    const env = containerEnvironment(container(objects), { name: "events-2", namespace: "streaming", labels: { [POD_INDEX_LABEL]: "2" } });
    const { config } = loadBrokerConfig(container(objects).args ?? [], env, (path) => {
      expect(path).toBe(BROKER_CONFIG_PATH);
      return text;
    });
    expect(config).toMatchObject({
      brokerId: 2,
      advertisedHost: "events-2.events-brokers.streaming.svc",
      host: "0.0.0.0",
      port: 9200,
      dataPort: 9201,
      metricsPort: 9644,
      dataDir: "/var/lib/sluice/data",
      logLevel: "debug",
      fsync: { kind: "interval", intervalMs: 5 },
      topicDefaults: { "retention.ms": "86400000" },
    });
  });

  it("turns the broker's metrics server off when metrics are disabled", () => {
    const objects = buildClusterObjects(makeCluster({ metrics: { enabled: false } }), options);
    expect(JSON.parse(objects.configMap.data?.["broker.json"] ?? "{}")["metrics-port"]).toBe("-1");
    expect(objects.headlessService.spec?.ports?.map((p) => p.name)).toEqual(["grpc", "data"]);
  });

  it("gives the data listener its default port 9093 when the spec leaves it out", () => {
    const objects = buildClusterObjects(makeCluster(), options);
    expect(JSON.parse(objects.configMap.data?.["broker.json"] ?? "{}")["data-port"]).toBe("9093");
    expect(container(objects).ports).toEqual([
      { name: "grpc", containerPort: 9092, protocol: "TCP" },
      { name: "data", containerPort: 9093, protocol: "TCP" },
      { name: "metrics", containerPort: 9644, protocol: "TCP" },
    ]);
  });

  it("uses the broker's own key table: the user keys and operator-owned keys are the CRD tests' lists", () => {
    expect([...operatorOwnedBrokerKeys].sort()).toEqual([...crdOperatorOwnedKeys].sort());
    expect(userBrokerConfigKeys).toEqual(crdUserKeys());
  });
});

describe("the broker StatefulSet", () => {
  const objects = buildClusterObjects(
    makeCluster({
      config: { "shutdown-timeout-ms": "30000" },
      resources: { requests: { cpu: "500m", memory: 1073741824 }, limits: { memory: "2Gi" } },
      storage: { size: "50Gi", storageClassName: "fast-ssd" },
      imagePullPolicy: "IfNotPresent",
    }),
    options,
  );
  const sts = objects.statefulSet;
  const pod = sts.spec?.template.spec;

  it("runs Parallel behind the headless Service with the operator's default image and the spec's resources", () => {
    expect(sts.spec?.serviceName).toBe("events-brokers");
    expect(sts.spec?.podManagementPolicy).toBe("Parallel");
    expect(container(objects)).toMatchObject({
      image: options.defaultBrokerImage,
      imagePullPolicy: "IfNotPresent",
      command: ["sluice-broker"],
      resources: { requests: { cpu: "500m", memory: "1073741824" }, limits: { memory: "2Gi" } },
    });
    expect(buildClusterObjects(makeCluster({ image: "example.com/sluice:9" }), options).statefulSet.spec?.template.spec?.containers[0]?.image).toBe("example.com/sluice:9");
  });

  it("probes the broker's gRPC health service and gives it time to drain on stop", () => {
    const c = container(objects);
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe?.grpc).toEqual({ port: 9092 });
    expect(c.lifecycle?.preStop?.sleep?.seconds).toBe(PRESTOP_DELAY_SECONDS);
    expect(pod?.terminationGracePeriodSeconds).toBe(PRESTOP_DELAY_SECONDS + 30 + SHUTDOWN_MARGIN_SECONDS);
    const defaults = buildClusterObjects(makeCluster(), options).statefulSet.spec?.template.spec;
    expect(defaults?.terminationGracePeriodSeconds).toBe(PRESTOP_DELAY_SECONDS + 10 + SHUTDOWN_MARGIN_SECONDS);
  });

  it("runs as the image's non-root user 10001 with a read-only root and no token", () => {
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 });
    expect(container(objects).securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
    expect(pod?.automountServiceAccountToken).toBe(false);
  });

  it("keeps data on a claim template of the spec's size and class, mounted where the image expects it", () => {
    expect(sts.spec?.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: "data" }),
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "50Gi" } }, storageClassName: "fast-ssd" },
      }),
    ]);
    expect(container(objects).volumeMounts?.find((m) => m.name === "data")?.mountPath).toBe("/var/lib/sluice");
    expect(pod?.volumes?.find((v) => v.name === "config")?.configMap?.name).toBe(objects.configMap.metadata.name);
    // Given the live templates (immutable), the build keeps them even when storage.size grew.
    const live = sts.spec?.volumeClaimTemplates ?? [];
    const grown = buildClusterObjects(makeCluster({ storage: { size: "80Gi", storageClassName: "fast-ssd" } }), { ...options, currentVolumeClaimTemplates: live });
    expect(grown.statefulSet.spec?.volumeClaimTemplates).toEqual(live);
  });

  it("spreads brokers over racks when spec.rack is set, and only prefers separate Nodes otherwise", () => {
    const racked = buildClusterObjects(makeCluster({ rack: { topologyKey: "example.com/rack" } }), options).statefulSet.spec?.template.spec;
    expect(racked?.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: "example.com/rack", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: sts.spec?.selector.matchLabels } },
    ]);
    expect(racked?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "example.com/rack", operator: "Exists" }] },
    ]);
    const defaultRack = buildClusterObjects(makeCluster({ rack: {} }), options).statefulSet.spec?.template.spec;
    expect(defaultRack?.topologySpreadConstraints?.[0]?.topologyKey).toBe("topology.kubernetes.io/zone");
    expect(pod?.topologySpreadConstraints).toBeUndefined();
    expect(pod?.affinity?.nodeAffinity).toBeUndefined();
    expect(pod?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
  });
});

describe("Clusters that cannot be built", () => {
  const refused = (cluster: Cluster, opts: BuildClusterOptions = options): ClusterSpecError => {
    try {
      buildClusterObjects(cluster, opts);
    } catch (error) {
      if (error instanceof ClusterSpecError) return error;
      throw error;
    }
    throw new Error("expected a ClusterSpecError");
  };

  it("refuses names that cannot name the Services or fit the Pod labels", () => {
    expect(refused(makeCluster({}, { name: "events.prod" })).reason).toBe("InvalidName");
    expect(refused(makeCluster({}, { name: "1events" })).message).toContain("DNS-1035");
    const long = `e${"x".repeat(CLUSTER_NAME_LENGTH_MAX)}`;
    expect(refused(makeCluster({}, { name: long })).message).toContain(`at most ${CLUSTER_NAME_LENGTH_MAX}`);
    expect(() => buildClusterObjects(makeCluster({}, { name: long.slice(0, CLUSTER_NAME_LENGTH_MAX) }), options)).not.toThrow();
  });

  it("refuses unknown and operator-owned config keys, and values the broker would refuse, with the broker's reason", () => {
    const unknown = refused(makeCluster({ config: { "log.retention.hours": "1" } }));
    expect(unknown).toMatchObject({ reason: "InvalidConfig", field: 'spec.config["log.retention.hours"]', errorName: "INVALID_CONFIG" });
    expect(refused(makeCluster({ config: { port: "9093" } })).message).toContain("set by the operator");
    expect(refused(makeCluster({ config: { "data-port": "9000" } })).message).toContain("set by the operator");
    const range = refused(makeCluster({ config: { "default-partitions": "0" } }));
    expect(range.field).toBe('spec.config["default-partitions"]');
    expect(range.message).toContain("must be in [1,");
    expect(refused(makeCluster({ config: { fsync: "sometimes" } })).field).toBe('spec.config["fsync"]');
  });

  it("refuses ports a broker could not bind together (a Cluster stored before the CRD's rules), naming the field", () => {
    // The default dataPort (9093) meets a gRPC port chosen before dataPort existed.
    const data = refused(makeCluster({ listeners: { internal: { port: 9093 } } }));
    expect(data).toMatchObject({ reason: "InvalidSpec", field: "spec.listeners.internal.dataPort" });
    expect(data.message).toContain("listeners.internal.port");
    const metrics = refused(makeCluster({ metrics: { port: 9093 } }));
    expect(metrics).toMatchObject({ reason: "InvalidSpec", field: "spec.metrics.port" });
    expect(metrics.message).toContain("listeners.internal.dataPort");
    expect(refused(makeCluster({ metrics: { port: 9092 } })).field).toBe("spec.metrics.port");
    // With metrics off the broker binds no metrics port, so its number cannot clash.
    expect(() => buildClusterObjects(makeCluster({ metrics: { enabled: false, port: 9093 } }), options)).not.toThrow();
  });

  it("refuses a Cluster without uid or namespace, and an empty image with no default", () => {
    expect(refused(makeCluster({}, { uid: undefined })).field).toBe("metadata.uid");
    expect(refused(makeCluster({}, { namespace: undefined })).field).toBe("metadata.namespace");
    expect(refused(makeCluster(), { ...options, defaultBrokerImage: "" }).field).toBe("spec.image");
  });
});
