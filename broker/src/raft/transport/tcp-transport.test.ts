// Proves the TCP transport delivers envelopes between two brokers on loopback (in order, large
// payloads intact), reconnects after either side restarts, and drops - without crashing - a
// connection that sends garbage or a wrong hello, while refusing to queue without bound.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Offset } from "@sluice/protocol";
import type { BrokerEnvelope, GroupId } from "../core/multi-group.js";
import type { Entry, NodeId, Term } from "../core/types.js";
import { encodeEnvelopeFrames, encodeHelloFrame } from "./codec.js";
import { FrameReader } from "./frame-reader.js";
import { TcpTransport } from "./tcp-transport.js";

const N1 = 1 as NodeId;
const N2 = 2 as NodeId;
const HOST = "127.0.0.1";

const open: TcpTransport[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function start(id: NodeId, port = 0, limits = {}): Promise<TcpTransport> {
  const t = await TcpTransport.start({ id, host: HOST, port, limits });
  open.push(t);
  return t;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function heartbeatEnvelope(from: NodeId, to: NodeId, seq: number): BrokerEnvelope {
  return { from, to, heartbeats: [{ group: seq as GroupId, term: 1 as Term, commit: seq as Offset, readSeq: 0 }], heartbeatResponses: [], messages: [] };
}

function appendEnvelope(from: NodeId, to: NodeId, payload: Buffer): BrokerEnvelope {
  const entry: Entry = { kind: "data", term: 2 as Term, baseOffset: 10 as Offset, lastOffset: 19 as Offset, sizeBytes: payload.length, data: payload };
  return {
    from,
    to,
    heartbeats: [],
    heartbeatResponses: [],
    messages: [
      {
        group: 7 as GroupId,
        message: { type: "append", from, to, term: 2 as Term, prevOffset: 9 as Offset, prevTerm: 1 as Term, entries: [entry], commit: 5 as Offset },
      },
    ],
  };
}

async function connectedPair(): Promise<{ t1: TcpTransport; t2: TcpTransport; got1: BrokerEnvelope[]; got2: BrokerEnvelope[] }> {
  const t1 = await start(N1);
  const t2 = await start(N2);
  const got1: BrokerEnvelope[] = [];
  const got2: BrokerEnvelope[] = [];
  t1.setHandler((e) => got1.push(e));
  t2.setHandler((e) => got2.push(e));
  t2.setPeer(N1, { host: HOST, port: t1.port });
  t1.setPeer(N2, { host: HOST, port: t2.port });
  await waitFor("connection 1<->2", () => t1.isConnected(N2) && t2.isConnected(N1));
  return { t1, t2, got1, got2 };
}

/** A raw socket that completes the hello as broker `as` towards `to`; returns the socket and what it reads. */
async function fakePeer(port: number, as: NodeId, to: NodeId): Promise<{ socket: Socket; frames: Buffer[] }> {
  const socket = connect({ host: HOST, port });
  sockets.push(socket);
  const frames: Buffer[] = [];
  const reader = new FrameReader();
  socket.on("data", (chunk: Buffer) => frames.push(...reader.push(chunk)));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(encodeHelloFrame(as, to));
  return { socket, frames };
}

describe("TcpTransport on loopback", () => {
  it("exchanges envelopes both ways over one connection, in order, with large payloads intact", async () => {
    const { t1, t2, got1, got2 } = await connectedPair();
    for (let i = 0; i < 200; i++) expect(t1.send(heartbeatEnvelope(N1, N2, i))).toBe(true);
    const payload = Buffer.alloc(256 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    expect(t2.send(appendEnvelope(N2, N1, payload))).toBe(true);

    await waitFor("200 heartbeats at 2", () => got2.length === 200);
    expect(got2.map((e) => e.heartbeats[0]!.group)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(got2.every((e) => e.from === N1 && e.to === N2)).toBe(true);

    await waitFor("append at 1", () => got1.length === 1);
    const m = got1[0]!.messages[0]!.message;
    if (m.type !== "append") throw new Error("expected an append");
    expect(Buffer.compare(Buffer.from((m.entries[0] as { data: Uint8Array }).data), payload)).toBe(0);
    expect(t1.peerStats(N2)).toMatchObject({ connected: true, framesSent: 200, framesReceived: 1, connects: 1, protocolErrors: 0 });
  });

  it("reconnects after the accepting peer restarts on the same address", async () => {
    const { t1, t2, got2 } = await connectedPair();
    const port = t2.port;
    await t2.close();
    open.splice(open.indexOf(t2), 1);
    await waitFor("1 sees 2 gone", () => !t1.isConnected(N2));
    expect(t1.send(heartbeatEnvelope(N1, N2, 1))).toBe(false); // nobody to send to: dropped, and said so

    const t2b = await start(N2, port);
    const got2b: BrokerEnvelope[] = [];
    t2b.setHandler((e) => got2b.push(e));
    t2b.setPeer(N1, { host: HOST, port: t1.port });
    await waitFor("redial to the new 2", () => t1.isConnected(N2) && t2b.isConnected(N1));
    expect(t1.send(heartbeatEnvelope(N1, N2, 42))).toBe(true);
    await waitFor("delivery after reconnect", () => got2b.length === 1);
    expect(got2b[0]!.heartbeats[0]!.group).toBe(42);
    expect(got2).toHaveLength(0);
    expect(t1.peerStats(N2)!.connects).toBe(2);
  });

  it("takes a new connection from a restarted dialling peer, replacing the old one", async () => {
    const { t1, t2, got2 } = await connectedPair();
    await t1.close();
    open.splice(open.indexOf(t1), 1);
    const t1b = await start(N1);
    t1b.setPeer(N2, { host: HOST, port: t2.port });
    t2.setPeer(N1, { host: HOST, port: t1b.port });
    await waitFor("new 1 connected", () => t1b.isConnected(N2) && t2.isConnected(N1));
    expect(t1b.send(heartbeatEnvelope(N1, N2, 5))).toBe(true);
    await waitFor("delivery from the new 1", () => got2.length === 1);
    const got1b: BrokerEnvelope[] = [];
    t1b.setHandler((e) => got1b.push(e));
    expect(t2.send(heartbeatEnvelope(N2, N1, 6))).toBe(true);
    await waitFor("delivery to the new 1", () => got1b.length === 1);
  });

  it("drops a connection that sends garbage, a bad frame or a wrong hello, and keeps serving the others", async () => {
    const { t1, t2, got2 } = await connectedPair();
    // 1. Pure garbage from a stranger.
    const stranger = connect({ host: HOST, port: t2.port });
    sockets.push(stranger);
    stranger.on("error", () => undefined);
    const strangerClosed = new Promise<void>((r) => stranger.once("close", () => r()));
    stranger.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await strangerClosed;

    // 2. A hello from a broker that is not a peer.
    const unknown = await fakePeer(t2.port, 9 as NodeId, N2);
    await new Promise<void>((r) => unknown.socket.once("close", () => r()));
    expect(unknown.frames).toHaveLength(0);

    // 3. A hello addressed to another broker.
    const misaddressed = await fakePeer(t2.port, N1, 5 as NodeId);
    await new Promise<void>((r) => misaddressed.socket.once("close", () => r()));

    // The real connection is untouched by all of that.
    expect(t1.send(heartbeatEnvelope(N1, N2, 3))).toBe(true);
    await waitFor("delivery after garbage", () => got2.length === 1);

    // 4. A peer that passes the hello, then sends a frame with a broken CRC.
    const t3 = await start(3 as NodeId);
    t3.setPeer(N1, { host: HOST, port: 1 }); // never reachable: 1 would dial 3, so this is inbound-only
    const fake = await fakePeer(t3.port, N1, 3 as NodeId);
    await waitFor("hello answered", () => fake.frames.length === 1);
    const frame = Buffer.concat(encodeEnvelopeFrames(heartbeatEnvelope(N1, 3 as NodeId, 1)).flat());
    frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 0x01;
    const closed = new Promise<void>((r) => fake.socket.once("close", () => r()));
    fake.socket.write(frame);
    await closed;
    expect(t3.peerStats(N1)).toMatchObject({ protocolErrors: 1, connected: false, framesReceived: 0 });
  });

  it("refuses to queue without bound for a peer that stops reading", async () => {
    const t2 = await start(N2, 0, { sendQueueBytesMax: 1024 * 1024 });
    t2.setPeer(N1, { host: HOST, port: 1 });
    const fake = await fakePeer(t2.port, N1, N2);
    await waitFor("hello answered", () => fake.frames.length === 1);
    fake.socket.pause(); // stop reading: the kernel buffers fill, then the socket queue grows
    const payload = Buffer.alloc(256 * 1024, 1);
    let refused = 0;
    for (let i = 0; i < 400 && refused === 0; i++) if (!t2.send(appendEnvelope(N2, N1, payload))) refused++;
    expect(refused).toBe(1);
    const stats = t2.peerStats(N1)!;
    expect(stats.envelopesDropped).toBe(1);
    expect(stats.queuedBytes).toBeLessThanOrEqual(1024 * 1024 + 300 * 1024);
  });
});
