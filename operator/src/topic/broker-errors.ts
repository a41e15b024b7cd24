/**
 * What a failed Admin call means for a Topic's status (pure): a condition reason, a message that
 * says what to fix, and whether retrying can help.
 *
 *   error                                         reason                    retried
 *   broker unreachable, timed out                 ClusterUnreachable        yes, with backoff
 *   other retriable broker errors                 ClusterNotReady           yes, with backoff
 *   INVALID_CONFIG                                InvalidConfig             no: fix spec.config
 *   INVALID_TOPIC_EXCEPTION                       InvalidTopicName          no: fix the name
 *   INVALID_REPLICATION_FACTOR                    InvalidReplicationFactor  no: fix spec or add brokers
 *   INVALID_PARTITIONS                            InvalidPartitions         no: fix spec.partitions
 *   any other refusal                             BrokerRefused             no
 *   not a broker error (our bug, a library fault) ReconcileError            yes, with backoff
 *
 * "No" means the Topic waits for its spec to change (or the periodic resync) instead of
 * hammering the broker with a request it will refuse again.
 */
import { SluiceError } from "@sluice/protocol";

export interface BrokerFailure {
  readonly reason: string;
  readonly message: string;
  readonly retriable: boolean;
}

const unreachable = new Set(["NETWORK_EXCEPTION", "REQUEST_TIMED_OUT"]);

const refusals: Readonly<Record<string, { reason: string; hint: string }>> = {
  INVALID_CONFIG: { reason: "InvalidConfig", hint: "fix spec.config" },
  INVALID_TOPIC_EXCEPTION: { reason: "InvalidTopicName", hint: "choose another name (spec.topicName, or a new Topic)" },
  INVALID_REPLICATION_FACTOR: { reason: "InvalidReplicationFactor", hint: "lower spec.replicationFactor (a new Topic) or add brokers" },
  INVALID_PARTITIONS: { reason: "InvalidPartitions", hint: "fix spec.partitions" },
};

export function classifyBrokerError(error: unknown, bootstrap: string): BrokerFailure {
  if (error instanceof SluiceError) {
    if (unreachable.has(error.errorName)) {
      return { reason: "ClusterUnreachable", message: `cannot reach the cluster's brokers at ${bootstrap}: ${error.message}`, retriable: true };
    }
    if (error.retriable) return { reason: "ClusterNotReady", message: `the cluster answered ${error.errorName}: ${error.message}; retrying`, retriable: true };
    const refusal = refusals[error.errorName];
    if (refusal !== undefined) return { reason: refusal.reason, message: `the cluster refused the topic: ${error.message}; ${refusal.hint}`, retriable: false };
    return { reason: "BrokerRefused", message: `the cluster refused the change (${error.errorName}): ${error.message}`, retriable: false };
  }
  return { reason: "ReconcileError", message: error instanceof Error ? error.message : String(error), retriable: true };
}
