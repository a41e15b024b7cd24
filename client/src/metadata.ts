/**
 * The client's metadata cache: brokers and, per topic, partitions with their leaders, built
 * from Metadata responses. Pure (no I/O): the cluster client feeds it responses and asks it
 * where to send things.
 *
 * Invariants: a topic's partitions are indexed by partition id (partition i at index i); a
 * leader id of -1 means "no leader right now"; an update replaces the brokers and the topics
 * it names, and keeps topics it does not name (they were not asked about). A broker's data
 * listener port (0: none) is kept with its address; the cluster client decides whether to use it.
 */
import { fromErrorInfo, SluiceError, type api } from "@sluice/protocol";

export interface BrokerAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  /** "host:port" as a gRPC target. */
  readonly address: string;
  /** Port of the broker's data listener on the same host; 0 when it has none. */
  readonly dataPort: number;
}

export interface PartitionInfo {
  readonly partition: number;
  /** -1 when the partition has no leader right now. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly inSyncReplicas: readonly number[];
  readonly error: SluiceError | null;
}

export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  readonly internal: boolean;
  readonly partitions: readonly PartitionInfo[];
  /** Partitions that have a leader, ascending. */
  readonly available: readonly number[];
}

export type TopicState = { readonly kind: "known"; readonly info: TopicInfo } | { readonly kind: "error"; readonly error: SluiceError };

/** Formats a gRPC target for host and port (IPv6 literals in brackets). */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Hosts a broker may advertise that mean "any interface": reach it where we reached the cluster. */
const wildcardHosts = new Set(["", "0.0.0.0", "::", "[::]"]);

export class MetadataCache {
  clusterId = "";
  controllerId = -1;
  /** When the last update arrived (ms since epoch); 0 before the first one. */
  updatedMs = 0;
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly brokersByAddress = new Map<string, BrokerAddress>();
  private readonly topics = new Map<string, TopicState>();

  /**
   * Applies a Metadata response. `answeredBy` is the host that answered; brokers that
   * advertise a wildcard host are reached through it.
   */
  update(response: api.MetadataResponse, nowMs: number, answeredByHost: string): void {
    this.clusterId = response.clusterId;
    this.controllerId = response.controllerId;
    this.updatedMs = nowMs;
    this.brokers.clear();
    this.brokersByAddress.clear();
    for (const broker of response.brokers) {
      const host = wildcardHosts.has(broker.host) ? answeredByHost : broker.host;
      const info: BrokerAddress = {
        id: broker.brokerId,
        host,
        port: broker.port,
        rack: broker.rack,
        address: formatAddress(host, broker.port),
        // Brokers from before the data listener send no data_port: 0, no listener.
        dataPort: broker.dataPort ?? 0,
      };
      this.brokers.set(broker.brokerId, info);
      this.brokersByAddress.set(info.address, info);
    }
    for (const topic of response.topics) {
      const error = fromErrorInfo(topic.error);
      if (error !== null) {
        this.topics.set(topic.name, { kind: "error", error });
        continue;
      }
      const partitions: PartitionInfo[] = [];
      for (const p of topic.partitions) {
        partitions[p.partition] = {
          partition: p.partition,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          inSyncReplicas: p.inSyncReplicas,
          error: fromErrorInfo(p.error),
        };
      }
      // A hole in the partition list is a broker bug; treat the missing partition as leaderless.
      for (let i = 0; i < partitions.length; i++) {
        partitions[i] ??= { partition: i, leaderId: -1, leaderEpoch: -1, replicas: [], inSyncReplicas: [], error: new SluiceError("LEADER_NOT_AVAILABLE", `partition ${i} missing from metadata`) };
      }
      const available = partitions.filter((p) => p.leaderId >= 0 && this.brokers.has(p.leaderId)).map((p) => p.partition);
      this.topics.set(topic.name, {
        kind: "known",
        info: { name: topic.name, topicId: topic.topicId, internal: topic.internal, partitions, available },
      });
    }
  }

  topicState(name: string): TopicState | undefined {
    return this.topics.get(name);
  }

  topic(name: string): TopicInfo | undefined {
    const state = this.topics.get(name);
    return state?.kind === "known" ? state.info : undefined;
  }

  /** Forget a topic (e.g. after it was deleted) so that the next lookup asks the cluster. */
  forget(name: string): void {
    this.topics.delete(name);
  }

  leaderOf(topic: string, partition: number): BrokerAddress | undefined {
    const leaderId = this.topic(topic)?.partitions[partition]?.leaderId;
    if (leaderId === undefined || leaderId < 0) return undefined;
    return this.brokers.get(leaderId);
  }

  broker(id: number): BrokerAddress | undefined {
    return this.brokers.get(id);
  }

  /** The broker whose gRPC address is `address` ("host:port" as in BrokerAddress.address). */
  brokerAt(address: string): BrokerAddress | undefined {
    return this.brokersByAddress.get(address);
  }

  allBrokers(): BrokerAddress[] {
    return [...this.brokers.values()];
  }
}
