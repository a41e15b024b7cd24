/**
 * Kubernetes Events (events.k8s.io/v1) for notable actions: a topic created, partitions added,
 * config changed, a topic deleted, an error the user should see in `kubectl describe`.
 *
 * Recording is best effort: a failed Event write is logged and never fails a reconcile.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import type { KubeClient } from "../kube/kube-client.js";
import type { KubeObject } from "../kube/objects.js";
import { resources } from "../kube/resources.js";
import { EVENT_NOTE_CHARS_MAX } from "../limits.js";

export type EventType = "Normal" | "Warning";

/** What `reportingController` says: the operator, as Events from kubelet say "kubelet". */
export const REPORTING_CONTROLLER = "sluice.io/operator";

export interface EventRecorder {
  record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void;
}

export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly client: KubeClient,
    /** The operator replica (Pod name): `reportingInstance`. */
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    const namespace = regarding.metadata.namespace ?? "default";
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
    const event = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `${regarding.metadata.name}.${randomBytes(8).toString("hex")}`, namespace },
      eventTime: now,
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.instance.slice(0, 128),
      action,
      reason,
      type,
      note: note.length <= EVENT_NOTE_CHARS_MAX ? note : `${note.slice(0, EVENT_NOTE_CHARS_MAX - 1)}…`,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: regarding.metadata.name,
        namespace,
        uid: regarding.metadata.uid,
        resourceVersion: regarding.metadata.resourceVersion,
      },
    };
    this.client.create(resources.event, namespace, event).catch((error: unknown) => {
      this.logger.warn({ err: describeError(error), reason, namespace, name: regarding.metadata.name }, "could not record an Event");
    });
  }
}
