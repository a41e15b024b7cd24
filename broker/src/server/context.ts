/**
 * What every RPC handler may use: the broker's identity and address, its partitions, topic
 * controller and group coordinators, metrics, logger, health and shutdown state. Handlers receive it as their first
 * argument and touch nothing else, which keeps them testable with a broker built in-process.
 */
import type { GroupCoordinatorRuntime } from "../group-runtime/runtime.js";
import type { Logger } from "../logger.js";
import type { BrokerMetrics } from "../metrics.js";
import type { TopicController } from "../metadata/topic-controller.js";
import type { PartitionRegistry } from "../partition/partition-registry.js";
import type { HealthState } from "./health-state.js";

export interface BrokerIdentity {
  readonly brokerId: number;
  readonly clusterId: string;
  /** The host clients should dial (Metadata, DescribeCluster). */
  readonly advertisedHost: string;
  /** The bound gRPC port (known once the server has bound). */
  port: number;
  /** The bound data-listener port (data-listener.ts); 0 while there is none (disabled, not started). */
  dataPort: number;
  readonly version: string;
}

/** Shutdown state shared by long-running handlers (long polls, produce streams). */
export interface DrainState {
  /** True once graceful shutdown has begun: long polls answer at once, streams stop reading. */
  readonly draining: boolean;
  /** Aborted when graceful shutdown begins. */
  readonly signal: AbortSignal;
}

export interface BrokerContext {
  readonly identity: BrokerIdentity;
  readonly partitions: PartitionRegistry;
  readonly topics: TopicController;
  /** Consumer-group coordinators (the Groups service). */
  readonly groups: GroupCoordinatorRuntime;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  readonly health: HealthState;
  readonly drain: DrainState;
  readonly nowMs: () => number;
}
