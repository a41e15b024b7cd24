/**
 * GroupConsumer: a consumer that shares its topics' partitions with the other members of a
 * consumer group (Kafka's `group.id` consumer, KIP-848 protocol: the coordinator computes the
 * assignment; members heartbeat and follow it incrementally).
 *
 * Why a class next to `Consumer` rather than a `groupId` option on it: the two have different
 * contracts (`assign`/`seek` on partitions you choose vs `subscribe` and partitions that come
 * and go under your feet, with callbacks and commits), and Kafka's single class enforces that
 * split with run-time "subscribe and assign are mutually exclusive" errors. Composition keeps
 * the split in the type system: a GroupConsumer drives an internal assign/seek `Consumer`
 * (fetching, buffering, decoding stay there) and adds membership, ownership and commits.
 *
 * Membership (group-membership.ts holds the pure state): join with epoch 0 and a UUID member
 * id, heartbeat every `heartbeat_interval_ms` the coordinator names (at once when ownership
 * changed), report owned partitions every time. Each answer's assignment is the target:
 * - Revocation first: stop yielding the partition's records, wait until the record being
 *   processed (if it is one of them) is done, stop fetching, commit its position (auto-commit),
 *   await `onRevoked`, then report it as no longer owned.
 * - Assignment: read committed offsets (OffsetFetch), await `onAssigned`, then, with no
 *   heartbeat in flight, take only what the latest answer still assigns, start fetching from
 *   the committed offset (else `autoOffsetReset`) and report it owned.
 * - FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID (or no successful heartbeat for `sessionTimeoutMs`):
 *   every partition is lost. Records stop at once, nothing is committed (another member may
 *   own them already), `onLost` runs (`onRevoked` if no `onLost` is given, Kafka's default for
 *   onPartitionsLost), and the member rejoins with epoch 0.
 * - NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS / lost
 *   connections: FindCoordinator again, with backoff; partitions are kept meanwhile.
 *
 * Processing and commits: a record counts as processed when iteration asks for the next one
 * (or the loop is left): its offset + 1 is the partition's position to commit. Auto-commit
 * (default on) commits positions every `autoCommitIntervalMs`, before a revocation is
 * acknowledged, and on `close()`. This is at-least-once: after a crash, a new owner starts
 * from the last commit. A commit refused with STALE_MEMBER_EPOCH is retried after the next
 * heartbeat answer.
 *
 * The guarantee: no record of a partition is yielded after its revocation began, so none is
 * processed after `onRevoked` returned (except that, when `close()` is called from inside the
 * loop body, the record being processed finishes after close's `onRevoked`).
 *
 * Callbacks run one at a time, in order, never concurrently with each other. A callback that
 * throws does not stop the rebalance: the error is thrown by iteration (RebalanceCallbackError).
 */
import { randomUUID } from "node:crypto";
import { SluiceError, fromErrorInfo, type api } from "@sluice/protocol";
import { positiveIntOption } from "./cluster.js";
import { Consumer, type AutoOffsetReset, type ConsumerBatch, type ConsumerOptions, type ConsumerRecord, type TopicPartition } from "./consumer.js";
import { ClientClosedError, ConfigError, OffsetCommitError, RebalanceCallbackError } from "./errors.js";
import {
  GroupMembership,
  heartbeatFailureAction,
  intersection,
  partitionKey,
  partitionSet,
  sortedPartitions,
  toWire,
  type PartitionSet,
  type Subscription,
} from "./group-membership.js";
import { GroupRpc, isCoordinatorError } from "./group-rpc.js";
import {
  AUTO_COMMIT_INTERVAL_MS_DEFAULT,
  COMMIT_STALE_EPOCH_RETRIES_MAX,
  GROUP_HEARTBEAT_INTERVAL_MS_FALLBACK,
  GROUP_HEARTBEAT_TIMEOUT_MS,
  GROUP_REBALANCE_TIMEOUT_MS_DEFAULT,
  GROUP_REBALANCE_TIMEOUT_MS_MAX,
  GROUP_SESSION_TIMEOUT_MS_DEFAULT,
} from "./limits.js";
import type { TimerHandle } from "./runtime.js";

export type RebalanceCallback = (partitions: TopicPartition[]) => void | Promise<void>;

export type ServerAssignor = "uniform" | "range" | "round-robin";

export interface GroupConsumerOptions extends Omit<ConsumerOptions, "autoOffsetReset"> {
  readonly groupId: string;
  /** Commit processed positions periodically, before revocations and on close; default true. */
  readonly autoCommit?: boolean;
  /** Default AUTO_COMMIT_INTERVAL_MS_DEFAULT (5 s). */
  readonly autoCommitIntervalMs?: number;
  /** Where a partition without a committed offset starts; default "latest" (Kafka's). */
  readonly autoOffsetReset?: AutoOffsetReset;
  /**
   * The coordinator's session timeout is a broker setting; this is the consumer's own limit:
   * with no successful heartbeat for this long it treats its partitions as lost. Set it to the
   * broker's `group.consumer.session.timeout.ms`; default 45 s.
   */
  readonly sessionTimeoutMs?: number;
  /** Time the coordinator allows this member to give up revoked partitions; default 5 min. */
  readonly rebalanceTimeoutMs?: number;
  /** Static membership: a restart with the same id within the session keeps the partitions. */
  readonly instanceId?: string;
  readonly rackId?: string;
  readonly clientId?: string;
  /** Ask the coordinator for this assignor; the group uses the one most members ask for. */
  readonly serverAssignor?: ServerAssignor;
  /** New partitions, before any of their records is yielded. */
  readonly onAssigned?: RebalanceCallback;
  /** Partitions being taken away, after their last record was processed and (auto-commit) committed. */
  readonly onRevoked?: RebalanceCallback;
  /** Partitions already lost (fenced, session expired); `onRevoked` is called when absent. */
  readonly onLost?: RebalanceCallback;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  /** The next record to read (last processed + 1). */
  readonly offset: number;
  readonly metadata?: string;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly offset: number;
  readonly metadata: string;
}

type InnerBatch = Pick<ConsumerBatch, "topic" | "partition" | "records">;

const assignors = new Set<string>(["uniform", "range", "round-robin"]);
const GROUP_ID_LENGTH_MAX = 255;

function optionalName(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > GROUP_ID_LENGTH_MAX) {
    throw new ConfigError(name, `must be a string of 1-${GROUP_ID_LENGTH_MAX} characters`);
  }
  return value;
}

export class GroupConsumer implements AsyncIterable<ConsumerRecord> {
  readonly groupId: string;
  readonly memberId: string;
  private readonly inner: Consumer;
  private readonly rpc: GroupRpc;
  private readonly membership: GroupMembership;
  private readonly options: GroupConsumerOptions;
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly sessionTimeoutMs: number;
  private readonly autoOffsetReset: AutoOffsetReset;

  /** Partitions whose records may be yielded now (owned and not being revoked). */
  private readonly active = new Set<string>();
  /** Partitions the inner consumer fetches (owned, minus those being given up). */
  private readonly fetching = new Map<string, TopicPartition>();
  /** Per partition: offset after the last processed record (what a commit sends). */
  private readonly processed = new Map<string, number>();
  /** Per partition: the last offset this consumer committed (skips no-op commits). */
  private readonly committedByUs = new Map<string, number>();
  /** The partition whose record the caller is processing right now. */
  private inFlight: string | undefined;
  private inFlightWaiters: (() => void)[] = [];

  private started = false;
  private closing = false;
  private closed = false;
  private closeDone: Promise<void> | undefined;
  private fatal: SluiceError | undefined;
  private readonly surfaced: Error[] = [];
  private interrupt: (() => void) | undefined;

  private heartbeatLoopDone: Promise<void> | undefined;
  private heartbeatInFlight = false;
  private heartbeatUrgent = false;
  private heartbeatIdleWaiters: (() => void)[] = [];
  private wakeHeartbeat: (() => void) | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private lastHeartbeatOkMs = 0;
  private heartbeatFailures = 0;
  private unreleasedSinceMs: number | undefined;
  private answerWaiters: { after: number; resolve: () => void }[] = [];

  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;
  private readonly lostQueue: PartitionSet[] = [];

  private autoCommitTimer: TimerHandle | undefined;
  private commitChain: Promise<void> = Promise.resolve();

  private iterating = false;
  private innerBatches: AsyncIterator<InnerBatch> | undefined;
  /** The inner iterator's outstanding `next()`: it survives an interrupted wait, so no batch is lost. */
  private pending: Promise<IteratorResult<InnerBatch>> | undefined;

  constructor(options: GroupConsumerOptions) {
    if (typeof options.groupId !== "string" || options.groupId.length === 0 || options.groupId.length > GROUP_ID_LENGTH_MAX) {
      throw new ConfigError("groupId", `must be a string of 1-${GROUP_ID_LENGTH_MAX} characters`);
    }
    if (options.serverAssignor !== undefined && !assignors.has(options.serverAssignor)) {
      throw new ConfigError("serverAssignor", `must be "uniform", "range" or "round-robin", got ${String(options.serverAssignor)}`);
    }
    if (options.autoCommit !== undefined && typeof options.autoCommit !== "boolean") throw new ConfigError("autoCommit", "must be a boolean");
    for (const name of ["onAssigned", "onRevoked", "onLost"] as const) {
      if (options[name] !== undefined && typeof options[name] !== "function") throw new ConfigError(name, "must be a function");
    }
    this.options = options;
    this.groupId = options.groupId;
    this.autoCommit = options.autoCommit ?? true;
    this.autoCommitIntervalMs = positiveIntOption("autoCommitIntervalMs", options.autoCommitIntervalMs, AUTO_COMMIT_INTERVAL_MS_DEFAULT);
    this.sessionTimeoutMs = positiveIntOption("sessionTimeoutMs", options.sessionTimeoutMs, GROUP_SESSION_TIMEOUT_MS_DEFAULT);
    const rebalanceTimeoutMs = positiveIntOption("rebalanceTimeoutMs", options.rebalanceTimeoutMs, GROUP_REBALANCE_TIMEOUT_MS_DEFAULT, GROUP_REBALANCE_TIMEOUT_MS_MAX);
    const instanceId = optionalName("instanceId", options.instanceId);
    const rackId = optionalName("rackId", options.rackId);
    const clientId = optionalName("clientId", options.clientId);
    this.autoOffsetReset = options.autoOffsetReset ?? "latest";
    this.inner = new Consumer({ ...options, autoOffsetReset: this.autoOffsetReset });
    this.rpc = new GroupRpc(this.inner.cluster, this.inner.cluster.requestTimeoutMs);
    this.memberId = randomUUID();
    this.membership = new GroupMembership({
      groupId: this.groupId,
      memberId: this.memberId,
      rebalanceTimeoutMs,
      ...(instanceId === undefined ? {} : { instanceId }),
      ...(rackId === undefined ? {} : { rackId }),
      ...(clientId === undefined ? {} : { clientId }),
      ...(options.serverAssignor === undefined ? {} : { serverAssignor: options.serverAssignor }),
    });
  }

  // ---- public surface ------------------------------------------------------------------------

  /** Joins the group (or changes the subscription): topic names, or a whole-name regex. */
  subscribe(subscription: Subscription): void {
    this.ensureOpen();
    if ("topics" in subscription) {
      if (!Array.isArray(subscription.topics) || subscription.topics.length === 0 || subscription.topics.some((t) => typeof t !== "string" || t.length === 0)) {
        throw new SluiceError("INVALID_REQUEST", "subscribe: topics must be a non-empty list of topic names");
      }
      this.membership.subscribe({ topics: [...new Set(subscription.topics)].sort() });
    } else if ("topicRegex" in subscription && typeof subscription.topicRegex === "string" && subscription.topicRegex.length > 0) {
      this.membership.subscribe({ topicRegex: subscription.topicRegex });
    } else {
      throw new SluiceError("INVALID_REQUEST", "subscribe: give { topics: [...] } or { topicRegex: \"...\" }");
    }
    if (!this.started) this.start();
    else this.heartbeatNow();
  }

  /** Partitions this member owns right now, sorted. */
  assignment(): TopicPartition[] {
    return sortedPartitions(this.membership.owned);
  }

  /** The member epoch from the coordinator (0 before joining). */
  get memberEpoch(): number {
    return this.membership.memberEpoch;
  }

  /** The offset of the next record iteration yields for an owned partition (undefined until known). */
  position(tp: TopicPartition): number | undefined {
    const key = partitionKey(tp);
    if (!this.membership.owned.has(key)) throw new SluiceError("INVALID_REQUEST", `${tp.topic}-${tp.partition} is not assigned to this member`);
    return this.processed.get(key) ?? (this.fetching.has(key) ? this.inner.position(tp) : undefined);
  }

  /** Records between the position and the last high watermark seen (undefined until both are known). */
  lag(tp: TopicPartition): number | undefined {
    const position = this.position(tp);
    const highWatermark = this.fetching.has(partitionKey(tp)) ? this.inner.highWatermark(tp) : -1;
    return position === undefined || highWatermark < 0 ? undefined : Math.max(0, highWatermark - position);
  }

  /** The group's committed offsets for `partitions` (all owned when omitted). */
  async committed(partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    this.ensureOpen();
    const which = partitionSet(partitions ?? this.assignment());
    const found = await this.fetchCommitted(which);
    return sortedPartitions(which).map((tp) => ({ ...tp, ...(found.get(partitionKey(tp)) ?? { offset: -1, metadata: "" }) }));
  }

  /** Commits the processed position of every owned partition that moved since the last commit. */
  commit(): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError("group consumer"));
    return this.serializedCommit(() => this.positionsToCommit(this.membership.owned));
  }

  /** Commits exactly these offsets (offset = the next record to read). */
  commitOffsets(offsets: readonly OffsetToCommit[]): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError("group consumer"));
    for (const o of offsets) {
      if (typeof o.topic !== "string" || o.topic.length === 0 || !Number.isInteger(o.partition) || o.partition < 0 || !Number.isSafeInteger(o.offset) || o.offset < 0) {
        return Promise.reject(new SluiceError("INVALID_COMMIT_OFFSET_SIZE", `bad offset to commit ${JSON.stringify(o)}`));
      }
    }
    return this.serializedCommit(() => offsets);
  }

  /**
   * Yields records of the owned partitions until `close()`. Only one iteration at a time.
   * Leaving the loop early counts the last yielded record as processed; the next iteration
   * continues after it.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    if (this.iterating) throw new SluiceError("INVALID_REQUEST", "this group consumer is already being iterated");
    this.ensureOpen();
    if (!this.started) throw new SluiceError("INVALID_REQUEST", "subscribe() before iterating");
    this.iterating = true;
    try {
      for (;;) {
        this.throwSurfaced();
        const batch = await this.nextBatch();
        if (batch === undefined) return;
        const key = partitionKey(batch);
        for (const [i, record] of batch.records.entries()) {
          if (!this.active.has(key) || this.closing) break;
          let resumed = false;
          this.inFlight = key;
          try {
            yield record;
            resumed = true;
          } finally {
            // Processed: set the position before anyone waiting for the in-flight record wakes.
            if (this.membership.owned.has(key)) this.processed.set(key, record.offset + 1);
            this.inFlight = undefined;
            this.releaseInFlightWaiters();
            // Left the loop inside a batch: fetch the rest again from the position.
            if (!resumed && i + 1 < batch.records.length && this.fetching.has(key) && !this.closing) {
              this.inner.seek({ topic: batch.topic, partition: batch.partition }, record.offset + 1);
            }
          }
        }
      }
    } finally {
      this.iterating = false;
    }
  }

  /** Leaves the group: commits (auto-commit), runs `onRevoked`, sends the leave heartbeat, closes connections. */
  close(): Promise<void> {
    this.closeDone ??= this.closeOnce();
    return this.closeDone;
  }

  private async closeOnce(): Promise<void> {
    this.closing = true;
    this.autoCommitTimer?.cancel();
    this.releaseInFlightWaiters();
    this.wake();
    this.interrupt?.();
    for (const waiter of this.answerWaiters) waiter.resolve();
    this.answerWaiters = [];
    try {
      await this.reconciling;
      await this.heartbeatLoopDone;
      const owned = this.membership.owned;
      if (owned.size > 0 && this.fatal === undefined) {
        for (const key of owned.keys()) this.active.delete(key);
        if (this.autoCommit) await this.commit().catch(() => undefined);
        await this.runCallback("onRevoked", owned);
        this.membership.released(owned);
      }
      if (this.membership.joined) {
        const request = this.membership.leaveFields();
        await this.rpc
          .call<api.ConsumerGroupHeartbeatResponse>(this.groupId, "ConsumerGroupHeartbeat", (g, o, cb) => g.ConsumerGroupHeartbeat(request, o, cb), GROUP_HEARTBEAT_TIMEOUT_MS)
          .catch(() => undefined);
      }
    } finally {
      this.closed = true;
      await this.inner.close();
    }
  }

  // ---- internals: lifecycle -----------------------------------------------------------------

  /** Connections and metadata (shared with the internal assign/seek consumer). */
  get cluster(): Consumer["cluster"] {
    return this.inner.cluster;
  }

  private ensureOpen(): void {
    if (this.closing) throw new ClientClosedError("group consumer");
  }

  private start(): void {
    this.started = true;
    this.lastHeartbeatOkMs = this.cluster.clock.now();
    this.heartbeatLoopDone = this.heartbeatLoop();
    if (this.autoCommit) this.scheduleAutoCommit();
  }

  private scheduleAutoCommit(): void {
    this.autoCommitTimer = this.cluster.scheduler.after(this.autoCommitIntervalMs, () => {
      if (this.closing) return;
      // Failures are retried on the next tick; revocation and close commit again anyway.
      void this.commit()
        .catch(() => undefined)
        .finally(() => {
          if (!this.closing) this.scheduleAutoCommit();
        });
    });
  }

  /** Stops the consumer with an error iteration will throw (a request the coordinator never accepts). */
  private fail(error: SluiceError): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.loseAll();
    this.interrupt?.();
  }

  private surface(error: Error): void {
    this.surfaced.push(error);
    this.interrupt?.();
  }

  private throwSurfaced(): void {
    if (this.fatal !== undefined) throw this.fatal;
    const error = this.surfaced.shift();
    if (error !== undefined) throw error;
  }

  // ---- internals: heartbeats ----------------------------------------------------------------

  private heartbeatNow(): void {
    this.heartbeatUrgent = true;
    this.wake();
  }

  private wake(): void {
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
    const wake = this.wakeHeartbeat;
    this.wakeHeartbeat = undefined;
    wake?.();
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.closing && this.fatal === undefined) {
      this.heartbeatUrgent = false;
      const delayMs = await this.heartbeatOnce();
      this.checkSession();
      if (this.closing || this.fatal !== undefined) break;
      if (this.heartbeatUrgent) continue;
      await new Promise<void>((resolve) => {
        this.wakeHeartbeat = resolve;
        this.heartbeatTimer = this.cluster.scheduler.after(delayMs, () => {
          this.heartbeatTimer = undefined;
          this.wakeHeartbeat = undefined;
          resolve();
        });
      });
    }
    this.releaseHeartbeatIdle();
  }

  /** Sends one heartbeat and handles its answer; returns the delay before the next one. */
  private async heartbeatOnce(): Promise<number> {
    const { request, carriesSubscription } = this.membership.heartbeatFields();
    this.heartbeatInFlight = true;
    try {
      const response = await this.rpc.call<api.ConsumerGroupHeartbeatResponse>(
        this.groupId,
        "ConsumerGroupHeartbeat",
        (g, o, cb) => g.ConsumerGroupHeartbeat(request, o, cb),
        GROUP_HEARTBEAT_TIMEOUT_MS,
      );
      if (this.closing) return 0;
      this.membership.onResponse(response, carriesSubscription);
      this.lastHeartbeatOkMs = this.cluster.clock.now();
      this.heartbeatFailures = 0;
      this.unreleasedSinceMs = undefined;
      this.releaseAnswerWaiters();
      this.kickReconcile();
      // Never silent for half a session, whatever interval a (misconfigured) broker names.
      return Math.min(this.membership.heartbeatIntervalMs ?? GROUP_HEARTBEAT_INTERVAL_MS_FALLBACK, Math.floor(this.sessionTimeoutMs / 2));
    } catch (error) {
      if (this.closing) return 0;
      const failure = error instanceof SluiceError ? error : new SluiceError("UNKNOWN_SERVER_ERROR", String(error), { cause: error });
      const action = heartbeatFailureAction(failure.errorName, failure.retriable);
      if (action === "fatal") {
        this.fail(failure);
        return 0;
      }
      if (action === "rejoin") {
        this.loseAll();
        this.heartbeatUrgent = true;
        return 0;
      }
      if (action === "retry-join") {
        this.unreleasedSinceMs ??= this.cluster.clock.now();
        if (this.cluster.clock.now() - this.unreleasedSinceMs > this.sessionTimeoutMs) {
          this.fail(failure);
          return 0;
        }
      }
      this.heartbeatFailures++;
      return this.cluster.retry.backoffFor(this.heartbeatFailures, this.cluster.random);
    } finally {
      this.heartbeatInFlight = false;
      this.releaseHeartbeatIdle();
    }
  }

  /** With no successful heartbeat for the session timeout, the coordinator has given our partitions away. */
  private checkSession(): void {
    if (this.closing || (this.membership.owned.size === 0 && !this.membership.joined)) return;
    if (this.cluster.clock.now() - this.lastHeartbeatOkMs > this.sessionTimeoutMs) {
      this.loseAll();
      this.lastHeartbeatOkMs = this.cluster.clock.now();
    }
  }

  private releaseHeartbeatIdle(): void {
    const waiters = this.heartbeatIdleWaiters;
    this.heartbeatIdleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private async heartbeatIdle(): Promise<void> {
    while (this.heartbeatInFlight && !this.closing) {
      await new Promise<void>((resolve) => this.heartbeatIdleWaiters.push(resolve));
    }
  }

  private releaseAnswerWaiters(): void {
    const count = this.membership.answerCount;
    const ready = this.answerWaiters.filter((w) => w.after < count);
    this.answerWaiters = this.answerWaiters.filter((w) => w.after >= count);
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves after the next heartbeat answer (or on close / failure). */
  private nextAnswer(): Promise<void> {
    if (this.closing || this.fatal !== undefined) return Promise.resolve();
    const after = this.membership.answerCount;
    const done = new Promise<void>((resolve) => this.answerWaiters.push({ after, resolve }));
    this.heartbeatNow();
    return done;
  }

  // ---- internals: ownership -----------------------------------------------------------------

  /** Every owned partition is lost: stop its records now; the callback runs on the reconcile chain. */
  private loseAll(): void {
    const lost = this.membership.fence();
    if (lost.size === 0) return;
    for (const key of lost.keys()) {
      this.active.delete(key);
      this.processed.delete(key);
      this.committedByUs.delete(key);
    }
    this.stopFetching(lost);
    this.lostQueue.push(lost);
    this.kickReconcile();
  }

  private stopFetching(partitions: PartitionSet): void {
    let changed = false;
    for (const key of partitions.keys()) changed = this.fetching.delete(key) || changed;
    if (changed && !this.closed) this.inner.assign([...this.fetching.values()]);
  }

  private kickReconcile(): void {
    if (this.reconciling !== undefined) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = this.reconcileLoop().finally(() => {
      this.reconciling = undefined;
      if (this.reconcileAgain && !this.closing) {
        this.reconcileAgain = false;
        this.kickReconcile();
      }
    });
  }

  private async reconcileLoop(): Promise<void> {
    for (;;) {
      this.reconcileAgain = false;
      const lost = this.lostQueue.shift();
      if (lost !== undefined) {
        await this.waitNotInFlight(lost);
        await this.runCallback(this.options.onLost === undefined ? "onRevoked" : "onLost", lost);
        continue;
      }
      if (this.closing || this.fatal !== undefined) return;
      const step = this.membership.nextStep();
      if (step === undefined) return;
      if (step.kind === "revoke") await this.revoke(step.partitions);
      else if (!(await this.assign(step.partitions))) return;
    }
  }

  private async revoke(partitions: PartitionSet): Promise<void> {
    for (const key of partitions.keys()) this.active.delete(key);
    await this.waitNotInFlight(partitions);
    this.stopFetching(partitions);
    if (this.autoCommit) {
      // A failed commit here costs duplicates, not loss: the next owner starts at the last
      // commit. It must not stop the revocation (the coordinator is waiting for it).
      await this.serializedCommit(() => this.positionsToCommit(partitions)).catch(() => undefined);
    }
    await this.runCallback("onRevoked", partitions);
    for (const key of partitions.keys()) {
      this.processed.delete(key);
      this.committedByUs.delete(key);
    }
    this.membership.released(partitions);
    this.heartbeatNow();
  }

  /** Takes new partitions; false when it could not (offsets unreadable: retried on the next answer). */
  private async assign(partitions: PartitionSet): Promise<boolean> {
    let committed: Map<string, { offset: number; metadata: string }>;
    try {
      committed = await this.fetchCommitted(partitions);
    } catch (error) {
      if (!this.closing) this.surface(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    if (this.closing || this.fatal !== undefined) return false;
    // Partitions withdrawn while the offsets were read are dropped without callbacks.
    const wanted = intersection(partitions, this.membership.target ?? new Map());
    if (wanted.size > 0) await this.runCallback("onAssigned", wanted);
    // Ownership changes only between heartbeats: the answer we check against is the last one
    // the coordinator sent, and the next heartbeat reports the result.
    await this.heartbeatIdle();
    if (this.closing) return false;
    const { taken, withdrawn } = this.membership.acquired(wanted);
    if (taken.size > 0) {
      this.heartbeatNow();
      for (const [key, tp] of taken) this.fetching.set(key, tp);
      this.inner.assign([...this.fetching.values()]);
    }
    const uncommitted: TopicPartition[] = [];
    for (const [key, tp] of taken) {
      const offset = committed.get(key)?.offset ?? -1;
      if (offset < 0) {
        uncommitted.push(tp);
        continue;
      }
      // The committed offset is the position: a commit before any record is processed keeps it.
      this.inner.seek(tp, offset);
      this.processed.set(key, offset);
      this.committedByUs.set(key, offset);
    }
    if (uncommitted.length > 0 && this.autoOffsetReset !== "none") {
      // Resolve the reset now, so that position is committed even if no record is processed
      // (Kafka commits reset positions too); on failure the inner consumer resets by itself.
      try {
        await (this.autoOffsetReset === "earliest" ? this.inner.seekToBeginning(uncommitted) : this.inner.seekToEnd(uncommitted));
        for (const tp of uncommitted) {
          const key = partitionKey(tp);
          const position = this.fetching.has(key) ? this.inner.position(tp) : undefined;
          if (position !== undefined && !this.processed.has(key)) this.processed.set(key, position);
        }
      } catch {
        // Not fatal: fetching resets the position again, and an error it cannot fix surfaces there.
      }
    }
    // Revoked or lost while the reset was resolved: never activate those.
    for (const key of taken.keys()) {
      if (this.fetching.has(key) && this.membership.owned.has(key)) this.active.add(key);
    }
    if (taken.size > 0) this.interrupt?.();
    if (withdrawn.size > 0) await this.runCallback("onRevoked", withdrawn);
    return true;
  }

  private async runCallback(name: "onAssigned" | "onRevoked" | "onLost", partitions: PartitionSet): Promise<void> {
    const callback = this.options[name];
    if (callback === undefined || partitions.size === 0) return;
    try {
      await callback(sortedPartitions(partitions));
    } catch (error) {
      this.surface(new RebalanceCallbackError(name, error));
    }
  }

  private async waitNotInFlight(partitions: PartitionSet): Promise<void> {
    while (this.inFlight !== undefined && partitions.has(this.inFlight) && !this.closing) {
      await new Promise<void>((resolve) => this.inFlightWaiters.push(resolve));
    }
  }

  private releaseInFlightWaiters(): void {
    const waiters = this.inFlightWaiters;
    this.inFlightWaiters = [];
    for (const waiter of waiters) waiter();
  }

  // ---- internals: iteration -----------------------------------------------------------------

  /** The next inner batch, or undefined on close; wakes early for errors to throw and new partitions. */
  private async nextBatch(): Promise<InnerBatch | undefined> {
    for (;;) {
      this.throwSurfaced();
      if (this.closing) return undefined;
      this.innerBatches ??= this.inner.batches();
      const iterator = this.innerBatches;
      const interrupted = new Promise<"interrupted">((resolve) => {
        this.interrupt = () => resolve("interrupted");
      });
      let next: IteratorResult<InnerBatch> | "interrupted";
      try {
        next = await Promise.race([this.pendingNext(iterator), interrupted]);
      } catch (error) {
        this.innerBatches = undefined;
        this.pending = undefined;
        throw error;
      } finally {
        this.interrupt = undefined;
      }
      if (next === "interrupted") continue;
      this.pending = undefined;
      if (next.done === true) {
        this.innerBatches = undefined;
        if (this.closing) return undefined;
        continue;
      }
      if (this.active.has(partitionKey(next.value))) return next.value;
    }
  }

  private pendingNext(iterator: AsyncIterator<InnerBatch>): Promise<IteratorResult<InnerBatch>> {
    this.pending ??= iterator.next();
    return this.pending;
  }

  // ---- internals: offsets -------------------------------------------------------------------

  private positionsToCommit(partitions: PartitionSet): OffsetToCommit[] {
    const out: OffsetToCommit[] = [];
    for (const [key, tp] of partitions) {
      const offset = this.processed.get(key);
      if (offset !== undefined && offset !== this.committedByUs.get(key)) out.push({ topic: tp.topic, partition: tp.partition, offset });
    }
    return out;
  }

  /** Commits run one after another, so an older position never lands after a newer one. */
  private serializedCommit(offsets: () => readonly OffsetToCommit[]): Promise<void> {
    const run = this.commitChain.then(() => this.commitNow(offsets()));
    this.commitChain = run.catch(() => undefined);
    return run;
  }

  private async commitNow(offsets: readonly OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    if (this.fatal !== undefined) throw this.fatal;
    let pending = [...offsets];
    const deadlineMs = this.cluster.clock.now() + this.cluster.requestTimeoutMs;
    let staleRetries = 0;
    for (let attempt = 1; ; attempt++) {
      if (!this.membership.joined) throw new SluiceError("UNKNOWN_MEMBER_ID", `group "${this.groupId}": this consumer has not joined the group (yet)`);
      const byTopic = new Map<string, api.OffsetCommitPartitionInput[]>();
      for (const o of pending) {
        const list = byTopic.get(o.topic) ?? [];
        list.push({ partition: o.partition, offset: o.offset, leaderEpoch: -1, metadata: o.metadata ?? "" });
        byTopic.set(o.topic, list);
      }
      const request: api.OffsetCommitRequestInput = {
        groupId: this.groupId,
        memberId: this.memberId,
        memberEpoch: this.membership.memberEpoch,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
      let response: api.OffsetCommitResponse;
      try {
        response = await this.rpc.call<api.OffsetCommitResponse>(this.groupId, "OffsetCommit", (g, o, cb) => g.OffsetCommit(request, o, cb));
      } catch (error) {
        const name = error instanceof SluiceError ? error.errorName : undefined;
        if (name === "STALE_MEMBER_EPOCH" && staleRetries++ < COMMIT_STALE_EPOCH_RETRIES_MAX) {
          await this.nextAnswer();
          continue;
        }
        if (name === "FENCED_MEMBER_EPOCH" || name === "UNKNOWN_MEMBER_ID") this.heartbeatNow();
        const decision = isCoordinatorError(error) ? this.cluster.retry.decide(error, attempt, this.cluster.clock.now(), deadlineMs, this.cluster.random) : { retry: false as const };
        if (!decision.retry) throw error;
        await this.cluster.sleep(decision.delayMs);
        continue;
      }
      const failures: { topic: string; partition: number; error: SluiceError }[] = [];
      for (const topic of response.topics) {
        for (const p of topic.partitions) {
          const error = fromErrorInfo(p.error);
          if (error !== null) failures.push({ topic: topic.topic, partition: p.partition, error });
        }
      }
      const failed = new Set(failures.map((f) => partitionKey(f)));
      for (const o of pending) {
        const key = partitionKey(o);
        if (!failed.has(key) && this.membership.owned.has(key)) this.committedByUs.set(key, o.offset);
      }
      if (failures.length === 0) return;
      // STALE_MEMBER_EPOCH on a partition: our epoch is behind; retry it after the next answer if we still own it.
      const stale = failures.filter((f) => f.error.errorName === "STALE_MEMBER_EPOCH" && this.membership.owned.has(partitionKey(f)));
      if (stale.length === failures.length && staleRetries++ < COMMIT_STALE_EPOCH_RETRIES_MAX) {
        const staleKeys = new Set(stale.map((f) => partitionKey(f)));
        pending = pending.filter((o) => staleKeys.has(partitionKey(o)));
        await this.nextAnswer();
        continue;
      }
      throw new OffsetCommitError(this.groupId, failures);
    }
  }

  private async fetchCommitted(partitions: PartitionSet): Promise<Map<string, { offset: number; metadata: string }>> {
    const out = new Map<string, { offset: number; metadata: string }>();
    if (partitions.size === 0) return out;
    const request: api.OffsetFetchRequestInput = { groupId: this.groupId, topics: toWire(partitions) };
    const response = await this.rpc.withRetries<api.OffsetFetchResponse>(this.groupId, "OffsetFetch", (g, o, cb) => g.OffsetFetch(request, o, cb));
    for (const entry of response.offsets) out.set(partitionKey(entry), { offset: entry.offset, metadata: entry.metadata });
    return out;
  }
}
