// Proves acceptWithUserReads on this Node: a connection accepted with pauseOnConnect moves to a
// Socket whose reads land in the buffers we supply (the shared one, or a target we name), loses
// no byte sent before or after the move, still emits 'end' on the client's half-close and can
// answer after it, and no longer holds the server's close open (the server stops counting it).
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { acceptWithUserReads } from "./user-reads.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Accepted {
  socket: Socket;
  userReads: boolean;
  readonly received: Buffer[];
  readonly viaTarget: number[];
  /** Set to name the next read's target. */
  target: Buffer | undefined;
}

async function serverWithUserReads(): Promise<{ server: Server; port: number; accepted: Promise<Accepted> }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  servers.push(server);
  const accepted = new Promise<Accepted>((resolve) => {
    server.once("connection", (raw: Socket) => {
      const a: Accepted = { socket: raw, userReads: false, received: [], viaTarget: [], target: undefined };
      let asked: Uint8Array | undefined;
      const moved = acceptWithUserReads(raw, {
        target: () => (asked = a.target),
        callback: (bytes, buffer) => {
          if (asked !== undefined && buffer === asked) a.viaTarget.push(bytes);
          a.received.push(Buffer.from(buffer.subarray(0, bytes))); // copied: the buffer is reused
        },
      }, { allowHalfOpen: true, keepAliveInitialDelayMs: 60_000 });
      a.socket = moved.socket;
      a.userReads = moved.userReads;
      sockets.push(moved.socket);
      resolve(a);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, accepted };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => resolve(socket));
    socket.once("error", reject);
    sockets.push(socket);
  });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe("acceptWithUserReads", () => {
  it("reads into the supplied buffers on this Node, losing no byte sent before or after the move", async () => {
    const { port, accepted } = await serverWithUserReads();
    const client = await dial(port);
    client.write("sent-before-the-move;");
    const a = await accepted;
    expect(a.userReads).toBe(true);
    client.write("sent-after;");
    await until(() => Buffer.concat(a.received).toString() === "sent-before-the-move;sent-after;");
  });

  it("lands a read in the named target when there is one", async () => {
    const { port, accepted } = await serverWithUserReads();
    const client = await dial(port);
    const a = await accepted;
    const target = Buffer.alloc(1 << 20);
    a.target = target; // asked for after each read: the read after "x" lands in it
    client.write("x");
    await until(() => a.received.length === 1);
    const payload = Buffer.alloc(100_000, 7);
    client.write(payload);
    await until(() => a.received.reduce((n, b) => n + b.length, 0) === 1 + payload.length);
    expect(a.viaTarget.length).toBeGreaterThan(0);
    expect(target.subarray(0, a.viaTarget[0]!).every((b) => b === 7)).toBe(true);
  });

  it("emits 'end' on the client's half-close and can still answer it", async () => {
    const { port, accepted } = await serverWithUserReads();
    const client = await dial(port);
    const a = await accepted;
    const answered = new Promise<string>((resolve) => {
      let text = "";
      client.on("data", (chunk: Buffer) => (text += chunk.toString()));
      client.on("end", () => resolve(text));
    });
    a.socket.on("end", () => a.socket.end(`got ${Buffer.concat(a.received).toString()}`));
    client.end("bye");
    expect(await answered).toBe("got bye");
  });

  it("leaves the server's connection count: close() completes while the moved socket is open", async () => {
    const { server, port, accepted } = await serverWithUserReads();
    await dial(port);
    const a = await accepted;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    servers.splice(servers.indexOf(server), 1);
    await closed;
    expect(a.socket.destroyed).toBe(false);
  });
});
