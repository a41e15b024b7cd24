/**
 * The connection layer shared by Producer, Consumer and Admin: bootstrap addresses, one
 * BrokerConnection per broker address, and the metadata cache with its refresh logic.
 *
 * Routing: a partition's requests go to its leader's address from metadata, so a multi-broker
 * cluster works without changing callers. Metadata is refreshed when it is older than
 * METADATA_MAX_AGE_MS, when a topic is first used, and when a request fails with an error that
 * means the cache is stale (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
 * LEADER_NOT_AVAILABLE, a lost connection). Concurrent refreshes are coalesced into one call.
 *
 * Data listener: with `transport: "auto"` (the default), Produce and Fetch go to a broker's data
 * listener (data-connection.ts, one DataConnection per broker) when metadata advertises a data
 * port, and over gRPC otherwise. A data listener whose handshake failed (refused, firewalled,
 * another protocol version) is not used until a handshake without requests on it (a probe, at
 * most every DATA_LISTENER_RETRY_AFTER_MS) succeeds: gRPC carries that broker's traffic meanwhile,
 * so a blocked data port costs the requests of the first attempt a retry, never availability.
 */
import { SluiceError, type api } from "@sluice/protocol";
import { BrokerConnection } from "./connection.js";
import { DataConnection } from "./data-connection.js";
import { ClientClosedError, ConfigError, ConnectionError, TimeoutError } from "./errors.js";
import { DATA_LISTENER_RETRY_AFTER_MS, METADATA_MAX_AGE_MS, REQUEST_TIMEOUT_MS_DEFAULT } from "./limits.js";
import { formatAddress, MetadataCache, type TopicInfo } from "./metadata.js";
import { isRetriable, RetryPolicy, type RetryOptions } from "./retry.js";
import { systemClock, systemRandom, systemScheduler, type Clock, type Random, type Scheduler } from "./runtime.js";

/**
 * How Produce and Fetch reach brokers. "auto": a broker's data listener (plain TCP framing,
 * less CPU per byte than gRPC) when it advertises one and it can be reached, gRPC otherwise.
 * "grpc": always gRPC. Every other call is gRPC either way.
 */
export type ClientTransport = "auto" | "grpc";

const transports: ReadonlySet<string> = new Set<ClientTransport>(["auto", "grpc"]);

/** Options every client (Producer, Consumer, Admin) takes. */
export interface ClientOptions {
  /** "host:port", a comma-separated list of them, or an array. */
  readonly bootstrap: string | readonly string[];
  /** Deadline of each request; default REQUEST_TIMEOUT_MS_DEFAULT (30 s). */
  readonly requestTimeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Produce and Fetch over brokers' data listeners when they have one ("auto", the default) or always over gRPC. */
  readonly transport?: ClientTransport;
  /** Injected time and randomness (tests, simulations); the system ones by default. */
  readonly clock?: Clock;
  readonly random?: Random;
  readonly scheduler?: Scheduler;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" (or "[v6]:port"); throws ConfigError on anything else. */
export function parseHostPort(text: string): HostPort {
  const trimmed = text.trim();
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(trimmed);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError("bootstrap", `"${text}" is not host:port (port 1-65535)`);
  }
  return { host: match[1] ?? match[2] ?? "", port };
}

export function parseBootstrap(bootstrap: string | readonly string[]): HostPort[] {
  const parts = (typeof bootstrap === "string" ? bootstrap.split(",") : [...bootstrap]).map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new ConfigError("bootstrap", "at least one host:port is required");
  return parts.map(parseHostPort);
}

export function positiveIntOption(name: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ConfigError(name, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  return v;
}

export class ClusterClient {
  readonly metadata = new MetadataCache();
  readonly clock: Clock;
  readonly random: Random;
  readonly scheduler: Scheduler;
  readonly retry: RetryPolicy;
  readonly requestTimeoutMs: number;
  readonly transport: ClientTransport;
  private readonly bootstrap: HostPort[];
  private readonly connections = new Map<string, BrokerConnection>();
  /** Keyed by the broker's gRPC address, like `connections`. */
  private readonly dataConnections = new Map<string, DataConnection>();
  private readonly interest = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private refreshAgain: Promise<void> | undefined;
  private nextBootstrap = 0;
  private closed = false;

  constructor(options: ClientOptions) {
    this.bootstrap = parseBootstrap(options.bootstrap);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.retry = new RetryPolicy(options.retry);
    this.requestTimeoutMs = positiveIntOption("requestTimeoutMs", options.requestTimeoutMs, REQUEST_TIMEOUT_MS_DEFAULT);
    const transport = options.transport ?? "auto";
    if (!transports.has(transport)) throw new ConfigError("transport", `must be "auto" or "grpc", got ${String(options.transport)}`);
    this.transport = transport;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  connection(address: string): BrokerConnection {
    if (this.closed) throw new ClientClosedError("client");
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = new BrokerConnection(address);
      this.connections.set(address, connection);
    }
    return connection;
  }

  /**
   * The data-listener connection for the broker at `address` (its gRPC address), or undefined
   * when Produce and Fetch should use gRPC: transport "grpc", a broker metadata does not know or
   * that advertises no data port, a data listener whose last handshake failed (probed again
   * DATA_LISTENER_RETRY_AFTER_MS after the failure), or a closed client.
   */
  dataConnection(address: string): DataConnection | undefined {
    if (this.closed || this.transport === "grpc") return undefined;
    const broker = this.metadata.brokerAt(address);
    if (broker === undefined || broker.dataPort <= 0) return undefined;
    let connection = this.dataConnections.get(address);
    if (connection !== undefined && connection.address !== formatAddress(broker.host, broker.dataPort)) {
      // The broker came back with another data port: requests on the old one are retried on the new one.
      connection.close(new ConnectionError(connection.address, "the broker now advertises another data port"));
      connection = undefined;
    }
    if (connection === undefined) {
      connection = new DataConnection({ host: broker.host, port: broker.dataPort, clock: this.clock, scheduler: this.scheduler });
      this.dataConnections.set(address, connection);
    }
    const failedAtMs = connection.connectFailedAtMs;
    if (failedAtMs === undefined) return connection;
    // It failed before: after a while, try it again without risking requests on it.
    if (this.clock.now() - failedAtMs >= DATA_LISTENER_RETRY_AFTER_MS) void connection.probe();
    return undefined;
  }

  /** The connection to a partition's leader, or undefined when metadata knows no leader. */
  leaderConnection(topic: string, partition: number): BrokerConnection | undefined {
    const leader = this.metadata.leaderOf(topic, partition);
    return leader === undefined ? undefined : this.connection(leader.address);
  }

  /**
   * Runs `call` against some broker: known brokers first, then bootstrap addresses, moving on
   * to the next one when a broker cannot be reached. Returns the host that answered, too.
   */
  async anyBroker<T>(call: (connection: BrokerConnection) => Promise<T>): Promise<{ result: T; host: string }> {
    const candidates: HostPort[] = [
      ...this.metadata.allBrokers().map((b) => ({ host: b.host, port: b.port })),
      ...this.rotate(this.bootstrap),
    ];
    const seen = new Set<string>();
    let lastError: unknown;
    for (const candidate of candidates) {
      const address = formatAddress(candidate.host, candidate.port);
      if (seen.has(address)) continue;
      seen.add(address);
      try {
        return { result: await call(this.connection(address)), host: candidate.host };
      } catch (error) {
        // Only "could not reach it" moves on to another broker; an answer is an answer.
        if (!(error instanceof SluiceError) || error.errorName !== "NETWORK_EXCEPTION") throw error;
        lastError = error;
      }
    }
    throw lastError ?? new SluiceError("NETWORK_EXCEPTION", "no broker to ask");
  }

  /**
   * Runs `call` against any broker, retrying retriable failures with the retry policy until
   * `timeoutMs` has passed. Only for calls that are safe to repeat (reads).
   */
  async withRetries<T>(what: string, timeoutMs: number, call: (connection: BrokerConnection) => Promise<T>): Promise<T> {
    const deadlineMs = this.clock.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ClientClosedError("client");
      try {
        return (await this.anyBroker(call)).result;
      } catch (error) {
        const decision = this.retry.decide(error, attempt, this.clock.now(), deadlineMs, this.random);
        if (!decision.retry) throw error;
        await this.sleep(decision.delayMs);
      }
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.after(ms, resolve));
  }

  /** Whether metadata is older than METADATA_MAX_AGE_MS. */
  get metadataStale(): boolean {
    return this.clock.now() - this.metadata.updatedMs > METADATA_MAX_AGE_MS;
  }

  /**
   * Refreshes metadata for `topics` and every topic asked about before. Concurrent calls share
   * one request; a call made while a request is running (which may not name its topics) gets
   * the next one.
   */
  refreshMetadata(topics: readonly string[] = []): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError("client"));
    let added = false;
    for (const topic of topics) {
      if (!this.interest.has(topic)) {
        this.interest.add(topic);
        added = true;
      }
    }
    if (this.refreshing === undefined) {
      this.refreshing = this.fetchMetadata().finally(() => {
        this.refreshing = undefined;
      });
      return this.refreshing;
    }
    if (!added && this.refreshAgain === undefined) return this.refreshing;
    this.refreshAgain ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.refreshAgain = undefined;
        return this.refreshMetadata();
      });
    return this.refreshAgain;
  }

  private async fetchMetadata(): Promise<void> {
    const request: api.MetadataRequestInput = { topics: [...this.interest] };
    const { result, host } = await this.anyBroker((c) => c.metadata(request, this.requestTimeoutMs));
    this.metadata.update(result, this.clock.now(), host);
  }

  /**
   * The topic's metadata, refreshing (with backoff) until it is known or `maxWaitMs` passed.
   * A topic the cluster says does not exist, after the wait, rejects with that error.
   */
  async topic(name: string, maxWaitMs: number): Promise<TopicInfo> {
    const cached = this.metadata.topic(name);
    if (cached !== undefined) return cached;
    const deadlineMs = this.clock.now() + maxWaitMs;
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        await this.refreshMetadata([name]);
        const state = this.metadata.topicState(name);
        if (state?.kind === "known") return state.info;
        failure = state?.error ?? new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" is not in the cluster's metadata`);
      } catch (error) {
        failure = error;
      }
      const decision = this.retry.decide(failure, attempt, this.clock.now(), deadlineMs, this.random);
      if (!decision.retry) {
        if (failure instanceof SluiceError && failure.errorName === "UNKNOWN_TOPIC_OR_PARTITION") {
          throw new SluiceError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`, { cause: failure });
        }
        throw isRetriable(failure) ? new TimeoutError(`waiting for metadata of topic "${name}"`, maxWaitMs, { cause: failure }) : failure;
      }
      await this.sleep(decision.delayMs);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
    for (const connection of this.dataConnections.values()) connection.close();
    this.dataConnections.clear();
  }

  private rotate<T>(items: readonly T[]): T[] {
    const start = this.nextBootstrap++ % items.length;
    return [...items.slice(start), ...items.slice(0, start)];
  }
}
