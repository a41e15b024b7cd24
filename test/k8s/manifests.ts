/**
 * Test harness: applies a folder of Kubernetes manifests (the repository's `crds/`, or a test's own
 * YAML) to the test control plane with server-side apply, like `kubectl apply --server-side`.
 *
 * Invariants:
 *   - Lossless: each YAML document is sent as parsed (JSON), never through @kubernetes/client-node's
 *     typed models, which drop fields they do not know (e.g. `x-kubernetes-validations` CEL rules
 *     when given raw YAML, or anything newer than the client's API version).
 *   - Order: files by name, documents in file order. A custom resource may follow the CRD that
 *     defines it: its kind is looked up again once that CRD is Established.
 *   - Bad input (not YAML, no kind/name, unknown kind, apiserver refusal) is a ManifestApplyError
 *     naming the file and object; nothing is retried blindly.
 *   - A missing or empty folder is a no-op.
 *   - `dryRun: true` is `kubectl apply --server-side --dry-run=server`: the apiserver runs every
 *     admission and validation step (schemas, CEL rules, RBAC escalation checks) and persists
 *     nothing; CRDs in the folder are then not waited for (they are not created).
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { join } from "node:path";
import { ApiextensionsV1Api, type KubeConfig } from "@kubernetes/client-node";
// js-yaml is what @kubernetes/client-node itself parses YAML with (a dependency of it, with
// @types/js-yaml); its loadAll keeps documents exactly as written.
import { loadAll } from "js-yaml";
import { describeError, pollUntil } from "./control-plane.js";

/** How long a new CRD may take to be Established (names accepted, served). Usually < 1 s. */
const CRD_ESTABLISHED_TIMEOUT_MS = 30_000;
/** Per-request bound: the apiserver is local; a request this slow means it is wedged. */
const REQUEST_TIMEOUT_MS = 30_000;
const FIELD_MANAGER = "sluice-test-harness";

/** A manifest could not be applied; the message names the file and the object. */
export class ManifestApplyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ManifestApplyError";
  }
}

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS request to the apiserver with the kubeconfig's credentials (no typed models: lossless). */
export async function apiRequest(
  kubeConfig: KubeConfig,
  method: string,
  path: string,
  body?: { readonly contentType: string; readonly text: string },
  accept = "application/json",
): Promise<ApiResponse> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new ManifestApplyError("kubeconfig has no current cluster");
  const options: RequestOptions = {
    method,
    timeout: REQUEST_TIMEOUT_MS,
    headers: {
      Accept: accept,
      ...(body === undefined ? {} : { "Content-Type": body.contentType, "Content-Length": Buffer.byteLength(body.text) }),
    },
  };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, cluster.server), options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body.text);
    req.end();
  });
}

/** The apiserver's Status message, or the raw body. */
function statusMessage(response: ApiResponse): string {
  try {
    const parsed = JSON.parse(response.body) as { message?: unknown };
    if (typeof parsed.message === "string") return `${response.status}: ${parsed.message}`;
  } catch {
    // not JSON
  }
  return `${response.status}: ${response.body.slice(0, 500)}`;
}

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function asManifest(doc: unknown, where: string): Manifest {
  const o = doc as Partial<Manifest> | null;
  if (
    typeof o !== "object" ||
    o === null ||
    Array.isArray(o) ||
    typeof o.apiVersion !== "string" ||
    typeof o.kind !== "string" ||
    typeof o.metadata?.name !== "string" ||
    o.metadata.name === ""
  ) {
    throw new ManifestApplyError(`${where}: not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
  }
  return o as Manifest;
}

export interface ApplyOptions {
  /** Server-side dry run (`dryRun=All`): validated and admitted, never stored. */
  readonly dryRun?: boolean;
}

/**
 * Server-side applies every object in every `*.yaml`/`*.yml`/`*.json` file of `dir`, then waits
 * until each CustomResourceDefinition among them is Established. Returns "<kind>/<name>" of each
 * object applied, in order.
 */
export async function applyManifestDirectory(kubeConfig: KubeConfig, dir: string, options: ApplyOptions = {}): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const discovery = new Map<string, readonly ApiResource[]>();
  /** "<group>/<kind>" → CRD name, for CRDs applied in this call. */
  const crdByKind = new Map<string, string>();
  const established = new Set<string>();
  const applied: string[] = [];

  const waitEstablished = async (name: string): Promise<void> => {
    if (established.has(name)) return;
    await pollUntil(
      `CRD ${name} Established`,
      async () => {
        const crd = await extensions.readCustomResourceDefinition({ name });
        const ok = crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
        return ok ? true : undefined;
      },
      CRD_ESTABLISHED_TIMEOUT_MS,
    );
    established.add(name);
  };

  const lookup = async (manifest: Manifest, where: string): Promise<ApiResource | undefined> => {
    let resources = discovery.get(manifest.apiVersion);
    if (resources === undefined) {
      const response = await apiRequest(kubeConfig, "GET", groupVersionPath(manifest.apiVersion));
      if (response.status === 404) return undefined;
      if (response.status !== 200) {
        throw new ManifestApplyError(`${where}: discovery of ${manifest.apiVersion} failed: ${statusMessage(response)}`);
      }
      resources = (JSON.parse(response.body) as { resources: ApiResource[] }).resources;
      discovery.set(manifest.apiVersion, resources);
    }
    return resources.find((r) => r.kind === manifest.kind && !r.name.includes("/"));
  };

  const resourceFor = async (manifest: Manifest, where: string): Promise<ApiResource> => {
    const found = await lookup(manifest, where);
    if (found !== undefined) return found;
    // Defined by a CRD applied just before? Then wait for it to be served and look again.
    const group = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/")[0] : "";
    const crd = crdByKind.get(`${group ?? ""}/${manifest.kind}`);
    if (crd !== undefined) {
      await waitEstablished(crd);
      discovery.delete(manifest.apiVersion);
      const again = await lookup(manifest, where);
      if (again !== undefined) return again;
    }
    throw new ManifestApplyError(`${where}: the apiserver serves no kind ${manifest.kind} in ${manifest.apiVersion}`);
  };

  for (const file of files) {
    const path = join(dir, file);
    let docs: unknown[];
    try {
      docs = loadAll(await readFile(path, "utf8"));
    } catch (error) {
      throw new ManifestApplyError(`${path}: not valid YAML: ${describeError(error)}`, { cause: error });
    }
    for (const [index, doc] of docs.entries()) {
      if (doc === null || doc === undefined) continue; // empty document (e.g. a trailing ---)
      const manifest = asManifest(doc, `${path} (document ${index + 1})`);
      const label = `${manifest.kind}/${manifest.metadata.name}`;
      const where = `${path}: ${label}`;
      const resource = await resourceFor(manifest, where);
      const namespace = resource.namespaced ? (manifest.metadata.namespace ?? "default") : undefined;
      const target =
        `${groupVersionPath(manifest.apiVersion)}/` +
        (namespace === undefined ? "" : `namespaces/${encodeURIComponent(namespace)}/`) +
        `${resource.name}/${encodeURIComponent(manifest.metadata.name)}` +
        `?fieldManager=${FIELD_MANAGER}&force=true` +
        (options.dryRun === true ? "&dryRun=All" : "");
      let response: ApiResponse;
      try {
        response = await apiRequest(kubeConfig, "PATCH", target, {
          contentType: "application/apply-patch+yaml",
          text: JSON.stringify(manifest),
        });
      } catch (error) {
        throw new ManifestApplyError(`${where}: apply failed: ${describeError(error)}`, { cause: error });
      }
      if (response.status !== 200 && response.status !== 201) {
        throw new ManifestApplyError(`${where}: refused: ${statusMessage(response)}`);
      }
      applied.push(label);
      if (
        options.dryRun !== true &&
        manifest.kind === "CustomResourceDefinition" &&
        manifest.apiVersion.startsWith("apiextensions.k8s.io/")
      ) {
        const spec = manifest["spec"] as { group?: string; names?: { kind?: string } } | undefined;
        crdByKind.set(`${spec?.group ?? ""}/${spec?.names?.kind ?? ""}`, manifest.metadata.name);
      }
    }
  }
  for (const name of crdByKind.values()) await waitEstablished(name);
  return applied;
}
