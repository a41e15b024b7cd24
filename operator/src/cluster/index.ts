/**
 * The Cluster side of the operator that needs no I/O: the Cluster and Topic resource types and
 * defaults, the objects a Cluster owns (`buildClusterObjects`), and its status
 * (`clusterStatusFrom`). The reconcilers (operator/src/, outside this folder) read the world,
 * call these, and apply the results. See README.md in this folder for the map of files.
 */
export * from "./spec.js";
export * from "./errors.js";
export type { ChildMetadata, Manifest } from "./manifest.js";
export * from "./names.js";
export {
  BROKER_CONFIG_FILE,
  BROKER_CONFIG_PATH,
  BROKER_DATA_DIR,
  brokerConfigFileText,
  checkUserConfigKeys,
  configHash,
  operatorOwnedBrokerKeys,
  resolveClusterBrokerConfig,
  userBrokerConfigKeys,
} from "./broker-config.js";
export {
  BROKER_CONTAINER_NAME,
  CONFIG_HASH_ANNOTATION,
  DATA_PORT_NAME,
  GRPC_PORT_NAME,
  METRICS_PORT_NAME,
  POD_INDEX_LABEL,
  terminationGracePeriodSeconds,
} from "./statefulset.js";
export type { ServiceRole } from "./services.js";
export * from "./objects.js";
export * from "./status.js";
