/**
 * A small JSON client for the Kubernetes API: get, list, create, replace, merge patch,
 * server-side apply, delete and discovery, on any resource of resources.ts.
 *
 * Why not the typed clients of @kubernetes/client-node: their models drop fields they do not
 * know (a custom resource's spec, fields newer than the library), and each of their calls builds
 * a new HTTPS agent, so every request pays a TLS handshake. Here bodies are sent and returned as
 * JSON exactly, and one keep-alive agent carries every request. Credentials still come from the
 * library's KubeConfig (kubeconfig file or in-cluster service account, refreshed tokens included):
 * its headers are taken per request, its TLS material once.
 *
 * Errors: any status >= 400, or no answer at all, rejects with a KubeApiError (status, reason).
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError } from "../errors.js";
import { KUBE_REQUEST_TIMEOUT_MS, KUBE_SOCKETS_MAX } from "../limits.js";
import type { KubeList, KubeObject } from "./objects.js";
import { collectionPath, objectPath, type ResourceType } from "./resources.js";

/** Whoever changes objects through this client: the owner of fields in server-side apply. */
export const FIELD_MANAGER = "sluice-operator";

export interface RequestBody {
  readonly contentType: string;
  readonly value: unknown;
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ApiResourceList {
  readonly groupVersion: string;
  readonly resources: readonly { readonly name: string; readonly kind: string; readonly namespaced: boolean }[];
}

interface StatusBody {
  readonly message?: unknown;
  readonly reason?: unknown;
}

export class KubeClient {
  private agent: HttpAgent | undefined;
  private readonly server: URL;

  constructor(private readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeApiError("kubeconfig has no current cluster", 0, "NoCluster");
    this.server = new URL(cluster.server);
  }

  /** The apiserver URL (for logs). */
  get serverUrl(): string {
    return this.server.href;
  }

  async request<T>(method: string, path: string, body?: RequestBody, query: Readonly<Record<string, string>> = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const text = body === undefined ? undefined : JSON.stringify(body.value);
    const options: RequestOptions = {
      method,
      headers: {
        Accept: "application/json",
        "User-Agent": FIELD_MANAGER,
        ...(text === undefined ? {} : { "Content-Type": body?.contentType ?? "application/json", "Content-Length": Buffer.byteLength(text) }),
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(options);
    options.agent = this.agentFor(options);
    const secure = url.protocol === "https:";
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
        let received = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          received += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: received }));
        res.on("error", reject);
      });
      req.setTimeout(KUBE_REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${KUBE_REQUEST_TIMEOUT_MS} ms`)));
      req.on("error", reject);
      if (text !== undefined) req.write(text);
      req.end();
    }).catch((error: unknown) => {
      throw new KubeApiError(`${method} ${url.pathname}: ${error instanceof Error ? error.message : String(error)}`, 0, "", { cause: error });
    });
    let parsed: unknown = undefined;
    if (answer.text.length > 0) {
      try {
        parsed = JSON.parse(answer.text);
      } catch {
        parsed = undefined;
      }
    }
    if (answer.status >= 400) {
      const status = (parsed ?? {}) as StatusBody;
      const message = typeof status.message === "string" ? status.message : answer.text.slice(0, 500);
      const reason = typeof status.reason === "string" ? status.reason : "";
      throw new KubeApiError(`${method} ${url.pathname}: ${answer.status} ${message}`, answer.status, reason);
    }
    return parsed as T;
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(resource: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", objectPath(resource, namespace, name));
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(resource: ResourceType, namespace?: string, options: ListOptions = {}): Promise<KubeList<T>> {
    const query: Record<string, string> = {};
    if (options.labelSelector !== undefined) query["labelSelector"] = options.labelSelector;
    if (options.fieldSelector !== undefined) query["fieldSelector"] = options.fieldSelector;
    return this.request<KubeList<T>>("GET", collectionPath(resource, namespace), undefined, query);
  }

  create<T extends KubeObject = KubeObject, O extends KubeObject = KubeObject>(resource: ResourceType, namespace: string | undefined, object: O): Promise<T> {
    return this.request<T>("POST", collectionPath(resource, namespace), { contentType: "application/json", value: object }, { fieldManager: FIELD_MANAGER });
  }

  /** PUT: fails with 409 when `object.metadata.resourceVersion` is not the stored one. */
  replace<T extends KubeObject = KubeObject, O extends KubeObject = KubeObject>(resource: ResourceType, namespace: string | undefined, object: O): Promise<T> {
    return this.request<T>("PUT", objectPath(resource, namespace, object.metadata.name), { contentType: "application/json", value: object }, { fieldManager: FIELD_MANAGER });
  }

  /** JSON merge patch (RFC 7386) of the object or its status subresource. */
  mergePatch<T extends KubeObject = KubeObject>(resource: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: "status"): Promise<T> {
    return this.request<T>("PATCH", objectPath(resource, namespace, name, subresource), { contentType: "application/merge-patch+json", value: patch }, { fieldManager: FIELD_MANAGER });
  }

  /**
   * Server-side apply as the field manager `sluice-operator` with force: the operator owns every
   * field it sends, and fields it stops sending are removed from the object.
   */
  apply<T extends KubeObject = KubeObject, O extends KubeObject = KubeObject>(resource: ResourceType, object: O): Promise<T> {
    return this.request<T>(
      "PATCH",
      objectPath(resource, object.metadata.namespace, object.metadata.name),
      { contentType: "application/apply-patch+yaml", value: object },
      { fieldManager: FIELD_MANAGER, force: "true" },
    );
  }

  /** Deletes the object; true when it was there. Background propagation: owned objects go by garbage collection. */
  async delete(resource: ResourceType, namespace: string | undefined, name: string, preconditionUid?: string): Promise<boolean> {
    const body = {
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: "Background",
      ...(preconditionUid === undefined ? {} : { preconditions: { uid: preconditionUid } }),
    };
    try {
      await this.request("DELETE", objectPath(resource, namespace, name), { contentType: "application/json", value: body });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  }

  /** The resources served for a group/version, or undefined when the apiserver does not serve it. */
  async discover(groupVersion: string): Promise<ApiResourceList | undefined> {
    const path = groupVersion.includes("/") ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
    try {
      return await this.request<ApiResourceList>("GET", path);
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 404 || error.status === 503)) return undefined;
      throw error;
    }
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** One keep-alive agent with the kubeconfig's TLS material (CA, client certificate). */
  private agentFor(options: RequestOptions): HttpAgent {
    if (this.agent === undefined) {
      this.agent =
        this.server.protocol === "https:"
          ? new HttpsAgent({
              keepAlive: true,
              maxSockets: KUBE_SOCKETS_MAX,
              ca: options.ca,
              cert: options.cert,
              key: options.key,
              ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
            })
          : new HttpAgent({ keepAlive: true, maxSockets: KUBE_SOCKETS_MAX });
    }
    return this.agent;
  }
}
