/**
 * Test fixtures for the Cluster builder: a Cluster factory and fast-check arbitraries of valid
 * Clusters (names within the limits, broker config keys and values the broker accepts).
 * Excluded from the build (tsconfig.build.json leaves out src/**\/testing/**).
 */
import fc from "fast-check";
import { brokerConfigKeys, resolveBrokerConfig } from "@sluice/broker";
import { sampleBrokerConfigValue } from "../../../../test/helm/crd-keys.js";
import { userBrokerConfigKeys } from "../broker-config.js";
import { CLUSTER_NAME_LENGTH_MAX } from "../names.js";
import { CLUSTER_KIND, SLUICE_API_VERSION, type Cluster, type ClusterSpec } from "../spec.js";

export function makeCluster(spec: Partial<ClusterSpec> = {}, metadata: Partial<Cluster["metadata"]> = {}): Cluster {
  return {
    apiVersion: SLUICE_API_VERSION,
    kind: CLUSTER_KIND,
    metadata: { name: "events", namespace: "streaming", uid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", generation: 1, ...metadata },
    spec: { replicas: 3, ...spec },
  };
}

/** Values the broker accepts for `key`, beyond the table's default (so configs differ). */
export function validValues(key: string): string[] {
  const spec = brokerConfigKeys.find((k) => k.key === key);
  if (spec === undefined) throw new Error(`not a broker key: ${key}`);
  const base = sampleBrokerConfigValue(key);
  switch (spec.kind.type) {
    case "enum":
      return [...spec.kind.values];
    case "fsync":
      return ["always", "never", "interval:5", "interval:100"];
    case "int":
      return [...new Set([base, String(spec.kind.min), String(spec.kind.max)])];
    default:
      return [base];
  }
}

const letters = "abcdefghijklmnopqrstuvwxyz";
const tail = `${letters}0123456789-`;

/** DNS-1035 labels of 1..CLUSTER_NAME_LENGTH_MAX characters. */
export const clusterNameArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...letters),
    fc.string({ unit: fc.constantFrom(...tail), maxLength: CLUSTER_NAME_LENGTH_MAX - 2 }),
    fc.constantFrom(...letters, ..."0123456789"),
  )
  .map(([head, middle, last]) => (middle.length === 0 ? head : `${head}${middle}${last}`));

export const brokerConfigArb: fc.Arbitrary<Record<string, string>> = fc
  .uniqueArray(fc.constantFrom(...userBrokerConfigKeys), { maxLength: 6 })
  .chain((keys) => fc.tuple(...keys.map((k) => fc.constantFrom(...validValues(k)).map((v) => [k, v] as const))))
  .map((pairs) => Object.fromEntries(pairs))
  // Some keys constrain each other (e.g. heartbeat interval below session timeout): keep the
  // combinations the broker itself accepts.
  .filter(brokerAccepts);

function brokerAccepts(config: Record<string, string>): boolean {
  try {
    resolveBrokerConfig({ flags: {}, env: {}, file: config });
    return true;
  } catch {
    return false;
  }
}

const quantityArb = fc.constantFrom("1Gi", "10Gi", "500Mi", "2Ti");

export const clusterSpecArb: fc.Arbitrary<ClusterSpec> = fc.record(
  {
    replicas: fc.integer({ min: 1, max: 100 }),
    image: fc.constantFrom("registry.example.com/sluice:1.2.3", "sluice:dev"),
    imagePullPolicy: fc.constantFrom("Always" as const, "IfNotPresent" as const, "Never" as const),
    storage: fc.record({ size: quantityArb, storageClassName: fc.constantFrom("fast", "standard") }, { requiredKeys: [] }),
    resources: fc.record({ requests: fc.constant({ cpu: "500m", memory: 1073741824 }), limits: fc.constant({ memory: "2Gi" }) }, { requiredKeys: [] }),
    config: brokerConfigArb,
    rack: fc.record({ topologyKey: fc.constantFrom("topology.kubernetes.io/zone", "example.com/rack") }, { requiredKeys: [] }),
    listeners: fc.record(
      {
        // Ranges disjoint from each other and from the defaults they may fall back to (data 9093,
        // external 9094, metrics 9644), so generated specs pass the CRD's distinct-ports rules.
        internal: fc.record({ port: fc.integer({ min: 1024, max: 9092 }), dataPort: fc.integer({ min: 9095, max: 9643 }) }, { requiredKeys: [] }),
        external: fc.record(
          {
            type: fc.constantFrom("LoadBalancer" as const, "NodePort" as const),
            port: fc.integer({ min: 9700, max: 9800 }),
            annotations: fc.constant({ "example.com/lb": "internal" }),
          },
          { requiredKeys: ["type"] },
        ),
      },
      { requiredKeys: [] },
    ),
    metrics: fc.record({ enabled: fc.boolean(), port: fc.integer({ min: 9644, max: 9699 }), serviceMonitor: fc.boolean() }, { requiredKeys: [] }),
    podDisruptionBudget: fc.record({ enabled: fc.boolean(), maxUnavailable: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant("25%")) }, { requiredKeys: [] }),
  },
  { requiredKeys: ["replicas"] },
).map((spec) => {
  // The CRD refuses a ServiceMonitor without metrics (CEL rule); keep generated specs valid.
  if (spec.metrics?.serviceMonitor === true && spec.metrics.enabled === false) return { ...spec, metrics: { ...spec.metrics, serviceMonitor: false } };
  return spec;
});

export const clusterArb: fc.Arbitrary<Cluster> = fc
  .record({ name: clusterNameArb, namespace: fc.constantFrom("default", "streaming", "team-a"), generation: fc.integer({ min: 1, max: 1000 }), spec: clusterSpecArb })
  .map(({ name, namespace, generation, spec }) => makeCluster(spec, { name, namespace, generation, uid: `uid-${name}` }));
