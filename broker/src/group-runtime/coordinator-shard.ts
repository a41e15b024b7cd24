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
 * - Operations run on the core strictly one after another (a promise queue), and reach the log
 *   in that order. An operation's caller is answered only once its records and every earlier
 *   operation's records are durable (acks=all semantics: `Partition.append` resolves once the
 *   fsync policy made them durable), so an answer never reports state a crash could lose — even
 *   an operation that wrote nothing waits for the writes before it.
 * - Group commit (as Kafka's coordinator runtime does): while one append is in flight, the
 *   operations that run meanwhile queue their records, and the next append carries them all, so
 *   100 members heartbeating at once cost a few fsyncs, not 100 in a row. Records are only
 *   appended after every earlier append succeeded.
 * - Records are appended whether the operation returned or threw (the core may expire a dead
 *   member and then refuse the request).
 * - If an append fails, the in-memory core is ahead of the log: it is discarded and rebuilt
 *   from what the partition really holds; the failed append's callers and every operation that
 *   ran after it (their records are never written) get COORDINATOR_NOT_AVAILABLE (retriable). If the operation itself failed with something other than a typed SluiceError
 *   (our bug), nothing is appended and the core is rebuilt too.
 * - While loading, calls answer COORDINATOR_LOAD_IN_PROGRESS; when not the leader (or closed),
 *   NOT_COORDINATOR. Both are retriable.
 */
import { SluiceError } from "@sluice/protocol";
import { GroupCoordinator, type CoordinatorConfig, type GroupRecord, type TopicImage } from "../group/index.js";
import type { Logger } from "../logger.js";
import type { Partition } from "../partition/partition.js";
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

/** An operation that ran on the core: its records, and how to answer its caller once they are durable. */
interface UnwrittenAnswer {
  readonly records: readonly GroupRecord[];
  readonly nowMs: number;
  settle(writeError: SluiceError | undefined): void;
}

export class CoordinatorShard {
  private coordinator: GroupCoordinator | undefined;
  private stateValue: ShardState = "not-leader";
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped on every leadership change so a stale load cannot install its result. */
  private leaderGeneration = 0;
  /** Set by close(): new operations are refused, queued ones still run. */
  private closing = false;
  /** Operations that ran on the core and wait for their records (and all earlier ones) to be durable. */
  private unwritten: UnwrittenAnswer[] = [];
  /** The write loop, while it runs. */
  private writing: Promise<void> | undefined;

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
   * Runs `operation` on the core after every earlier operation ran, and answers once the records
   * it produced — and every record produced before them — are durable (see the module comment:
   * group commit). Resolves with its result or rejects with its error.
   */
  run<T>(operation: (coordinator: GroupCoordinator, nowMs: number) => T): Promise<T> {
    try {
      if (this.closing) throw new SluiceError("NOT_COORDINATOR", `__consumer_offsets-${this.deps.partitionIndex}: the broker is shutting down`);
      this.checkAnswering();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      void this.enqueue(async () => {
        try {
          this.checkAnswering();
        } catch (error) {
          reject(error);
          return;
        }
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
          // Our bug: the core may hold half an operation. Write nothing of it; let the earlier
          // operations' writes finish, then start over from the log.
          await this.writesSettled();
          await this.rebuild("operation failed unexpectedly");
          reject(failure);
          return;
        }
        this.unwritten.push({
          records,
          nowMs,
          settle: (writeError) => {
            if (writeError !== undefined) reject(writeError);
            else if (failed) reject(failure);
            else resolve(result as T);
          },
        });
        this.startWriting();
      });
    });
  }

  /** Starts the write loop unless it is running. */
  private startWriting(): void {
    if (this.writing !== undefined) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
    });
  }

  /**
   * Group commit: everything queued while a write was in flight goes out in the next single
   * append. A failed append fails its operations and every operation queued behind it (they ran
   * on a core that included the lost records, so their records must not reach the log either),
   * and the core is rebuilt from the log before they are answered.
   */
  private async writeLoop(): Promise<void> {
    while (this.unwritten.length > 0) {
      const batch = this.unwritten;
      this.unwritten = [];
      const records = batch.flatMap((answer) => answer.records);
      if (records.length === 0) {
        for (const answer of batch) answer.settle(undefined);
        continue;
      }
      const nowMs = (batch[batch.length - 1] as UnwrittenAnswer).nowMs;
      try {
        const bytes = encodeGroupRecords(records, nowMs);
        const log = this.deps.log();
        if (log instanceof SluiceError) throw log;
        await log.append(bytes, -1);
        this.deps.onWrite?.(records.length, bytes.length);
        for (const answer of batch) answer.settle(undefined);
      } catch (error) {
        // Stop taking operations at once; the ones already queued see "loading" and are refused.
        this.stateValue = "loading";
        const lost = [...batch, ...this.unwritten];
        this.unwritten = [];
        this.deps.logger.error({ partition: this.deps.partitionIndex, err: error, records: records.length, operations: lost.length }, "group coordinator write failed; rebuilding from the log");
        await this.enqueue(() => this.rebuild("write failed"));
        const refusal = new SluiceError(
          "COORDINATOR_NOT_AVAILABLE",
          `__consumer_offsets-${this.deps.partitionIndex}: the write failed (${error instanceof Error ? error.message : String(error)}); retry`,
          { cause: error },
        );
        for (const answer of lost) answer.settle(refusal);
      }
    }
  }

  /** Resolves once nothing is waiting to be written and no write is in flight. */
  private async writesSettled(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  /** Reads the core's current state without queueing (metrics): undefined unless active. May see records still being written. */
  peek<T>(read: (coordinator: GroupCoordinator) => T): T | undefined {
    return this.stateValue === "active" && this.coordinator !== undefined ? read(this.coordinator) : undefined;
  }

  /** Refuses new operations and waits for the ones already queued (and their writes) to finish. */
  async close(): Promise<void> {
    this.closing = true;
    await this.queue;
    await this.writesSettled();
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
    // Reads see a consistent snapshot even while the log cleaner swaps segments (storage's
    // read isolation), so a replay error is real (disk, corruption) and is not retried.
    const replay = await replayPartition(log, this.deps.logger);
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
