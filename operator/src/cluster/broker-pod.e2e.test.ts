// Proves a broker Pod of the built StatefulSet would start as intended: a real broker process
// given the ConfigMap's config file and the container's environment (as the kubelet resolves it
// for Pod <cluster>-2) runs as broker 2, advertises its headless-Service DNS name, applies the
// Cluster's spec.config, and stops cleanly on SIGTERM (what the preStop hook leads to).
// Only the bind address, ports and data folder are overridden (loopback and temp dirs here).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBrokerProcess, type BrokerProcess } from "../../../test/e2e/broker-process.js";
import { BROKER_CONFIG_FILE, BROKER_CONFIG_PATH } from "./broker-config.js";
import { buildClusterObjects } from "./objects.js";
import { POD_INDEX_LABEL } from "./statefulset.js";
import { makeCluster } from "./testing/clusters.js";
import { containerEnvironment } from "./testing/pod-env.js";

const cluster = makeCluster({ replicas: 3, config: { "log-level": "debug", fsync: "interval:5", "log.retention.ms": "3600000" } });
const objects = buildClusterObjects(cluster, { defaultBrokerImage: "sluice:test", serviceMonitorAvailable: false });
const brokerContainer = objects.statefulSet.spec?.template.spec?.containers[0];

let dir: string;
let broker: BrokerProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-broker-pod-"));
});

afterAll(async () => {
  if (broker !== undefined) await broker.kill9();
  await rm(dir, { recursive: true, force: true });
});

describe("a broker started the way the StatefulSet's Pod starts it", () => {
  it("is broker 2 at events-2.events-brokers.streaming.svc with the Cluster's config, and stops cleanly on SIGTERM", async () => {
    if (brokerContainer === undefined) throw new Error("no broker container");
    const configFile = join(dir, BROKER_CONFIG_FILE);
    await writeFile(configFile, objects.configMap.data?.[BROKER_CONFIG_FILE] ?? "");
    const env = containerEnvironment(brokerContainer, { name: "events-2", namespace: "streaming", labels: { [POD_INDEX_LABEL]: "2" } });
    const args = (brokerContainer.args ?? []).map((a) => (a === BROKER_CONFIG_PATH ? configFile : a));
    expect(args).toEqual(["--config", configFile]);

    broker = await startBrokerProcess({ args, env });
    // brokerId from the Pod's ordinal label; fsync from spec.config via the config file.
    expect(broker.ready).toMatchObject({ brokerId: 2, fsync: "interval:5" });
    expect(broker.ready["advertised"]).toBe(`events-2.events-brokers.streaming.svc:${broker.port}`);

    const exit = await broker.stop();
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
