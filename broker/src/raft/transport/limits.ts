/**
 * Every bound of the inter-broker Raft transport, named, with the reason for its value
 * (STYLE.md habit 4). `TcpTransport` takes overrides (tests lower some of them); these
 * defaults are what brokers run.
 */
export const transportLimits = {
  /**
   * Largest frame body we accept or send. One frame carries at least one whole Raft message,
   * and the largest messages are a metadata snapshot or an append with one oversized entry.
   * 64 MiB is 64 x the core's appendBytesMax; anything larger is a corrupt length prefix or a
   * misbehaving peer, and accepting it would let one peer make us buffer unbounded memory.
   */
  frameBytesMax: 64 * 1024 * 1024,
  /**
   * An envelope is split into frames of about this size (a frame closes once it crosses it).
   * The receiver buffers a whole frame before decoding, so smaller frames let a heartbeat behind
   * a burst of appends through sooner; 1 MiB (the core's appendBytesMax) still amortises the
   * per-frame header, CRC call and decode setup over a megabyte.
   */
  frameTargetBytes: 1024 * 1024,
  /**
   * Bytes queued in a peer's socket beyond which new envelopes to that peer are dropped (the
   * core retransmits, and the driver tells the leader the peer is unreachable so it stops
   * pipelining). 64 MiB = 4 x the core's per-follower inflightBytesMax: room for several
   * groups' pipelines, but a peer that stopped reading cannot pin unbounded memory.
   */
  sendQueueBytesMax: 64 * 1024 * 1024,
  /** First reconnect delay after a lost or refused connection: fast enough to hide a peer restart. */
  reconnectBackoffMsMin: 20,
  /** Reconnect delays double up to this: a down peer costs one connect attempt a second, not a storm. */
  reconnectBackoffMsMax: 1000,
  /** A connection that has not completed its hello exchange by then is dropped (a stuck or foreign peer). */
  handshakeTimeoutMs: 5000,
  /**
   * Entry payloads at least this large are handed to the socket by reference instead of being
   * copied into the frame (writev of the original bytes). Below it, a copy is cheaper than an
   * extra iovec.
   */
  zeroCopyBytesMin: 1024,
  /** Scratch chunk size for frame metadata; larger chunks only waste memory for small frames. */
  scratchBytesMax: 64 * 1024,
} as const;

export type TransportLimits = { -readonly [K in keyof typeof transportLimits]: number };
