/**
 * Vitest global setup for the Kubernetes tests (test/k8s/vitest.config.ts): starts one real
 * control plane (control-plane.ts) before any `*.k8s.test.ts` file runs, applies every manifest
 * under `crds/` (the sluice.io Cluster and Topic CRDs), hands the kubeconfig to the
 * tests, and stops everything afterwards.
 *
 * Tests read `inject("k8sKubeconfigPath")` (and the other keys below). Child processes a test
 * starts (operator, kubectl, helm) can use the KUBECONFIG-style env var SLUICE_TEST_KUBECONFIG,
 * which is set before the test workers are forked.
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { repoRoot, startControlPlane } from "./control-plane.js";
import { applyManifestDirectory } from "./manifests.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin kubeconfig of the shared control plane. */
    k8sKubeconfigPath: string;
    /** https://127.0.0.1:<port> */
    k8sServer: string;
    /** The gitVersion the apiserver must report. */
    k8sExpectedVersion: string;
    /** Names of the fake (kwok) Nodes. */
    k8sNodeNames: string[];
    /** Folder holding one log per control-plane process (for failure messages). */
    k8sLogDir: string;
    /** "<kind>/<name>" of every object applied from crds/. */
    k8sAppliedCrds: string[];
  }
}

export const CRDS_DIR = join(repoRoot, "crds");

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedMs = performance.now();
  const controlPlane = await startControlPlane();
  let applied: string[];
  try {
    applied = await applyManifestDirectory(controlPlane.kubeConfig, CRDS_DIR);
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
  const elapsedMs = Math.round(performance.now() - startedMs);
  console.log(
    `[k8s] control plane ${controlPlane.version} up at ${controlPlane.server} in ${elapsedMs} ms ` +
      `(${controlPlane.nodeNames.length} kwok Nodes; ${applied.length} objects from crds/)`,
  );
  project.provide("k8sKubeconfigPath", controlPlane.kubeconfigPath);
  project.provide("k8sServer", controlPlane.server);
  project.provide("k8sExpectedVersion", controlPlane.expectedVersion);
  project.provide("k8sNodeNames", [...controlPlane.nodeNames]);
  project.provide("k8sLogDir", controlPlane.logDir);
  project.provide("k8sAppliedCrds", applied);
  process.env["SLUICE_TEST_KUBECONFIG"] = controlPlane.kubeconfigPath;
  return async () => {
    await controlPlane.stop();
  };
}
