/**
 * Every bound and default of the operator, with the reason for its value (STYLE.md habit 4).
 * Flags in config.ts may override the ones marked "default".
 */

/** One apiserver request; a local apiserver answers in milliseconds, so this means it is wedged. */
export const KUBE_REQUEST_TIMEOUT_MS = 30_000;
/** Keep-alive connections to the apiserver: workers plus watches plus leader election, with room. */
export const KUBE_SOCKETS_MAX = 32;

/** Default reconcile workers per kind: enough to overlap apiserver and broker round trips on 2 cores. */
export const WORKERS_DEFAULT = 4;
/** More workers than this only adds contention on the apiserver and the brokers' admin queue. */
export const WORKERS_MAX = 64;

/** First retry of a failed key: quick enough that a transient conflict (409) heals at once. */
export const BACKOFF_BASE_MS = 250;
/**
 * Longest wait between retries of one key: a cluster back from an outage is noticed within a
 * minute, and a broken object costs at most one reconcile a minute.
 */
export const BACKOFF_MAX_MS = 60_000;

/** Default full resync: every object is reconciled again this often, so drift made behind the operator's back heals. */
export const RESYNC_PERIOD_SECONDS_DEFAULT = 300;
/** A faster resync than this would load the brokers' admin API for no benefit. */
export const RESYNC_PERIOD_SECONDS_MIN = 5;

/** An informer whose list or watch failed retries after this (doubling up to the cap). */
export const INFORMER_RESTART_BASE_MS = 500;
export const INFORMER_RESTART_MAX_MS = 30_000;

/**
 * Leader election defaults (client-go's): the Lease is valid 15 s after its last renewal; the
 * leader renews every 2 s and gives up leadership when it could not renew for 10 s, so it stops
 * before anyone else may start.
 */
export const LEASE_DURATION_SECONDS_DEFAULT = 15;
export const RENEW_DEADLINE_SECONDS_DEFAULT = 10;
export const RETRY_PERIOD_SECONDS_DEFAULT = 2;

/** How long a Topic whose Cluster is missing or paused waits before it is looked at again (Cluster events also wake it). */
export const CLUSTER_MISSING_REQUEUE_MS = 30_000;
/** While a Cluster's brokers are not all ready, its status is refreshed at least this often. */
export const CLUSTER_PROGRESS_REQUEUE_MS = 10_000;

/**
 * API discovery of monitoring.coreos.com/v1 (is the ServiceMonitor kind served?). A "served"
 * answer is trusted this long: it only changes when the Prometheus Operator is uninstalled.
 */
export const SERVICE_MONITOR_SERVED_TTL_MS = 60_000;
/**
 * A "not served" answer is trusted only this long: long enough that a burst of reconciles shares
 * one discovery request, short enough that a Cluster changed after the Prometheus Operator was
 * installed gets its ServiceMonitor in that same pass.
 */
export const SERVICE_MONITOR_NOT_SERVED_TTL_MS = 5_000;
/**
 * A Cluster that asks for a ServiceMonitor the apiserver does not serve is looked at again this
 * often, so installing the Prometheus Operator is noticed within a minute without touching the
 * Cluster (one discovery request and one apply pass per such Cluster per minute).
 */
export const SERVICE_MONITOR_RECHECK_MS = 60_000;

/** Admin calls from a reconcile: shorter than the SDK default so a dead cluster does not hold a worker for 30 s. */
export const ADMIN_TIMEOUT_MS = 10_000;
/** An Admin client unused this long is closed (its Cluster may be gone). */
export const ADMIN_IDLE_MS = 300_000;

/** Condition and status messages: the CRDs allow 32768 characters; long broker messages are cut here. */
export const STATUS_MESSAGE_CHARS_MAX = 4_096;
/** Event notes: events.k8s.io/v1 refuses notes over 1 KiB. */
export const EVENT_NOTE_CHARS_MAX = 1_024;

/** Graceful shutdown: in-flight reconciles get this long before the process exits anyway (the Pod grace period is 30 s). */
export const SHUTDOWN_TIMEOUT_MS = 20_000;
