// Proves the test control plane is a real Kubernetes: the built apiserver serves its version, stores
// and returns objects behind TLS client-certificate auth and RBAC, its controller-manager turns a StatefulSet into
// Pods that the scheduler binds to kwok Nodes which report them Running, it serves and validates a
// CRD applied from YAML, and its garbage collector deletes an owned object when the owner goes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  VersionApi,
  type V1ConfigMap,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pollUntil, ZONE_LABEL } from "./control-plane.js";
import { applyManifestDirectory, ManifestApplyError } from "./manifests.js";
import { sharedControlPlane } from "./shared-control-plane.js";

/** Controllers here react within seconds; the bound only keeps a broken setup from hanging CI. */
const CONVERGE_TIMEOUT_MS = 60_000;

const { kubeConfig } = sharedControlPlane();
const logDir = inject("k8sLogDir");
const core = kubeConfig.makeApiClient(CoreV1Api);
const apps = kubeConfig.makeApiClient(AppsV1Api);
const custom = kubeConfig.makeApiClient(CustomObjectsApi);

// One namespace per run of this file: names never collide with other files or earlier runs.
const namespace = `harness-${Date.now().toString(36)}`;

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Polls until `check` returns a value; on timeout fails with the control plane's logs. */
function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  return pollUntil(what, check, CONVERGE_TIMEOUT_MS, logDir);
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  // The namespace controller (controller-manager) deletes everything inside.
  await core.deleteNamespace({ name: namespace });
});

describe("the test control plane", () => {
  it("answers /version with the Kubernetes version that was built", async () => {
    const version = await kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(inject("k8sExpectedVersion"));
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(version.major).toBe("1");
    expect(version.minor).toBe(/^v1\.(\d+)\./.exec(version.gitVersion)?.[1]);
  });

  it("round-trips a ConfigMap through etcd and enforces optimistic concurrency", async () => {
    const body: V1ConfigMap = {
      metadata: { name: "round-trip", labels: { app: "harness" } },
      data: { "broker.properties": "num.partitions=3\nlog.retention.ms=-1\n", "unicode": "ünïcødé ✓" },
      binaryData: { blob: Buffer.from([0, 1, 2, 254, 255]).toString("base64") },
    };
    const created = await core.createNamespacedConfigMap({ namespace, body });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);

    const read = await core.readNamespacedConfigMap({ name: "round-trip", namespace });
    expect(read.data).toEqual(body.data);
    expect(Buffer.from(read.binaryData?.["blob"] ?? "", "base64")).toEqual(Buffer.from([0, 1, 2, 254, 255]));
    expect(read.metadata?.uid).toBe(created.metadata?.uid);

    const updated = await core.replaceNamespacedConfigMap({
      name: "round-trip",
      namespace,
      body: { ...read, data: { ...read.data, extra: "1" } },
    });
    expect(updated.metadata?.resourceVersion).not.toBe(read.metadata?.resourceVersion);

    // Writing with the stale resourceVersion is a real conflict (409), not a silent overwrite.
    const stale = core.replaceNamespacedConfigMap({ name: "round-trip", namespace, body: read });
    await expect(stale.catch(statusOf)).resolves.toBe(409);

    const listed = await core.listNamespacedConfigMap({ namespace, labelSelector: "app=harness" });
    expect(listed.items.map((c) => c.metadata?.name)).toEqual(["round-trip"]);
  });

  it("authorizes by client certificate: without one, RBAC refuses the anonymous user", async () => {
    const cluster = kubeConfig.getCurrentCluster();
    const anonymous = new KubeConfig();
    anonymous.loadFromOptions({
      clusters: [{ name: "c", server: cluster?.server, caData: cluster?.caData, skipTLSVerify: false }],
      users: [{ name: "nobody" }],
      contexts: [{ name: "c", cluster: "c", user: "nobody" }],
      currentContext: "c",
    });
    const refused = anonymous.makeApiClient(CoreV1Api).listNamespace();
    await expect(refused.catch(statusOf)).resolves.toBe(403);
    const allowed = await core.listNamespace();
    expect(allowed.items.map((n) => n.metadata?.name)).toContain(namespace);
  });

  it("runs a StatefulSet: 2 Pods created, bound to kwok Nodes and reported Running", async () => {
    const labels = { app: "harness-sts" };
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: "harness-sts" }, spec: { clusterIP: "None", selector: labels, ports: [{ port: 9092 }] } },
    });
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: "harness-sts" },
        spec: {
          serviceName: "harness-sts",
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              // kwok never pulls images; the name only has to be valid.
              containers: [{ name: "broker", image: "registry.invalid/sluice-broker:test", ports: [{ containerPort: 9092 }] }],
            },
          },
        },
      },
    });

    const nodeNames = inject("k8sNodeNames");
    const pods = await eventually("2 StatefulSet Pods Running and Ready on kwok Nodes", async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: "app=harness-sts" });
      const running = list.items.filter(
        (p: V1Pod) =>
          p.status?.phase === "Running" &&
          (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
      );
      return running.length === 2 ? running : undefined;
    });

    // Default OrderedReady: harness-sts-1 exists only because harness-sts-0 was reported Ready.
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(["harness-sts-0", "harness-sts-1"]);
    for (const pod of pods) {
      expect(nodeNames).toContain(pod.spec?.nodeName);
      expect(pod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe("StatefulSet");
    }
    const node = await core.readNode({ name: pods[0]?.spec?.nodeName ?? "" });
    expect(node.metadata?.labels?.[ZONE_LABEL]).toMatch(/^zone-\d+$/);

    const sts = await eventually("StatefulSet status readyReplicas=2", async () => {
      const s = await apps.readNamespacedStatefulSet({ name: "harness-sts", namespace });
      return s.status?.readyReplicas === 2 ? s : undefined;
    });
    expect(sts.status?.replicas).toBe(2);
  });

  it("applies a CRD from a YAML folder, serves its custom resources and validates them by schema", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-k8s-crds-"));
    try {
      expect(await applyManifestDirectory(kubeConfig, join(dir, "does-not-exist"))).toEqual([]);
      expect(await applyManifestDirectory(kubeConfig, dir)).toEqual([]);

      await writeFile(
        join(dir, "widgets.yaml"),
        `# test-only CRD
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.harness.sluice.io
spec:
  group: harness.sluice.io
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, shortNames: [wd] }
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size:
                  type: integer
                  minimum: 1
                  x-kubernetes-validations:
                    - rule: "self >= oldSelf"
                      message: size may only grow
---
`,
      );
      expect(await applyManifestDirectory(kubeConfig, dir)).toEqual(["CustomResourceDefinition/widgets.harness.sluice.io"]);
      // Applying again is idempotent (server-side apply).
      expect(await applyManifestDirectory(kubeConfig, dir)).toEqual(["CustomResourceDefinition/widgets.harness.sluice.io"]);

      const resource = { group: "harness.sluice.io", version: "v1alpha1", namespace, plural: "widgets" };
      await custom.createNamespacedCustomObject({
        ...resource,
        body: { apiVersion: "harness.sluice.io/v1alpha1", kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } },
      });
      const read = (await custom.getNamespacedCustomObject({ ...resource, name: "w1" })) as {
        spec: { size: number };
        metadata: { uid: string };
      };
      expect(read.spec).toEqual({ size: 3 });
      expect(read.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);

      // The schema is enforced by the apiserver: size 0 is refused with 422 Invalid.
      const invalid = custom.createNamespacedCustomObject({
        ...resource,
        body: { apiVersion: "harness.sluice.io/v1alpha1", kind: "Widget", metadata: { name: "w0" }, spec: { size: 0 } },
      });
      await expect(invalid.catch(statusOf)).resolves.toBe(422);

      // The CEL transition rule arrived intact (the YAML was applied losslessly): shrinking is
      // refused, growing is accepted.
      const patch = (size: number): Promise<unknown> =>
        custom.patchNamespacedCustomObject(
          { ...resource, name: "w1", body: [{ op: "replace", path: "/spec/size", value: size }] },
        );
      const shrink = await patch(2).then(
        () => "accepted",
        (error: unknown) => `${String(statusOf(error))} ${error instanceof ApiException ? JSON.stringify(error.body) : ""}`,
      );
      expect(shrink).toMatch(/^422 .*size may only grow/);
      await patch(5);
      const grown = (await custom.getNamespacedCustomObject({ ...resource, name: "w1" })) as { spec: { size: number } };
      expect(grown.spec.size).toBe(5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses bad manifests with a ManifestApplyError naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-k8s-bad-"));
    try {
      await writeFile(join(dir, "a.yaml"), "apiVersion: v1\nmetadata: { name: no-kind }\n");
      await expect(applyManifestDirectory(kubeConfig, dir)).rejects.toThrow(ManifestApplyError);
      await expect(applyManifestDirectory(kubeConfig, dir)).rejects.toThrow(/a\.yaml.*not a Kubernetes object/);

      await writeFile(join(dir, "a.yaml"), "key: [unclosed\n");
      await expect(applyManifestDirectory(kubeConfig, dir)).rejects.toThrow(/a\.yaml: not valid YAML/);

      await writeFile(join(dir, "a.yaml"), "apiVersion: nothing.sluice.io/v1\nkind: Ghost\nmetadata: { name: g }\n");
      await expect(applyManifestDirectory(kubeConfig, dir)).rejects.toThrow(/serves no kind Ghost/);

      // Refused by the apiserver itself (invalid name): the reason is passed on.
      await writeFile(
        join(dir, "a.yaml"),
        `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: Not_Valid, namespace: ${namespace} }\n`,
      );
      await expect(applyManifestDirectory(kubeConfig, dir)).rejects.toThrow(/ConfigMap\/Not_Valid: refused: 422/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("garbage-collects an owned ConfigMap when its owner is deleted, and only that one", async () => {
    const create = async (name: string, owner?: V1ConfigMap): Promise<V1ConfigMap> => {
      const ownerReferences =
        owner === undefined
          ? undefined
          : [{ apiVersion: "v1", kind: "ConfigMap", name: owner.metadata?.name ?? "", uid: owner.metadata?.uid ?? "" }];
      return core.createNamespacedConfigMap({ namespace, body: { metadata: { name, ownerReferences } } });
    };
    const owner = await create("gc-owner");
    const keptOwner = await create("gc-kept-owner");
    expect(owner.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    await create("gc-child", owner);
    await create("gc-kept-child", keptOwner);
    await create("gc-bystander");
    // The child is there while its owner lives.
    expect((await core.readNamespacedConfigMap({ name: "gc-child", namespace })).metadata?.name).toBe("gc-child");

    await core.deleteNamespacedConfigMap({ name: "gc-owner", namespace, propagationPolicy: "Background" });
    await eventually("gc-child deleted by the garbage collector", async () => {
      try {
        await core.readNamespacedConfigMap({ name: "gc-child", namespace });
        return undefined;
      } catch (error) {
        if (statusOf(error) === 404) return true;
        throw error;
      }
    });
    // Children of a live owner, and objects without owners, are left alone.
    const remaining = await core.listNamespacedConfigMap({ namespace });
    const names = remaining.items.map((c) => c.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(["gc-kept-owner", "gc-kept-child", "gc-bystander"]));
    expect(names).not.toContain("gc-child");
  });
});
