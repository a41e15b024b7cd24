/**
 * Durable topic metadata for a single broker: the cluster id and, per topic, its id, partition
 * count, replication factor, config overrides and per-partition leader epochs.
 *
 * `MetadataStore` is the seam the Raft metadata controller will replace: callers (the topic
 * controller) never see files. `FileMetadataStore` keeps the whole state in one small JSON file,
 * `<dir>/topics.json`, rewritten atomically on every change:
 *
 *   write `topics.json.tmp` → fdatasync → rename over `topics.json` → fsync the directory
 *
 * so a crash leaves either the old or the new file, never a mix. The file carries a CRC-32 of
 * its state so a damaged file is refused at start (StorageError) instead of silently losing
 * topics.
 *
 * Invariants: the in-memory state changes only after the new file is durable; a failed write
 * (ENOSPC, EIO) leaves memory and disk as they were and surfaces as StorageError. Writes are
 * serialized (one in flight at a time).
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { assert, StorageError } from "@sluice/protocol";

export interface TopicRecord {
  readonly name: string;
  /** A UUID, new for every creation: a deleted and re-created topic is a different topic. */
  readonly topicId: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Canonical topic config overrides (validated before they get here). */
  readonly configs: Readonly<Record<string, string>>;
  /** Leader epoch per partition (index = partition). Fixed on one broker; Raft will bump it. */
  readonly leaderEpochs: readonly number[];
  readonly createdAtMs: number;
}

export interface MetadataState {
  readonly clusterId: string;
  readonly topics: readonly TopicRecord[];
}

export interface MetadataStore {
  readonly clusterId: string;
  topics(): readonly TopicRecord[];
  topic(name: string): TopicRecord | undefined;
  /** Adds a topic; the caller has checked that the name is free. */
  putTopic(record: TopicRecord): Promise<void>;
  /** Replaces an existing topic's record (partitions added, configs altered). */
  replaceTopic(record: TopicRecord): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  close(): Promise<void>;
}

const FILE_NAME = "topics.json";
const TEMP_SUFFIX = ".tmp";
const FORMAT_VERSION = 1;

interface FileShape {
  readonly format: number;
  readonly crc32: number;
  readonly state: MetadataState;
}

function checksum(state: MetadataState): number {
  return crc32(Buffer.from(JSON.stringify(state), "utf8")) >>> 0;
}

export class FileMetadataStore implements MetadataStore {
  private state: MetadataState;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly dir: string, state: MetadataState) {
    this.state = state;
  }

  /** Opens (or creates, with a fresh cluster id) the store in `dir`. */
  static async open(dir: string, newClusterId: () => string = randomUUID): Promise<FileMetadataStore> {
    try {
      await mkdir(dir, { recursive: true });
      // A leftover temp file is a write that never got renamed: the old file is the truth.
      await rm(join(dir, FILE_NAME + TEMP_SUFFIX), { force: true });
    } catch (error) {
      throw new StorageError(`cannot prepare metadata directory ${dir}`, { cause: error });
    }
    let text: string | undefined;
    try {
      text = await readFile(join(dir, FILE_NAME), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new StorageError(`cannot read ${join(dir, FILE_NAME)}`, { cause: error });
      }
    }
    if (text === undefined) {
      const store = new FileMetadataStore(dir, { clusterId: newClusterId(), topics: [] });
      await store.persist(store.state);
      return store;
    }
    return new FileMetadataStore(dir, parseFile(text, join(dir, FILE_NAME)));
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  topics(): readonly TopicRecord[] {
    return this.state.topics;
  }

  topic(name: string): TopicRecord | undefined {
    return this.state.topics.find((t) => t.name === name);
  }

  putTopic(record: TopicRecord): Promise<void> {
    return this.change((state) => {
      assert(!state.topics.some((t) => t.name === record.name), `topic ${record.name} already in the store`);
      return { ...state, topics: [...state.topics, record] };
    });
  }

  replaceTopic(record: TopicRecord): Promise<void> {
    return this.change((state) => {
      assert(state.topics.some((t) => t.name === record.name), `topic ${record.name} not in the store`);
      return { ...state, topics: state.topics.map((t) => (t.name === record.name ? record : t)) };
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.change((state) => ({ ...state, topics: state.topics.filter((t) => t.name !== name) }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
  }

  private change(update: (state: MetadataState) => MetadataState): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) throw new StorageError("metadata store is closed");
      const next = update(this.state);
      await this.persist(next);
      this.state = next;
    };
    const result = this.writing.then(run, run);
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async persist(state: MetadataState): Promise<void> {
    const body: FileShape = { format: FORMAT_VERSION, crc32: checksum(state), state };
    const path = join(this.dir, FILE_NAME);
    const temp = path + TEMP_SUFFIX;
    try {
      const file = await open(temp, "w", 0o644);
      try {
        await file.writeFile(JSON.stringify(body, null, 1) + "\n", "utf8");
        await file.datasync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
      const dir = await open(this.dir, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new StorageError(`cannot write ${path}`, { cause: error });
    }
  }
}

/** Parses and checks the file; anything unexpected is a StorageError naming the file. */
export function parseFile(text: string, path: string): MetadataState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StorageError(`${path} is not valid JSON`, { cause: error });
  }
  const file = parsed as Partial<FileShape> | null;
  if (file === null || typeof file !== "object" || file.format !== FORMAT_VERSION || typeof file.crc32 !== "number" || file.state === undefined) {
    throw new StorageError(`${path} is not a format-${FORMAT_VERSION} metadata file`);
  }
  const state = file.state;
  if (checksum(state) !== file.crc32) throw new StorageError(`${path} failed its CRC-32 check`);
  if (typeof state.clusterId !== "string" || !Array.isArray(state.topics)) {
    throw new StorageError(`${path} has no cluster id or topic list`);
  }
  for (const t of state.topics) {
    const ok = typeof t.name === "string" && typeof t.topicId === "string" && Number.isInteger(t.partitionCount)
      && Number.isInteger(t.replicationFactor) && typeof t.configs === "object" && Array.isArray(t.leaderEpochs)
      && t.leaderEpochs.length === t.partitionCount;
    if (!ok) throw new StorageError(`${path} has a malformed topic entry ${JSON.stringify(t).slice(0, 200)}`);
  }
  return state;
}
