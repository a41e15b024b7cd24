/**
 * The gRPC server: binds the registry's services on host:port with the shared message-size
 * limits (`grpcChannelOptions`, both ends must agree) and shuts down in two steps — graceful
 * (stop accepting, let in-flight calls finish) bounded by a timeout, then forced.
 *
 * Garbage on the port: grpc-js rejects a connection whose bytes are not an HTTP/2 preface and
 * closes only that socket; the http2 server's session and socket errors are handled inside
 * grpc-js, so junk cannot crash the process (e2e-tested with a raw TCP socket).
 */
import type { Http2Server, ServerHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { grpcChannelOptions } from "@sluice/protocol";
import type { Logger } from "../logger.js";
import { SERVER_CONNECTION_WINDOW_BYTES, SERVER_STREAM_WINDOW_BYTES } from "./limits.js";
import type { BoundService } from "./registry.js";

export interface GrpcServer {
  readonly port: number;
  /** Stops accepting and waits up to `timeoutMs` for in-flight calls; then cancels the rest. */
  shutdown(timeoutMs: number): Promise<"graceful" | "forced">;
  forceShutdown(): void;
}

/**
 * Raises the HTTP/2 receive windows of every connection (SERVER_STREAM_WINDOW_BYTES per stream,
 * SERVER_CONNECTION_WINDOW_BYTES per connection). With HTTP/2's 64 KiB default a producer must
 * wait for a WINDOW_UPDATE from the broker's event loop every 64 KiB, so any pause there (a CRC
 * check of a large batch, a GC) stalls the sender; larger windows let it keep the socket full.
 * grpc-js has no server option for this, so the sessions are reached through its http2 servers;
 * if that internal shape ever changes, the defaults simply stay (logged, not fatal).
 */
function widenReceiveWindows(server: grpc.Server, logger: Logger): void {
  const internals = server as unknown as { http2Servers?: unknown };
  const servers = internals.http2Servers;
  if (!(servers instanceof Map)) {
    logger.warn("grpc-js internals changed: HTTP/2 receive windows stay at their defaults");
    return;
  }
  for (const h2 of servers.keys() as IterableIterator<Http2Server>) {
    h2.on("session", (session: ServerHttp2Session) => {
      try {
        session.settings({ initialWindowSize: SERVER_STREAM_WINDOW_BYTES });
        session.setLocalWindowSize(SERVER_CONNECTION_WINDOW_BYTES);
      } catch (error) {
        // A session that is already closing (e.g. garbage on the port) cannot take settings.
        logger.debug({ err: error }, "could not widen HTTP/2 windows of a session");
      }
    });
  }
}

export async function startGrpcServer(services: readonly BoundService[], host: string, port: number, logger: Logger): Promise<GrpcServer> {
  const server = new grpc.Server({ ...grpcChannelOptions });
  for (const { definition, implementation } of services) server.addService(definition, implementation);
  const address = host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error !== null) reject(error);
      else resolve(bound);
    });
  });
  widenReceiveWindows(server, logger);
  let stopped = false;
  return {
    port: boundPort,
    shutdown(timeoutMs: number): Promise<"graceful" | "forced"> {
      if (stopped) return Promise.resolve("graceful");
      stopped = true;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ timeoutMs }, "in-flight calls did not finish in time; cancelling them");
          server.forceShutdown();
          resolve("forced");
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve("graceful");
        });
      });
    },
    forceShutdown(): void {
      stopped = true;
      server.forceShutdown();
    },
  };
}
