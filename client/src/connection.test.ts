// Proves that a BrokerConnection grants the broker CLIENT_RECEIVE_WINDOW_BYTES of HTTP/2 receive
// window, per stream (its SETTINGS) and per connection (its WINDOW_UPDATE), before its first call,
// as seen by a raw HTTP/2 server on loopback: fetch responses are not paced at 64 KiB.
import { once } from "node:events";
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerConnection } from "./connection.js";
import { CLIENT_RECEIVE_WINDOW_BYTES } from "./limits.js";

const HTTP2_DEFAULT_WINDOW_BYTES = 65_535;

let server: Http2Server | undefined;
let connection: BrokerConnection | undefined;

afterEach(async () => {
  connection?.close();
  connection = undefined;
  if (server !== undefined) {
    const closing = once(server, "close");
    server.close();
    await closing;
    server = undefined;
  }
});

interface Seen {
  readonly streamWindowBytes: number | undefined;
  readonly connectionWindowBytes: number | undefined;
  readonly path: string | undefined;
}

/** A server that answers every gRPC call with UNIMPLEMENTED and reports what the client granted. */
async function startWindowProbe(): Promise<{ address: string; firstCall: Promise<Seen> }> {
  const h2 = createServer();
  server = h2;
  h2.on("session", (session) => session.on("error", () => undefined));
  const firstCall = new Promise<Seen>((resolve) => {
    h2.on("stream", (stream: ServerHttp2Stream, headers) => {
      resolve({
        streamWindowBytes: stream.session?.remoteSettings.initialWindowSize,
        connectionWindowBytes: stream.session?.state.remoteWindowSize,
        path: headers[":path"],
      });
      stream.on("error", () => undefined);
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "12", "grpc-message": "window probe" }));
      stream.end();
    });
  });
  h2.listen(0, "127.0.0.1");
  await once(h2, "listening");
  const { port } = h2.address() as AddressInfo;
  return { address: `127.0.0.1:${port}`, firstCall };
}

describe("BrokerConnection HTTP/2 receive windows", () => {
  it("grants CLIENT_RECEIVE_WINDOW_BYTES per stream and per connection before the first fetch", async () => {
    const probe = await startWindowProbe();
    connection = new BrokerConnection(probe.address);
    const call = connection.fetch({ maxWaitMs: 0, minBytes: 1, maxBytes: 1024, topics: [] }, 5_000);
    const seen = await probe.firstCall;
    await expect(call.response).rejects.toThrow();

    expect(seen.path).toBe("/sluice.v1.Sluice/Fetch");
    expect(CLIENT_RECEIVE_WINDOW_BYTES).toBeGreaterThan(HTTP2_DEFAULT_WINDOW_BYTES);
    expect(seen.streamWindowBytes).toBe(CLIENT_RECEIVE_WINDOW_BYTES);
    expect(seen.connectionWindowBytes).toBe(CLIENT_RECEIVE_WINDOW_BYTES);
  });
});
