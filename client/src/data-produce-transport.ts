/**
 * Produce requests to one broker over its data listener (data-connection.ts), with the contract
 * of an ordered StreamProduceTransport: requests are pipelined on one socket; the broker starts
 * each partition's appends in arrival order and fails a partition for the rest of the socket
 * once it failed, so `reset()` drops the socket (failing what is in flight on it, retriable) and
 * retries go on a fresh one; a socket failure or a request timeout fails every request in flight
 * with a retriable error. `pipelines` is true while requests go to the data listener.
 *
 * Fallback: the data connection comes from `dataConnection()` on every send (the cluster client
 * answers undefined when the broker has no data listener, the client uses gRPC only, or the
 * listener could not be reached recently); then requests go to `fallback`, the broker's gRPC
 * transport. Invariant: in ordered mode the transport leaves a route only once nothing is in
 * flight on it, so a partition's pipelined sends are never on two connections at once (their
 * order would then be up to two sockets). A route that fails fails all its requests at once, so
 * falling back happens right away; returning to the data listener waits for a gap in gRPC
 * traffic to that broker.
 *
 * With acks=0 a request counts as done once its frame is written.
 */
import type { api } from "@sluice/protocol";
import { DataConnection } from "./data-connection.js";
import { ConnectionError } from "./errors.js";
import type { ProduceFrame } from "./produce-request.js";
import type { ProduceTransport } from "./produce-transport.js";

/** The gRPC transport used when the data listener is not (StreamProduceTransport or UnaryProduceTransport). */
export interface FallbackProduceTransport extends ProduceTransport {
  /** Whether it keeps per-partition order for pipelined sends (absent: it does not). */
  readonly pipelines?: boolean;
  reset?(reason: string): void;
}

type Route = DataConnection | FallbackProduceTransport;

export class DataProduceTransport implements ProduceTransport {
  private current: Route | undefined;
  private readonly inFlight = new Map<Route, number>();
  /** Rejecters of this transport's requests not yet settled (close() fails them). */
  private readonly waiting = new Set<(error: Error) => void>();
  private closed = false;

  /**
   * `address`: the broker's gRPC address (for errors). `dataConnection`: the broker's data
   * connection when it should be used now. `ordered`: the producer pipelines per partition.
   */
  constructor(
    private readonly address: string,
    private readonly dataConnection: () => DataConnection | undefined,
    private readonly fallback: FallbackProduceTransport,
    private readonly ordered = true,
  ) {}

  /** Whether sends may pipeline per partition on the route the next send takes. */
  get pipelines(): boolean {
    const route = this.choose();
    return route instanceof DataConnection || route.pipelines === true;
  }

  /** Whether requests currently go to the data listener. */
  get usesDataListener(): boolean {
    return this.choose() instanceof DataConnection;
  }

  /** Drops the current route's socket or stream, failing its requests in flight (retriable). */
  reset(reason: string): void {
    const route = this.current;
    if (route === undefined) return;
    if (route instanceof DataConnection) route.reset(reason);
    else route.reset?.(reason);
  }

  send(request: ProduceFrame, timeoutMs: number): Promise<api.ProduceResponse | undefined> {
    if (this.closed) return Promise.reject(new ConnectionError(this.address, "produce transport closed"));
    const route = this.choose();
    this.current = route;
    this.inFlight.set(route, (this.inFlight.get(route) ?? 0) + 1);
    return new Promise((resolve, reject) => {
      this.waiting.add(reject);
      // Counted down before the caller hears of the outcome, so its next send sees the route idle.
      const settled = (): void => {
        this.waiting.delete(reject);
        const left = (this.inFlight.get(route) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(route);
        else this.inFlight.set(route, left);
      };
      let sent: Promise<api.ProduceResponse | undefined>;
      try {
        sent = route instanceof DataConnection ? route.produce(request, timeoutMs) : route.send(request, timeoutMs);
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        (response) => {
          settled();
          resolve(response);
        },
        (error: unknown) => {
          settled();
          reject(error instanceof Error ? error : new ConnectionError(this.address, String(error)));
        },
      );
    });
  }

  /** Fails this transport's requests in flight and later ones; the data connection itself belongs to the cluster client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const reject of waiting) reject(new ConnectionError(this.address, "producer closed"));
    this.fallback.close();
  }

  /** The route for the next send: the wanted one, unless leaving the current one would split a partition's sends. */
  private choose(): Route {
    const wanted: Route = this.dataConnection() ?? this.fallback;
    const current = this.current;
    if (current === undefined || current === wanted || !this.ordered) return wanted;
    return (this.inFlight.get(current) ?? 0) === 0 ? wanted : current;
  }
}
