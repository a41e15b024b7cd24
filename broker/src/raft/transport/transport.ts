/**
 * How a broker's Raft driver talks to its peers: it hands over one `BrokerEnvelope` per peer
 * per pass (all groups' messages, heartbeats coalesced) and receives theirs. The real
 * implementation is TcpTransport (raw TCP, one connection per broker pair); the simulator
 * has its own in-memory network.
 *
 * Contract: delivery is best effort. An envelope may be dropped (peer down, its queue over the
 * bound, a frame over the size limit) - `send` says so by returning false, and Raft's
 * retransmission does the rest. What is delivered arrives whole, in the order sent per peer,
 * with `from` being the authenticated peer of the connection and `to` this broker.
 */
import type { BrokerEnvelope } from "../core/multi-group.js";
import type { NodeId } from "../core/types.js";

export type EnvelopeHandler = (envelope: BrokerEnvelope) => void;

export interface PeerStats {
  readonly connected: boolean;
  /** Frames written to / decoded from this peer's connection (one frame = one transport message). */
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Envelopes (or frames of them) not sent: no connection, queue over its bound, frame too large. */
  readonly envelopesDropped: number;
  /** Connections established (hello exchanged), including reconnects. */
  readonly connects: number;
  /** Connections dropped because a frame failed to decode or the handshake was wrong. */
  readonly protocolErrors: number;
  /** Bytes queued in the socket, not yet handed to the kernel. */
  readonly queuedBytes: number;
}

export interface Transport {
  readonly localId: NodeId;
  /** Sets who receives envelopes from peers (null: drop them). */
  setHandler(handler: EnvelopeHandler | null): void;
  /** Queues `envelope` for broker `envelope.to`; false when all or part of it was dropped. */
  send(envelope: BrokerEnvelope): boolean;
  /** Stops reading from peers (TCP backpressure) until resumeInbound(). */
  pauseInbound(): void;
  resumeInbound(): void;
  close(): Promise<void>;
}
