/**
 * Named bounds of the gRPC server and the data listener (STYLE habit 4), each with why it has
 * that value.
 */

/**
 * Produce requests one ProduceStream may have in flight before the broker stops reading it
 * (HTTP/2 flow control then pushes back on the client). 64 keeps a pipelining producer busy across
 * group commits while bounding the memory one stream can pin to 64 × GRPC_MESSAGE_BYTES_MAX.
 */
export const PRODUCE_STREAM_INFLIGHT_MAX = 64;

/**
 * Topics one admin request may name: bounds the work of one call (each creation is an fsync of
 * the metadata file and a directory per partition).
 */
export const ADMIN_TOPICS_PER_REQUEST_MAX = 1_000;

/** Alterations one AlterConfigs request may carry per topic; far above the number of keys. */
export const CONFIG_ALTERATIONS_PER_TOPIC_MAX = 100;

/**
 * HTTP/2 receive window per stream (SETTINGS_INITIAL_WINDOW_SIZE) the broker grants clients:
 * 4 MiB lets a producer send several default-sized batches without waiting for the broker's
 * event loop to acknowledge each 64 KiB (HTTP/2's default), which GC pauses and CRC checks delay.
 */
export const SERVER_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * HTTP/2 receive window per connection: room for several streams' windows at once. It bounds the
 * request bytes one connection can have in the broker's buffers before they are read.
 */
export const SERVER_CONNECTION_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Requests one data-listener connection may have in flight (received, not yet answered and
 * written) before the broker stops reading it (TCP flow control then pushes back on the client).
 * The same bound as a ProduceStream: a connection is the data listener's stream.
 */
export const DATA_CONNECTION_INFLIGHT_MAX = PRODUCE_STREAM_INFLIGHT_MAX;

/**
 * The read buffer all data connections share (data/user-reads.ts): one socket read takes up to
 * this much. It can be shared because every read is consumed before the next one starts.
 */
export const DATA_READ_BUFFER_BYTES = 256 * 1024;

/**
 * A request frame with at least this much still to come is read straight into its payload (no
 * copy); smaller rests go through the shared read buffer, where several small frames share a read.
 */
export const DATA_DIRECT_READ_MIN_BYTES = 64 * 1024;

/**
 * After the broker ends a data connection (drain, protocol violation) it keeps reading and
 * discarding for at most this long, waiting for the client to close its side: closing a socket
 * with unread bytes makes the kernel send a reset, which can destroy answers the client has not
 * read yet. A client that does not close within 2 s is cut off.
 */
export const DATA_CONNECTION_LINGER_MS = 2_000;

/**
 * Idle time before TCP keepalive probes start on a data connection: a client that vanished
 * (power loss, network partition) must not hold a connection and its state forever.
 */
export const DATA_CONNECTION_KEEPALIVE_MS = 60_000;
