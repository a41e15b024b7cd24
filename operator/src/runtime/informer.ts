/**
 * An informer: @kubernetes/client-node's ListWatch (list, then watch from that resourceVersion,
 * relist on 410 Gone) over one resource in one namespace (or all), with two things it lacks:
 *   - it restarts itself after a failed list or a broken watch (backoff from
 *     INFORMER_RESTART_BASE_MS, doubling to INFORMER_RESTART_MAX_MS), where ListWatch just stops;
 *   - `synced` resolves once the first list has filled the cache, so reconcilers never act on an
 *     empty cache at start.
 * Lists go through KubeClient (raw JSON, no typed models); watch events are raw JSON too, so the
 * cache holds objects exactly as the apiserver sent them.
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import type { KubeClient } from "../kube/kube-client.js";
import type { KubeObject } from "../kube/objects.js";
import { collectionPath, type ResourceType } from "../kube/resources.js";
import { INFORMER_RESTART_BASE_MS, INFORMER_RESTART_MAX_MS } from "../limits.js";

export type InformerEvent = "add" | "update" | "delete";

export interface InformerOptions<T extends KubeObject> {
  readonly kubeConfig: KubeConfig;
  readonly client: KubeClient;
  readonly resource: ResourceType;
  /** undefined: every namespace. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly logger: Logger;
  readonly onEvent: (event: InformerEvent, object: T) => void;
}

export class ResourceInformer<T extends KubeObject> {
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private readonly logger: Logger;
  private stopped = false;
  private listedOnce = false;
  private restartDelayMs = INFORMER_RESTART_BASE_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private resolveSynced: () => void = () => undefined;
  /** Resolves once the cache holds a complete first list. */
  readonly synced: Promise<void>;

  constructor(private readonly options: InformerOptions<T>) {
    this.logger = options.logger.child({ informer: options.resource.plural, namespace: options.namespace ?? "*" });
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    const path = collectionPath(options.resource, options.namespace);
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await options.client.list<T>(options.resource, options.namespace, options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector });
      this.listedOnce = true;
      return result as unknown as KubernetesListObject<KubernetesObject>;
    };
    this.informer = makeInformer<KubernetesObject>(options.kubeConfig, path, list, options.labelSelector);
    this.informer.on("add", (o) => options.onEvent("add", o as unknown as T));
    this.informer.on("update", (o) => options.onEvent("update", o as unknown as T));
    this.informer.on("delete", (o) => options.onEvent("delete", o as unknown as T));
    this.informer.on("connect", () => {
      if (this.listedOnce) this.restartDelayMs = INFORMER_RESTART_BASE_MS;
    });
    this.informer.on("error", (error: unknown) => this.scheduleRestart(error));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.startOnce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace) as unknown as readonly T[];
  }

  get(namespace: string, name: string): T | undefined {
    return this.informer.get(name, namespace) as unknown as T | undefined;
  }

  private async startOnce(): Promise<void> {
    await this.informer.start();
    if (this.listedOnce) this.resolveSynced();
  }

  private scheduleRestart(error: unknown): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(INFORMER_RESTART_MAX_MS, this.restartDelayMs * 2);
    this.logger.warn({ err: describeError(error), retryInMs: delayMs }, "list/watch failed; restarting");
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.startOnce().catch((e: unknown) => this.scheduleRestart(e));
    }, delayMs);
  }
}
