/**
 * Test harness: runs the real `helm` and `kubeconform` binaries the build script installed
 * (scripts/k8s/build-control-plane.sh) on charts/sluice, offline, and parses what they print.
 *
 * Invariants:
 *   - Helm never touches the user's Helm folders: its cache/config/data homes point into a temp
 *     folder given by the caller.
 *   - A non-zero exit is returned as a result (code, stdout, stderr), never thrown, so tests can
 *     assert on refusals; only a failure to start the binary throws.
 *   - Every call has a time bound (TOOL_TIMEOUT_MS): a wedged tool fails the test, not CI.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadAll } from "js-yaml";
import { repoRoot, resolveBinaries } from "./control-plane.js";
import { schemasFromCrd, schemasFromOpenApiV2, type OpenApiV2Document } from "./kubeconform-schemas.js";

/** helm template/lint of this chart take well under a second; the bound only catches a hang. */
const TOOL_TIMEOUT_MS = 60_000;
/** Rendered manifests of a chart this size are tens of KiB; room for much larger output. */
const TOOL_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

export const chartDir = join(repoRoot, "charts", "sluice");

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(binary: string, args: readonly string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      [...args],
      { env, timeout: TOOL_TIMEOUT_MS, maxBuffer: TOOL_OUTPUT_BYTES_MAX, cwd: repoRoot },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") {
          reject(new Error(`${binary} ${args.join(" ")} did not run: ${error.message}\n${stderr}`, { cause: error }));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

export class Helm {
  readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;

  /** `home` is a scratch folder for Helm's cache/config/data. */
  constructor(
    home: string,
    readonly kubeVersion: string,
  ) {
    this.binary = resolveBinaries().helm.path;
    this.env = {
      PATH: process.env["PATH"],
      HOME: home,
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_DATA_HOME: join(home, "data"),
    };
  }

  lint(args: readonly string[] = []): Promise<ToolResult> {
    return run(this.binary, ["lint", chartDir, "--strict", "--kube-version", this.kubeVersion, ...args], this.env);
  }

  /** `helm template <release> charts/sluice --namespace <ns> --include-crds ...`. */
  template(release: string, namespace: string, args: readonly string[] = []): Promise<ToolResult> {
    return run(
      this.binary,
      ["template", release, chartDir, "--namespace", namespace, "--include-crds", "--kube-version", this.kubeVersion, ...args],
      this.env,
    );
  }
}

export interface RenderedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseManifests(yaml: string): RenderedObject[] {
  return loadAll(yaml).filter((d): d is RenderedObject => d !== null && d !== undefined);
}

export interface KubeconformResource {
  readonly kind: string;
  readonly name: string;
  readonly version: string;
  readonly status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty";
  readonly msg?: string;
}

export interface KubeconformReport {
  readonly code: number;
  readonly resources: readonly KubeconformResource[];
  readonly summary: { readonly valid: number; readonly invalid: number; readonly errors: number; readonly skipped: number };
  readonly stderr: string;
}

/**
 * Writes kubeconform's local schema folder: every kind the apiserver's /openapi/v2 describes,
 * plus sluice.io kinds from the CRD files (their own schemas, not the apiserver's v2 rendering
 * of them). Returns the `-schema-location` template.
 */
export async function writeSchemaFolder(dir: string, openApi: OpenApiV2Document, crdDocuments: readonly unknown[]): Promise<string> {
  const schemas = schemasFromOpenApiV2(openApi, { strict: true, skipGroups: ["sluice.io"] });
  for (const crd of crdDocuments) for (const [path, schema] of schemasFromCrd(crd, openApi, { strict: true })) schemas.set(path, schema);
  for (const [path, schema] of schemas) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(schema));
  }
  return `${dir}/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json`;
}

/**
 * kubeconform over a YAML stream against the local schemas, reporting every resource
 * (`-verbose`). `skip` lists kinds to leave out as "<apiVersion>/<Kind>".
 */
export async function kubeconform(yaml: string, schemaLocation: string, skip: readonly string[] = []): Promise<KubeconformReport> {
  const binary = resolveBinaries().kubeconform.path;
  const args = ["-schema-location", schemaLocation, "-output", "json", "-summary", "-verbose"];
  if (skip.length > 0) args.push("-skip", skip.join(","));
  const result = await run(binary, args, { PATH: process.env["PATH"] }, yaml);
  let parsed: { resources?: KubeconformResource[]; summary: KubeconformReport["summary"] };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch (error) {
    throw new Error(`kubeconform printed no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`, { cause: error });
  }
  return { code: result.code, resources: parsed.resources ?? [], summary: parsed.summary, stderr: result.stderr };
}
