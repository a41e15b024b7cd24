/**
 * The driver of one `__consumer_offsets` partition's GroupCoordinator (the pure core in
 * `../group/`): it replays the partition into the core, runs operations one at a time, writes
 * each operation's records durably before answering, and rebuilds the core from the log when a
 * write fails.
 *
 * Lifecycle: `becomeLeader()` (state `loading`, then `active`) and `resign()` (state
 * `not-leader`); `close()` at shutdown. On one broker every partition is led from start; the same
 * two calls are what replication will use when leadership moves.
 *
 * Invariants:
 * - Operations run strictly one after another (a promise queue); an operation's records are
 *   appended (acks=all semantics: `Partition.append` resolves once the fsync policy made them
 *   durable) before its caller gets the answer, and before the next operation starts. So an
 *   answer never reports state a crash could lose, and records reach the log in the order the
 *   core produced them.
 * - Records are appended whether the operation returned or threw (the core may expire a dead
 *   member and then refuse the request).
 * - If an append fails, the in-memory core may be ahead of the log: it is discarded and
 *   rebuilt from what the partition really holds, and the caller gets COORDINATOR_NOT_AVAILABLE
 *   (retriable). If the operation itself failed with something other than a typed SluiceError
 *   (our bug), nothing is appended and the core is rebuilt too.
 * - While loading, calls answer COORDINATOR_LOAD_IN_PROGRESS; when not the leader (or closed),
 *   NOT_COORDINATOR. Both are retriable.
 */
import { SluiceError } from "@sluice/protocol";
import { GroupCoordinator, type CoordinatorConfig, type TopicImage } from "../group/index.js";
import type { Logger } from "../logger.js";
import type { Partition } from "../partition/partition.js";
import { REPLAY_ATTEMPTS_MAX, REPLAY_RETRY_BACKOFF_MS } from "./limits.js";
import { encodeGroupRecords, replayPartition } from "./offsets-log.js";

export type ShardState = "not-leader" | "loading" | "active" | "closed";

export interface ShardDeps {
  /** The `__consumer_offsets` partition index. */
  readonly partitionIndex: number;
  /** The partition log (this broker leads it while the shard is active). */
  readonly log: () => Partition | SluiceError;
  readonly config: CoordinatorConfig;
  readonly topicImage: () => TopicImage;
  readonly nowMs: () => number;
  readonly logger: Logger;
  /** Called with the number of records of each durable write (metrics). */
  readonly onWrite?: (records: number, bytes: number) => void;
}

export class CoordinatorShard {
  private coordinator: GroupCoordinator | undefined;
  private stateValue: ShardState = "not-leader";
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped on every leadership change so a stale load cannot install its result. */
  private leaderGeneration = 0;
  /** Set by close(): new operations are refused, queued ones still run. */
  private closing = false;

  constructor(private readonly deps: ShardDeps) {}

  get partitionIndex(): number {
    return this.deps.partitionIndex;
  }

  get state(): ShardState {
    return this.stateValue;
  }

  /** Replays the partition and starts answering. Safe to call again (reloads). */
  becomeLeader(): Promise<void> {
    if (this.closing || this.stateValue === "closed") return Promise.resolve();
    const generation = ++this.leaderGeneration;
    this.stateValue = "loading";
    this.coordinator = undefined;
    return this.enqueue(async () => {
      if (generation !== this.leaderGeneration) return;
      const started = performance.now();
      let loaded: Awaited<ReturnType<CoordinatorShard["load"]>>;
      try {
        loaded = await this.load();
      } catch (error) {
        if (generation === this.leaderGeneration && this.stateValue === "loading") this.stateValue = "not-leader";
        throw error;
      }
      if (generation !== this.leaderGeneration || this.stateValue === "closed") return;
      this.coordinator = loaded.coordinator;
      this.stateValue = "active";
      this.deps.logger.info(
        { partition: this.deps.partitionIndex, records: loaded.records, skipped: loaded.skipped, groups: loaded.coordinator.listGroups().length, durationMs: Math.round(performance.now() - started) },
        "group coordinator loaded",
      );
    });
  }

  /** Stops answering for this partition (leadership moved away). */
  resign(): void {
    if (this.stateValue === "closed") return;
    this.leaderGeneration++;
    this.stateValue = "not-leader";
    this.coordinator = undefined;
  }

  /**
   * Runs `operation` on the core after every earlier operation finished, appends the records it
   * produced, then returns its result (or throws its error). See the module comment.
   */
  run<T>(operation: (coordinator: GroupCoordinator, nowMs: number) => T): Promise<T> {
    try {
      if (this.closing) throw new SluiceError("NOT_COORDINATOR", `__consumer_offsets-${this.deps.partitionIndex}: the broker is shutting down`);
      this.checkAnswering();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(async () => {
      this.checkAnswering();
      const coordinator = this.coordinator as GroupCoordinator;
      const nowMs = this.deps.nowMs();
      let result: T | undefined;
      let failure: unknown;
      let failed = false;
      try {
        result = operation(coordinator, nowMs);
      } catch (error) {
        failure = error;
        failed = true;
      }
      const records = coordinator.takeRecords();
      if (failed && !(failure instanceof SluiceError)) {
        // Our bug: the core may hold half an operation. Write nothing and start over from the log.
        await this.rebuild("operation failed unexpectedly");
        throw failure;
      }
      if (records.length > 0) {
        const bytes = encodeGroupRecords(records, nowMs);
        try {
          const log = this.deps.log();
          if (log instanceof SluiceError) throw log;
          await log.append(bytes, -1);
          this.deps.onWrite?.(records.length, bytes.length);
        } catch (error) {
          this.deps.logger.error({ partition: this.deps.partitionIndex, err: error, records: records.length }, "group coordinator write failed; rebuilding from the log");
          await this.rebuild("write failed");
          throw new SluiceError(
            "COORDINATOR_NOT_AVAILABLE",
            `__consumer_offsets-${this.deps.partitionIndex}: the write failed (${error instanceof Error ? error.message : String(error)}); retry`,
            { cause: error },
          );
        }
      }
      if (failed) throw failure;
      return result as T;
    });
  }

  /** Reads the core's current state without queueing (metrics): undefined unless active. May see records still being written. */
  peek<T>(read: (coordinator: GroupCoordinator) => T): T | undefined {
    return this.stateValue === "active" && this.coordinator !== undefined ? read(this.coordinator) : undefined;
  }

  /** Refuses new operations and waits for the ones already queued (and their writes) to finish. */
  async close(): Promise<void> {
    this.closing = true;
    await this.queue;
    this.stateValue = "closed";
    this.leaderGeneration++;
    this.coordinator = undefined;
  }

  private checkAnswering(): void {
    switch (this.stateValue) {
      case "active":
        return;
      case "loading":
        throw new SluiceError("COORDINATOR_LOAD_IN_PROGRESS", `__consumer_offsets-${this.deps.partitionIndex} is still being loaded`);
      case "not-leader":
      case "closed":
        throw new SluiceError("NOT_COORDINATOR", `this broker does not coordinate __consumer_offsets-${this.deps.partitionIndex}`);
    }
  }

  private async load(): Promise<{ coordinator: GroupCoordinator; records: number; skipped: number }> {
    const log = this.deps.log();
    if (log instanceof SluiceError) throw log;
    let replay: Awaited<ReturnType<typeof replayPartition>>;
    for (let attempt = 1; ; attempt++) {
      try {
        replay = await replayPartition(log, this.deps.logger);
        break;
      } catch (error) {
        // A read racing the log cleaner's segment swap is retriable: start over (limits.ts).
        if (!(error instanceof SluiceError) || !error.retriable || attempt >= REPLAY_ATTEMPTS_MAX) throw error;
        this.deps.logger.warn({ partition: this.deps.partitionIndex, attempt, err: error.message }, "replay of __consumer_offsets failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, REPLAY_RETRY_BACKOFF_MS));
      }
    }
    const coordinator = GroupCoordinator.load(replay.records, this.deps.nowMs(), { config: this.deps.config, topics: this.deps.topicImage() });
    return { coordinator, records: replay.records.length, skipped: replay.skipped };
  }

  /** Runs inside the queue: replaces the core with one replayed from the log. */
  private async rebuild(reason: string): Promise<void> {
    const generation = this.leaderGeneration;
    this.stateValue = "loading";
    this.coordinator = undefined;
    try {
      const loaded = await this.load();
      if (generation !== this.leaderGeneration) return;
      this.coordinator = loaded.coordinator;
      this.stateValue = "active";
      this.deps.logger.warn({ partition: this.deps.partitionIndex, reason, records: loaded.records }, "group coordinator rebuilt from the log");
    } catch (error) {
      // The log cannot be read either: stop coordinating this partition rather than answer from a guess.
      if (generation === this.leaderGeneration) this.stateValue = "not-leader";
      this.deps.logger.error({ partition: this.deps.partitionIndex, err: error }, "group coordinator could not be rebuilt; the partition is not coordinated until the broker restarts");
    }
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
