/**
 * Test helper: the environment the kubelet would give a broker container — downward-API
 * fieldRefs resolved from the Pod's name and labels, `$(VAR)` references expanded in order —
 * so tests can start a broker exactly as a Pod of the built StatefulSet would.
 */
import type { V1Container } from "@kubernetes/client-node";

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function containerEnvironment(container: V1Container, pod: PodIdentity): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    const field = v.valueFrom?.fieldRef?.fieldPath;
    if (field === undefined) {
      env[v.name] = (v.value ?? "").replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
      continue;
    }
    const label = /^metadata\.labels\['(.+)'\]$/.exec(field);
    if (field === "metadata.name") env[v.name] = pod.name;
    else if (field === "metadata.namespace") env[v.name] = pod.namespace;
    else if (label !== null) env[v.name] = pod.labels[label[1] ?? ""] ?? "";
    else throw new Error(`containerEnvironment: fieldRef ${field} is not modelled`);
  }
  return env;
}
