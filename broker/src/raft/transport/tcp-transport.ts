/**
 * The inter-broker Raft transport over raw TCP (DESIGN.md: gRPC framing tops out near 4,500
 * small calls/s; raw TCP on loopback moves ~3.6 GB/s). One connection per broker pair carries
 * every group's messages in both directions, framed as in codec.ts.
 *
 * Connections: the broker with the lower id dials, the higher one accepts, so a pair never
 * races into two connections. The dialer opens with a hello (its id, the id it expects to
 * reach); the acceptor checks it (known peer, right direction, right version) and answers with
 * its own hello. Only then does either side send envelopes. A new hello from a peer that
 * already has a connection replaces the old one (the peer restarted). A lost or refused
 * connection is redialled with exponential backoff and jitter.
 *
 * Sending: each `send` encodes one envelope into frames and writes them between cork() and
 * uncork(), so a pass's messages leave in one writev; large entry payloads are written by
 * reference. Backpressure: once a peer's socket holds more than `sendQueueBytesMax` unsent
 * bytes, envelopes to it are dropped (and `send` says so) instead of growing memory.
 * Receiving: `pauseInbound` stops reading every socket, so a slow driver pushes back on the
 * senders through TCP flow control.
 *
 * Faults: a frame that fails to decode (bad length, CRC, structure) or a wrong hello drops
 * that connection with a logged, counted FrameDecodeError / HandshakeError; the process and
 * the other connections carry on.
 *
 * Network: only what `host`/peer addresses say; tests and benchmarks use 127.0.0.1.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { BrokerEnvelope } from "../core/multi-group.js";
import { SeededRandom, type Random } from "../core/random.js";
import type { NodeId } from "../core/types.js";
import { decodeFrameBody, encodeEnvelopeFrames, encodeHelloFrame, FRAME_HEADER_BYTES, WIRE_VERSION, type Frame } from "./codec.js";
import { FrameDecodeError, HandshakeError } from "./errors.js";
import { FrameReader } from "./frame-reader.js";
import { transportLimits, type TransportLimits } from "./limits.js";
import type { EnvelopeHandler, PeerStats, Transport } from "./transport.js";

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TcpTransportOptions {
  readonly id: NodeId;
  /** Listen address; 127.0.0.1 by default. */
  readonly host?: string;
  /** Listen port; 0 (default) picks a free one (see `port`). */
  readonly port?: number;
  readonly peers?: Iterable<readonly [NodeId, PeerAddress]>;
  /** Jitter for reconnect backoff (seeded by the broker id when absent). */
  readonly random?: Random;
  readonly limits?: Partial<TransportLimits>;
  readonly logger?: Logger;
}

interface MutablePeerStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  envelopesDropped: number;
  connects: number;
  protocolErrors: number;
}

class PeerLink {
  address: PeerAddress | null = null;
  socket: Socket | null = null;
  open = false;
  backoffMs: number;
  reconnectTimer: NodeJS.Timeout | null = null;
  readonly stats: MutablePeerStats = {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    envelopesDropped: 0,
    connects: 0,
    protocolErrors: 0,
  };

  constructor(
    readonly id: NodeId,
    backoffMs: number,
  ) {
    this.backoffMs = backoffMs;
  }
}

export class TcpTransport implements Transport {
  readonly localId: NodeId;
  private readonly limits: TransportLimits;
  private readonly random: Random;
  private readonly logger: Logger | undefined;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly pendingSockets = new Set<Socket>();
  private handler: EnvelopeHandler | null = null;
  private inboundPaused = false;
  private closed = false;

  private constructor(
    options: TcpTransportOptions,
    private readonly server: Server,
  ) {
    this.localId = options.id;
    this.limits = { ...transportLimits, ...options.limits };
    this.random = options.random ?? new SeededRandom(options.id + 0x7a11);
    this.logger = options.logger;
  }

  /** Starts listening; peers in `options.peers` (and later `setPeer`) are dialled when this broker's id is lower. */
  static async start(options: TcpTransportOptions): Promise<TcpTransport> {
    const server = createServer({ noDelay: true });
    const transport = new TcpTransport(options, server);
    server.on("connection", (socket) => transport.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => transport.logger?.error({ err: error }, "raft transport server error"));
    for (const [id, address] of options.peers ?? []) transport.setPeer(id, address);
    return transport;
  }

  /** The port this transport listens on. */
  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  /** Adds or re-addresses a peer broker. */
  setPeer(id: NodeId, address: PeerAddress): void {
    if (id === this.localId) return;
    let link = this.links.get(id);
    if (link === undefined) {
      link = new PeerLink(id, this.limits.reconnectBackoffMsMin);
      this.links.set(id, link);
    }
    const moved = link.address !== null && (link.address.host !== address.host || link.address.port !== address.port);
    link.address = address;
    if (this.dials(id)) {
      if (moved && link.socket !== null) link.socket.destroy();
      else if (link.socket === null && link.reconnectTimer === null) this.dial(link);
    }
  }

  /** Forgets a peer and drops its connection. */
  removePeer(id: NodeId): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.links.delete(id);
    if (link.reconnectTimer !== null) clearTimeout(link.reconnectTimer);
    link.socket?.destroy();
  }

  isConnected(id: NodeId): boolean {
    return this.links.get(id)?.open === true;
  }

  peerStats(id: NodeId): PeerStats | undefined {
    const link = this.links.get(id);
    if (link === undefined) return undefined;
    return { ...link.stats, connected: link.open, queuedBytes: link.socket?.writableLength ?? 0 };
  }

  setHandler(handler: EnvelopeHandler | null): void {
    this.handler = handler;
  }

  send(envelope: BrokerEnvelope): boolean {
    const link = this.links.get(envelope.to);
    if (link === undefined || !link.open || link.socket === null || this.closed) {
      if (link !== undefined) link.stats.envelopesDropped++;
      return false;
    }
    const socket = link.socket;
    if (socket.writableLength > this.limits.sendQueueBytesMax) {
      link.stats.envelopesDropped++;
      return false;
    }
    const frames = encodeEnvelopeFrames(envelope, this.limits.frameTargetBytes);
    let complete = true;
    socket.cork();
    for (const chunks of frames) {
      let bytes = 0;
      for (const chunk of chunks) bytes += chunk.length;
      if (bytes - FRAME_HEADER_BYTES > this.limits.frameBytesMax) {
        // One message larger than a frame may be (an oversized snapshot): the peer would reject it.
        link.stats.envelopesDropped++;
        complete = false;
        this.logger?.warn({ peer: link.id, frameBytes: bytes }, "raft frame over frameBytesMax dropped");
        continue;
      }
      for (const chunk of chunks) socket.write(chunk);
      link.stats.framesSent++;
      link.stats.bytesSent += bytes;
    }
    socket.uncork();
    return complete;
  }

  pauseInbound(): void {
    if (this.inboundPaused) return;
    this.inboundPaused = true;
    for (const link of this.links.values()) if (link.open) link.socket?.pause();
  }

  resumeInbound(): void {
    if (!this.inboundPaused) return;
    this.inboundPaused = false;
    for (const link of this.links.values()) if (link.open) link.socket?.resume();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    for (const link of this.links.values()) {
      if (link.reconnectTimer !== null) clearTimeout(link.reconnectTimer);
      link.reconnectTimer = null;
      link.socket?.destroy();
      link.socket = null;
      link.open = false;
    }
    for (const socket of this.pendingSockets) socket.destroy();
    this.pendingSockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- connections

  /** The lower id dials. */
  private dials(peer: NodeId): boolean {
    return this.localId < peer;
  }

  private dial(link: PeerLink): void {
    if (this.closed || link.address === null || this.links.get(link.id) !== link) return;
    const socket = connect({ host: link.address.host, port: link.address.port, noDelay: true });
    link.socket = socket;
    link.open = false;
    socket.once("connect", () => socket.write(encodeHelloFrame(this.localId, link.id)));
    this.attach(socket, link.id, (peer) => {
      if (peer !== link.id) throw new HandshakeError(`dialled broker ${link.id} but broker ${peer} answered`);
      if (link.socket !== socket) throw new HandshakeError(`stale connection to broker ${peer}`);
      return link;
    });
    socket.on("close", () => {
      if (link.socket !== socket) return;
      link.socket = null;
      link.open = false;
      this.scheduleRedial(link);
    });
  }

  private scheduleRedial(link: PeerLink): void {
    if (this.closed || this.links.get(link.id) !== link || link.reconnectTimer !== null) return;
    const delay = link.backoffMs * (0.5 + this.random.nextFloat() * 0.5);
    link.backoffMs = Math.min(link.backoffMs * 2, this.limits.reconnectBackoffMsMax);
    link.reconnectTimer = setTimeout(() => {
      link.reconnectTimer = null;
      if (link.socket === null) this.dial(link);
    }, delay);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.pendingSockets.add(socket);
    socket.once("close", () => this.pendingSockets.delete(socket));
    this.attach(socket, null, (peer) => {
      const link = this.links.get(peer);
      if (link === undefined) throw new HandshakeError(`broker ${peer} is not a known peer of ${this.localId}`);
      if (this.dials(peer)) throw new HandshakeError(`broker ${peer} dialled ${this.localId}, but the lower id dials`);
      if (link.socket !== null && link.socket !== socket) link.socket.destroy(); // the peer restarted
      this.pendingSockets.delete(socket);
      link.socket = socket;
      socket.write(encodeHelloFrame(this.localId, peer));
      socket.on("close", () => {
        if (link.socket !== socket) return;
        link.socket = null;
        link.open = false;
      });
      return link;
    });
  }

  /**
   * Reads frames from `socket`. The first must be a hello naming this broker; `onHello` maps its
   * sender to the link (or throws HandshakeError). Envelopes are then handed to the handler.
   */
  private attach(socket: Socket, expectedPeer: NodeId | null, onHello: (peer: NodeId) => PeerLink): void {
    const reader = new FrameReader(this.limits.frameBytesMax);
    let link: PeerLink | null = null;
    const handshakeTimer = setTimeout(() => {
      if (link === null) this.dropConnection(socket, expectedPeer, new HandshakeError(`no hello within ${this.limits.handshakeTimeoutMs} ms`));
    }, this.limits.handshakeTimeoutMs);
    socket.once("close", () => clearTimeout(handshakeTimer));
    socket.on("error", (error) => {
      // Refused or reset connections are routine while peers restart; 'close' follows and redials.
      this.logger?.debug({ peer: expectedPeer ?? link?.id, err: error }, "raft transport socket error");
    });
    socket.on("data", (chunk: Buffer) => {
      if (link !== null) link.stats.bytesReceived += chunk.length;
      let frames: Frame[];
      try {
        frames = reader.push(chunk).map(decodeFrameBody);
      } catch (error) {
        if (!(error instanceof FrameDecodeError)) throw error;
        this.dropConnection(socket, link?.id ?? expectedPeer, error, link);
        return;
      }
      for (const frame of frames) {
        if (socket.destroyed) return;
        if (link === null) {
          try {
            if (frame.kind !== "hello") throw new HandshakeError("first frame is not a hello");
            if (frame.version !== WIRE_VERSION) throw new HandshakeError(`wire version ${frame.version}, expected ${WIRE_VERSION}`);
            if (frame.to !== this.localId) throw new HandshakeError(`hello addressed to broker ${frame.to}, this is ${this.localId}`);
            link = onHello(frame.from);
          } catch (error) {
            if (!(error instanceof HandshakeError)) throw error;
            this.dropConnection(socket, expectedPeer ?? (frame.kind === "hello" ? frame.from : null), error);
            return;
          }
          clearTimeout(handshakeTimer);
          link.open = true;
          link.backoffMs = this.limits.reconnectBackoffMsMin;
          link.stats.connects++;
          link.stats.bytesReceived += chunk.length;
          if (this.inboundPaused) socket.pause();
          this.logger?.debug({ peer: link.id }, "raft transport connected");
          continue;
        }
        if (frame.kind !== "envelope") {
          this.dropConnection(socket, link.id, new HandshakeError("second hello on an open connection"), link);
          return;
        }
        const { envelope } = frame;
        if (envelope.from !== link.id || envelope.to !== this.localId) {
          this.dropConnection(socket, link.id, new HandshakeError(`envelope ${envelope.from}->${envelope.to} on the ${link.id}->${this.localId} connection`), link);
          return;
        }
        link.stats.framesReceived++;
        this.handler?.(envelope);
      }
    });
  }

  private dropConnection(socket: Socket, peer: NodeId | null, error: Error, link: PeerLink | null = null): void {
    if (link !== null) link.stats.protocolErrors++;
    else if (peer !== null) {
      const known = this.links.get(peer);
      if (known !== undefined) known.stats.protocolErrors++;
    }
    this.logger?.warn({ peer, err: error }, "raft transport dropped a connection");
    socket.destroy();
  }
}
