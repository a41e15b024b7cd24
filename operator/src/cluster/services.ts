/**
 * The Services of a Cluster:
 *   - headless `<cluster>-brokers`: per-broker DNS records `<cluster>-<i>.<cluster>-brokers.<ns>.svc`
 *     (the StatefulSet's serviceName). publishNotReadyAddresses: a broker must resolve its peers
 *     while they start, before they are Ready. Also the target the ServiceMonitor scrapes.
 *   - client `<cluster>`: the bootstrap address; only Ready brokers behind it.
 *   - external `<cluster>-external` (spec.listeners.external): LoadBalancer or NodePort to the
 *     brokers' gRPC port from outside the Kubernetes cluster.
 *
 * The in-cluster Services carry the gRPC, data and (when enabled) metrics ports. Clients reach the
 * data listener at the host a broker advertises (its headless-Service name) and the port it
 * advertises in Metadata, so the data port must be the same number on the Pod and the Services.
 * The external Service stays gRPC only: the brokers advertise in-cluster names, and clients that
 * cannot reach the data listener fall back to gRPC.
 *
 * Pure: no I/O.
 */
import type { V1OwnerReference, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { ChildMetadata, Manifest } from "./manifest.js";
import { clientServiceName, clusterLabels, externalServiceName, headlessServiceName, LABEL_SERVICE_ROLE, selectorLabels } from "./names.js";
import type { ResolvedClusterSpec } from "./spec.js";
import { DATA_PORT_NAME, GRPC_PORT_NAME, METRICS_PORT_NAME } from "./statefulset.js";

export type ServiceRole = "brokers" | "client" | "external";

interface ServiceInputs {
  readonly name: string;
  readonly namespace: string;
  readonly spec: ResolvedClusterSpec;
  readonly ownerReferences: V1OwnerReference[];
}

function ports(spec: ResolvedClusterSpec): V1ServicePort[] {
  const out: V1ServicePort[] = [
    { name: GRPC_PORT_NAME, port: spec.listeners.internal.port, targetPort: GRPC_PORT_NAME, protocol: "TCP", appProtocol: "grpc" },
    // No appProtocol: Sluice's own framing has no standard (IANA or kubernetes.io) name.
    { name: DATA_PORT_NAME, port: spec.listeners.internal.dataPort, targetPort: DATA_PORT_NAME, protocol: "TCP" },
  ];
  if (spec.metrics.enabled) out.push({ name: METRICS_PORT_NAME, port: spec.metrics.port, targetPort: METRICS_PORT_NAME, protocol: "TCP", appProtocol: "http" });
  return out;
}

function metadata(inputs: ServiceInputs, serviceName: string, role: ServiceRole, annotations?: Readonly<Record<string, string>>): ChildMetadata {
  const out: ChildMetadata = {
    name: serviceName,
    namespace: inputs.namespace,
    labels: { ...clusterLabels(inputs.name), [LABEL_SERVICE_ROLE]: role },
    ownerReferences: inputs.ownerReferences,
  };
  return annotations !== undefined && Object.keys(annotations).length > 0 ? { ...out, annotations: { ...annotations } } : out;
}

export function buildHeadlessService(inputs: ServiceInputs): Manifest<V1Service> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(inputs, headlessServiceName(inputs.name), "brokers"),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(inputs.name),
      ports: ports(inputs.spec),
    },
  };
}

export function buildClientService(inputs: ServiceInputs): Manifest<V1Service> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(inputs, clientServiceName(inputs.name), "client"),
    spec: { type: "ClusterIP", selector: selectorLabels(inputs.name), ports: ports(inputs.spec) },
  };
}

/** Undefined when spec.listeners.external is absent. */
export function buildExternalService(inputs: ServiceInputs): Manifest<V1Service> | undefined {
  const external = inputs.spec.listeners.external;
  if (external === undefined) return undefined;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(inputs, externalServiceName(inputs.name), "external", external.annotations),
    spec: {
      type: external.type,
      selector: selectorLabels(inputs.name),
      ports: [{ name: GRPC_PORT_NAME, port: external.port, targetPort: GRPC_PORT_NAME, protocol: "TCP", appProtocol: "grpc" }],
    },
  };
}
