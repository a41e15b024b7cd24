// Proves where Topics reach their Cluster's brokers: the annotation wins over the flag, a
// namespaced flag over a bare one, the client Service's DNS name is the default, and a malformed
// annotation is a BootstrapOverrideError (reported in status, not a crash).
import { describe, expect, it } from "vitest";
import type { Cluster } from "../cluster/index.js";
import { BootstrapOverrideError, resolveBootstrap } from "./bootstrap.js";

function cluster(annotations?: Record<string, string>, port?: number): Cluster {
  return {
    apiVersion: "sluice.io/v1alpha1",
    kind: "Cluster",
    metadata: { name: "events", namespace: "shop", ...(annotations === undefined ? {} : { annotations }) },
    spec: { replicas: 1, ...(port === undefined ? {} : { listeners: { internal: { port } } }) },
  };
}

describe("resolveBootstrap", () => {
  it("defaults to the client Service's DNS name and the internal listener port", () => {
    expect(resolveBootstrap(cluster(), [])).toBe("events.shop.svc:9092");
    expect(resolveBootstrap(cluster(undefined, 19092), [])).toBe("events.shop.svc:19092");
  });

  it("prefers the annotation, then a namespaced flag, then a bare one", () => {
    const flags = [
      { namespace: undefined, cluster: "events", address: "10.0.0.1:1" },
      { namespace: "shop", cluster: "events", address: "10.0.0.2:2" },
    ];
    expect(resolveBootstrap(cluster({ "sluice.io/bootstrap-override": "127.0.0.1:9092" }), flags)).toBe("127.0.0.1:9092");
    expect(resolveBootstrap(cluster(), flags)).toBe("10.0.0.2:2");
    expect(resolveBootstrap(cluster(), [flags[0] ?? { namespace: undefined, cluster: "", address: "" }])).toBe("10.0.0.1:1");
    expect(resolveBootstrap(cluster(), [{ namespace: "other", cluster: "events", address: "10.0.0.3:3" }])).toBe("events.shop.svc:9092");
  });

  it("refuses a malformed annotation with a message saying the expected form", () => {
    expect(() => resolveBootstrap(cluster({ "sluice.io/bootstrap-override": "localhost" }), [])).toThrow(BootstrapOverrideError);
    expect(() => resolveBootstrap(cluster({ "sluice.io/bootstrap-override": "h:99999" }), [])).toThrow(/host:port/);
  });
});
