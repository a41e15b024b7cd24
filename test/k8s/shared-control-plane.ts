/**
 * What a `*.k8s.test.ts` file needs first: the shared control plane's kubeconfig, as
 * global-setup.ts provided it. Throws a clear error when a k8s test file is run outside the k8s
 * vitest project (no control plane was started).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

export interface SharedControlPlane {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
}

export function sharedControlPlane(): SharedControlPlane {
  const kubeconfigPath = inject("k8sKubeconfigPath") as string | undefined;
  if (kubeconfigPath === undefined) {
    throw new Error("no control plane: run k8s tests with `npx vitest run --config test/k8s/vitest.config.ts`");
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { kubeconfigPath, kubeConfig };
}
