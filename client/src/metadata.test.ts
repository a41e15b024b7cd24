// Proves the pure parts of the connection layer: bootstrap parsing (with IPv6 and clear errors)
// and the metadata cache's routing (leaders, leaderless partitions, wildcard advertised hosts,
// data-listener ports, topic errors, partial updates).
import { describe, expect, it } from "vitest";
import { toErrorInfo, SluiceError, type api } from "@sluice/protocol";
import { parseBootstrap, parseHostPort } from "./cluster.js";
import { ConfigError } from "./errors.js";
import { formatAddress, MetadataCache } from "./metadata.js";

const noError = null;

function response(topics: api.MetadataResponse["topics"], brokers: api.MetadataResponse["brokers"] = [{ brokerId: 1, host: "10.0.0.1", port: 9092, rack: "a", dataPort: 0 }]): api.MetadataResponse {
  return { clusterId: "c", controllerId: 1, brokers, topics };
}

function topic(name: string, leaders: number[]): api.MetadataResponse["topics"][number] {
  return {
    name,
    topicId: `${name}-id`,
    error: noError,
    internal: false,
    partitions: leaders.map((leaderId, partition) => ({ partition, error: noError, leaderId, leaderEpoch: 3, replicas: [leaderId], inSyncReplicas: [leaderId] })),
  };
}

describe("bootstrap parsing", () => {
  it("accepts host:port lists, IPv6 in brackets, and arrays", () => {
    expect(parseBootstrap("a:1, b:2")).toEqual([
      { host: "a", port: 1 },
      { host: "b", port: 2 },
    ]);
    expect(parseHostPort("[::1]:9092")).toEqual({ host: "::1", port: 9092 });
    expect(parseBootstrap(["127.0.0.1:9092"])).toEqual([{ host: "127.0.0.1", port: 9092 }]);
    expect(formatAddress("::1", 9092)).toBe("[::1]:9092");
  });

  it("rejects missing ports, bad ports and empty lists with ConfigError", () => {
    for (const bad of ["localhost", "host:0", "host:70000", "host:x", ":9092", ""]) {
      expect(() => parseBootstrap(bad), bad).toThrow(ConfigError);
    }
  });
});

describe("MetadataCache", () => {
  it("routes partitions to their leaders and lists the ones that have one", () => {
    const cache = new MetadataCache();
    cache.update(response([topic("t", [1, -1, 1])]), 1000, "seed");
    expect(cache.leaderOf("t", 0)?.address).toBe("10.0.0.1:9092");
    expect(cache.leaderOf("t", 1)).toBeUndefined();
    expect(cache.leaderOf("t", 7)).toBeUndefined();
    expect(cache.topic("t")?.available).toEqual([0, 2]);
    expect(cache.updatedMs).toBe(1000);
  });

  it("reaches brokers that advertise a wildcard host through the host that answered", () => {
    const cache = new MetadataCache();
    cache.update(response([topic("t", [0])], [{ brokerId: 0, host: "0.0.0.0", port: 9000, rack: "", dataPort: 9001 }]), 0, "192.168.1.5");
    expect(cache.leaderOf("t", 0)?.address).toBe("192.168.1.5:9000");
    expect(cache.leaderOf("t", 0)?.dataPort).toBe(9001);
  });

  it("keeps each broker's data port, found by its gRPC address, and forgets brokers an update drops", () => {
    const cache = new MetadataCache();
    const brokers = [
      { brokerId: 1, host: "10.0.0.1", port: 9092, rack: "", dataPort: 9093 },
      { brokerId: 2, host: "10.0.0.2", port: 9092, rack: "", dataPort: 0 },
    ];
    cache.update(response([], brokers), 0, "seed");
    expect(cache.brokerAt("10.0.0.1:9092")).toMatchObject({ id: 1, dataPort: 9093 });
    expect(cache.brokerAt("10.0.0.2:9092")).toMatchObject({ id: 2, dataPort: 0 });
    expect(cache.brokerAt("10.0.0.3:9092")).toBeUndefined();
    cache.update(response([], [brokers[1]!]), 1, "seed");
    expect(cache.brokerAt("10.0.0.1:9092")).toBeUndefined();
  });

  it("keeps topics an update does not mention, and records topic errors", () => {
    const cache = new MetadataCache();
    cache.update(response([topic("a", [1])]), 0, "seed");
    cache.update(response([{ name: "b", topicId: "", error: toErrorInfo(new SluiceError("UNKNOWN_TOPIC_OR_PARTITION")), internal: false, partitions: [] }]), 1, "seed");
    expect(cache.topic("a")?.partitions).toHaveLength(1);
    const b = cache.topicState("b");
    expect(b?.kind === "error" && b.error.errorName).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    cache.forget("a");
    expect(cache.topic("a")).toBeUndefined();
  });

  it("treats a partition missing from the list as leaderless instead of shifting the others", () => {
    const cache = new MetadataCache();
    const t = topic("t", [1, 1, 1]);
    cache.update(response([{ ...t, partitions: [t.partitions[0]!, t.partitions[2]!] }]), 0, "seed");
    const info = cache.topic("t")!;
    expect(info.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(info.partitions[1]?.leaderId).toBe(-1);
    expect(info.available).toEqual([0, 2]);
  });
});
