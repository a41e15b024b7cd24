/**
 * Every number the broker Pods are built with, named, with the reason for its value.
 */

/** The image's non-root user and group (Dockerfile: useradd --uid 10001). */
export const BROKER_UID = 10001;
export const BROKER_GID = 10001;

/**
 * Seconds the preStop hook waits before the broker gets SIGTERM. Endpoint removal reaches
 * kube-proxy and client DNS caches asynchronously (typically 1–3 s); while it propagates, new
 * connections may still arrive at this Pod and must be served rather than refused.
 */
export const PRESTOP_DELAY_SECONDS = 5;
/** The broker's own default of shutdown-timeout-ms (broker/src/config.ts). */
export const BROKER_SHUTDOWN_TIMEOUT_MS_DEFAULT = 10_000;
/**
 * Seconds past the broker's shutdown timeout for what follows it: closing segments, the final
 * fsync and the clean-shutdown checkpoint. A kill during that work costs a log recovery scan on
 * the next start, so the margin is generous.
 */
export const SHUTDOWN_MARGIN_SECONDS = 20;

/** gRPC health probe timings. The broker answers the health service from memory. */
export const PROBE_TIMEOUT_SECONDS = 5;
export const READINESS_PERIOD_SECONDS = 5;
/** Three misses (15 s) before a broker leaves the client Service. */
export const READINESS_FAILURE_THRESHOLD = 3;
export const LIVENESS_PERIOD_SECONDS = 10;
/** Six misses (60 s) before a restart: a broker under heavy fsync load may answer slowly. */
export const LIVENESS_FAILURE_THRESHOLD = 6;
export const STARTUP_PERIOD_SECONDS = 5;
/**
 * 120 × 5 s = 10 minutes to start: after an unclean stop the broker scans and CRC-checks every
 * segment written since the last checkpoint before it serves, and liveness must not kill it
 * during that recovery.
 */
export const STARTUP_FAILURE_THRESHOLD = 120;

/** Keep a few old StatefulSet revisions for `kubectl rollout undo`; the default 10 is clutter. */
export const REVISION_HISTORY_LIMIT = 5;
/** Size of the /tmp emptyDir (the root file system is read-only); Node writes nothing large there. */
export const TMP_VOLUME_SIZE = "64Mi";
/** Preference weight of spreading brokers over Nodes / racks when the scheduler scores Nodes (1–100). */
export const ANTI_AFFINITY_WEIGHT = 100;
