/**
 * @sluice/operator: the Kubernetes operator for Sluice. Named exports only. The map of files is
 * in operator/README.md.
 *
 * | module                               | what it holds                                              |
 * | ------------------------------------ | ---------------------------------------------------------- |
 * | main.ts                              | `sluice-operator` entry point (flags, signals, exit codes) |
 * | operator.ts                          | wiring: informers → queues → reconcilers, leader election  |
 * | config.ts                            | flag parsing and validation                                |
 * | cluster/                             | pure: Cluster/Topic types, child objects, Cluster status   |
 * | cluster-reconciler/                  | applies a Cluster's children, writes its status            |
 * | topic/                               | Topic planning (pure) and reconciling via the Admin API    |
 * | runtime/                             | work queue, informers, controller, leader election, events |
 * | kube/                                | raw JSON Kubernetes client and resource table              |
 * | metrics.ts, logger.ts, limits.ts     | observability and every bound                              |
 */
export { startOperator } from "./operator.js";
export type { Operator, OperatorDeps } from "./operator.js";
export { parseCommandLine, helpText, DEFAULT_BROKER_IMAGE, DEFAULT_LEASE_NAME } from "./config.js";
export type { BootstrapOverride, LeaderElectionConfig, LogLevel, OperatorConfig, ParsedCommandLine } from "./config.js";
export { KubeApiError, OperatorConfigError } from "./errors.js";
export { BOOTSTRAP_OVERRIDE_ANNOTATION, PAUSE_ANNOTATION, TOPIC_FINALIZER } from "./runtime/annotations.js";
export { WorkQueue, backoffDelayMs } from "./runtime/work-queue.js";
export { planTopic, differences } from "./topic/topic-plan.js";
export type { DesiredTopic, ObservedTopic, Ownership, TopicPlan } from "./topic/topic-plan.js";
export { OPERATOR_VERSION } from "./version.js";
