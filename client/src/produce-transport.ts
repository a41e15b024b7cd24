/**
 * How the producer gets Produce requests to one broker.
 *
 * `StreamProduceTransport` pipelines requests on one `ProduceStream` bidi stream, matching
 * answers by correlation id (they may come back in any order across partitions). It is robust
 * by construction: any stream failure (error, end, a request that outlives its timeout) fails
 * every request in flight on that stream with a retriable ConnectionError/TimeoutError and drops
 * the stream; the next request opens a new one. If the broker does not implement ProduceStream,
 * the transport switches to unary `Produce` calls for good.
 *
 * Ordered mode (`ordered`, for pipelined sends per partition): the stream asks the broker to
 * chain each partition's appends and to fail a partition for the rest of the stream once it
 * failed; `reset()` then drops the stream (failing what is in flight on it) so retries go on a
 * fresh one. A partition's sends are therefore only ever in flight on one stream.
 *
 * With acks=0 nothing is awaited: the request counts as done once it is handed to the stream.
 */
import { status as GrpcStatus, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import type { api } from "@sluice/protocol";
import type { BrokerConnection } from "./connection.js";
import type { ProduceFrame } from "./produce-request.js";
import { ConnectionError, TimeoutError, toClientError } from "./errors.js";
import type { Scheduler, TimerHandle } from "./runtime.js";

export interface ProduceTransport {
  /** Sends one request; resolves with the answer (undefined for acks=0) or rejects with a typed error. */
  send(request: ProduceFrame, timeoutMs: number): Promise<api.ProduceResponse | undefined>;
  close(): void;
}

/** Unary `Produce`: one gRPC call per request. */
export class UnaryProduceTransport implements ProduceTransport {
  constructor(private readonly connection: BrokerConnection) {}

  async send(request: ProduceFrame, timeoutMs: number): Promise<api.ProduceResponse | undefined> {
    const response = await this.connection.produce(request, timeoutMs);
    return request.acks === 0 ? undefined : response;
  }

  close(): void {}
}

interface Pending {
  readonly resolve: (response: api.ProduceResponse) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

export class StreamProduceTransport implements ProduceTransport {
  private stream: ClientDuplexStream<ProduceFrame, api.ProduceResponse> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private unary: UnaryProduceTransport | undefined;
  private closed = false;

  constructor(
    private readonly connection: BrokerConnection,
    private readonly scheduler: Scheduler,
    private readonly ordered = false,
  ) {}

  /** Whether answers keep per-partition order and poisoning holds (ordered stream, not unary). */
  get pipelines(): boolean {
    return this.ordered && this.unary === undefined;
  }

  /** Drops the current stream, failing its requests in flight (retriable); the next send opens a new one. */
  reset(reason: string): void {
    if (this.stream !== undefined) this.fail(this.stream, new ConnectionError(this.connection.address, reason));
  }

  /** Whether the broker turned out not to support ProduceStream (requests now go unary). */
  get usesUnary(): boolean {
    return this.unary !== undefined;
  }

  send(request: ProduceFrame, timeoutMs: number): Promise<api.ProduceResponse | undefined> {
    if (this.unary !== undefined) return this.unary.send(request, timeoutMs);
    if (this.closed) return Promise.reject(new ConnectionError(this.connection.address, "produce stream closed"));
    let stream: ClientDuplexStream<ProduceFrame, api.ProduceResponse>;
    try {
      stream = this.open();
    } catch (error) {
      return Promise.reject(toClientError(error, this.connection.address, "ProduceStream", timeoutMs));
    }
    const correlationId = this.nextCorrelationId++;
    const message: ProduceFrame = { acks: request.acks, timeoutMs: request.timeoutMs, topics: request.topics, correlationId, onEncoded: request.onEncoded };
    if (request.acks === 0) {
      return new Promise((resolve, reject) => {
        stream.write(message, (error: Error | null | undefined) => {
          if (error) reject(toClientError(error, this.connection.address, "ProduceStream", timeoutMs));
          else resolve(undefined);
        });
      });
    }
    return new Promise<api.ProduceResponse>((resolve, reject) => {
      const timer = this.scheduler.after(timeoutMs, () => {
        if (!this.pending.has(correlationId)) return;
        // The stream's state is unknown now; restart it so no late answer can be mistaken.
        this.fail(stream, new TimeoutError(`ProduceStream request ${correlationId} to ${this.connection.address}`, timeoutMs));
      });
      this.pending.set(correlationId, { resolve, reject, timer });
      stream.write(message);
    });
  }

  close(): void {
    this.closed = true;
    if (this.stream !== undefined) this.fail(this.stream, new ConnectionError(this.connection.address, "producer closed"));
  }

  private open(): ClientDuplexStream<ProduceFrame, api.ProduceResponse> {
    if (this.stream !== undefined) return this.stream;
    const stream = this.connection.openProduceStream(this.ordered);
    this.stream = stream;
    stream.on("data", (response: api.ProduceResponse) => {
      const waiter = this.pending.get(response.correlationId);
      if (waiter === undefined) return; // acks=0 answers, or answers to requests already failed
      this.pending.delete(response.correlationId);
      waiter.timer.cancel();
      waiter.resolve(response);
    });
    stream.on("error", (error: ServiceError) => {
      if (error.code === GrpcStatus.UNIMPLEMENTED && this.unary === undefined) {
        this.unary = new UnaryProduceTransport(this.connection);
      }
      this.fail(stream, toClientError(error, this.connection.address, "ProduceStream", 0));
    });
    stream.on("end", () => this.fail(stream, new ConnectionError(this.connection.address, "produce stream ended by the broker")));
    return stream;
  }

  /** Fails everything in flight on `stream` and drops it. Idempotent. */
  private fail(stream: ClientDuplexStream<ProduceFrame, api.ProduceResponse>, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    // UNIMPLEMENTED is "this broker has no stream": retrying through the unary path is fine.
    const failure = this.unary !== undefined && !(error instanceof ConnectionError) ? new ConnectionError(this.connection.address, "ProduceStream unsupported; retrying with Produce", undefined, { cause: error }) : error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of pending) {
      waiter.timer.cancel();
      waiter.reject(failure);
    }
    stream.removeAllListeners("data");
    stream.on("error", () => undefined); // a cancelled stream still reports CANCELLED
    stream.cancel();
  }
}
