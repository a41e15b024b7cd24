/**
 * The data listener: Produce and Fetch over plain TCP next to the gRPC server, on `data-port`
 * of the same host (protocol/src/data-frame.ts is the protocol). It exists for speed — grpc-js's
 * HTTP/2 layer is the broker's largest CPU cost per byte — and carries the same protobuf messages
 * to the same handlers, so the two paths cannot disagree. gRPC stays the complete API (admin,
 * groups, metadata, health) and the fallback; clients learn this port from Metadata
 * (`BrokerInfo.data_port`, 0 when there is none).
 *
 * Each accepted socket becomes a DataConnection (data/connection.ts: handshake, dispatch,
 * flow control, error handling) with TCP_NODELAY (answers are small and latency matters) and
 * TCP keepalive (a vanished client must not hold its connection forever).
 *
 * Shutdown mirrors the gRPC server's: once the broker drains (ctx.drain), the listener stops
 * accepting and every connection drains (refuses new requests, answers in-flight ones, ends);
 * `shutdown(timeoutMs)` waits for the connections to close, then destroys the rest ("forced").
 *
 * Garbage on the port fails only its own connection (ERROR with correlation id 0, then close);
 * socket errors are handled per connection, so nothing a client sends can crash the process.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { BrokerContext } from "./context.js";
import { DataConnection, type DataConnectionHooks } from "./data/connection.js";
import { acceptWithUserReads } from "./data/user-reads.js";
import { DATA_CONNECTION_KEEPALIVE_MS } from "./limits.js";

export interface DataListener {
  /** The bound port (the OS's choice when asked for 0). */
  readonly port: number;
  /** Stops accepting, drains every connection and waits up to `timeoutMs`; then destroys the rest. */
  shutdown(timeoutMs: number): Promise<"graceful" | "forced">;
  forceShutdown(): void;
}

export async function startDataListener(ctx: BrokerContext, host: string, port: number, hooks: DataConnectionHooks): Promise<DataListener> {
  const connections = new Set<DataConnection>();
  // pauseOnConnect: nothing is read before the socket moves to one that reads into our buffers.
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: DATA_CONNECTION_KEEPALIVE_MS });
  server.on("connection", (accepted: Socket) => {
    const reads: { connection?: DataConnection } = {};
    const { socket, userReads } = acceptWithUserReads(accepted, {
      // The socket asks for its first buffer while it is built, before the connection exists.
      target: () => reads.connection?.readTarget(),
      callback: (bytes, buffer) => reads.connection?.onRead(bytes, buffer),
    }, { allowHalfOpen: true, keepAliveInitialDelayMs: DATA_CONNECTION_KEEPALIVE_MS });
    const connection = new DataConnection(socket, ctx, hooks, userReads);
    reads.connection = connection;
    connections.add(connection);
    ctx.metrics.dataConnections.inc();
    void connection.closed.then(() => {
      connections.delete(connection);
      ctx.metrics.dataConnections.dec();
    });
    if (ctx.drain.draining) connection.drain();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => ctx.logger.error({ err: error }, "data listener error"));
  const bound = (server.address() as AddressInfo).port;

  const stopAccepting = (): void => {
    if (server.listening) server.close();
  };
  const onDrain = (): void => {
    stopAccepting();
    for (const connection of connections) connection.drain();
  };
  ctx.drain.signal.addEventListener("abort", onDrain, { once: true });

  return {
    port: bound,
    async shutdown(timeoutMs: number): Promise<"graceful" | "forced"> {
      ctx.drain.signal.removeEventListener("abort", onDrain);
      onDrain();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"forced">((resolve) => {
        timer = setTimeout(() => resolve("forced"), timeoutMs);
      });
      const closed = Promise.all([...connections].map((c) => c.closed)).then(() => "graceful" as const);
      const how = await Promise.race([closed, timedOut]);
      clearTimeout(timer);
      if (how === "forced") {
        ctx.logger.warn({ timeoutMs, connections: connections.size }, "data connections did not finish in time; closing them");
        for (const connection of connections) connection.destroy();
        await Promise.all([...connections].map((c) => c.closed));
      }
      return how;
    },
    forceShutdown(): void {
      ctx.drain.signal.removeEventListener("abort", onDrain);
      stopAccepting();
      for (const connection of connections) connection.destroy();
    },
  };
}
