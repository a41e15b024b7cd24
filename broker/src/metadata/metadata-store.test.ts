// Proves the file metadata store survives reopening with every acknowledged change, refuses a
// damaged file instead of losing topics, ignores a torn temp file, and leaves state untouched
// when a write fails.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageError } from "@sluice/protocol";
import { FileMetadataStore, type TopicRecord } from "./metadata-store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sluice-meta-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function topic(name: string, partitions = 3): TopicRecord {
  return {
    name,
    topicId: `id-${name}`,
    partitionCount: partitions,
    replicationFactor: 1,
    configs: { "retention.ms": "1000" },
    leaderEpochs: new Array<number>(partitions).fill(0),
    createdAtMs: 1_700_000_000_000,
  };
}

describe("FileMetadataStore", () => {
  it("creates a cluster id once and keeps it", async () => {
    const first = await FileMetadataStore.open(dir, () => "cluster-a");
    expect(first.clusterId).toBe("cluster-a");
    await first.close();
    const second = await FileMetadataStore.open(dir, () => "cluster-b");
    expect(second.clusterId).toBe("cluster-a");
    await second.close();
  });

  it("persists put, replace and delete across reopen", async () => {
    const store = await FileMetadataStore.open(dir);
    await store.putTopic(topic("a"));
    await store.putTopic(topic("b"));
    await store.replaceTopic({ ...topic("a", 5), configs: { "cleanup.policy": "compact" } });
    await store.deleteTopic("b");
    await store.close();

    const reopened = await FileMetadataStore.open(dir);
    expect(reopened.topics().map((t) => t.name)).toEqual(["a"]);
    expect(reopened.topic("a")).toMatchObject({ partitionCount: 5, configs: { "cleanup.policy": "compact" } });
    await reopened.close();
  });

  it("serializes concurrent changes without losing any", async () => {
    const store = await FileMetadataStore.open(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.putTopic(topic(`t${i}`))));
    await store.close();
    const reopened = await FileMetadataStore.open(dir);
    expect(reopened.topics()).toHaveLength(20);
    await reopened.close();
  });

  it("refuses a file whose bytes changed (checksum) rather than starting without topics", async () => {
    const store = await FileMetadataStore.open(dir);
    await store.putTopic(topic("orders"));
    await store.close();
    const path = join(dir, "topics.json");
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace('"partitionCount": 3', '"partitionCount": 4'));
    await expect(FileMetadataStore.open(dir)).rejects.toThrow(/CRC-32/);
    await writeFile(path, text.slice(0, text.length / 2));
    await expect(FileMetadataStore.open(dir)).rejects.toBeInstanceOf(StorageError);
  });

  it("ignores a temp file left by a write that crashed before its rename", async () => {
    const store = await FileMetadataStore.open(dir);
    await store.putTopic(topic("kept"));
    await store.close();
    await writeFile(join(dir, "topics.json.tmp"), '{"format":1, "torn');
    const reopened = await FileMetadataStore.open(dir);
    expect(reopened.topics().map((t) => t.name)).toEqual(["kept"]);
    await reopened.close();
  });

  it("keeps the old state in memory when a write fails, and reports StorageError", async () => {
    const store = await FileMetadataStore.open(dir);
    await store.putTopic(topic("before"));
    await rm(dir, { recursive: true, force: true }); // the next write cannot create its temp file
    await expect(store.putTopic(topic("after"))).rejects.toBeInstanceOf(StorageError);
    expect(store.topics().map((t) => t.name)).toEqual(["before"]);
    // The queue is not poisoned: later changes are attempted (and fail the same way).
    await expect(store.deleteTopic("before")).rejects.toBeInstanceOf(StorageError);
    expect(store.topics().map((t) => t.name)).toEqual(["before"]);
  });
});
