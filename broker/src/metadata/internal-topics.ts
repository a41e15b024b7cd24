/**
 * Topics the broker owns and users may not change: `__consumer_offsets` (the group coordinators'
 * log). They are listed with `internal: true`; producing to them is INVALID_TOPIC_EXCEPTION
 * (Kafka's "Cannot append to internal topic"), deleting, altering or adding partitions is
 * INVALID_REQUEST. Other "__"-prefixed names are merely hidden from default listings.
 */
import { SluiceError } from "@sluice/protocol";

export const CONSUMER_OFFSETS_TOPIC = "__consumer_offsets";

const brokerOwnedTopics: ReadonlySet<string> = new Set([CONSUMER_OFFSETS_TOPIC]);

export function isBrokerOwnedTopic(name: string): boolean {
  return brokerOwnedTopics.has(name);
}

/** Throws INVALID_REQUEST when `name` is broker-owned; `action` says what was refused ("delete"). */
export function refuseBrokerOwnedTopicChange(name: string, action: string): void {
  if (isBrokerOwnedTopic(name)) throw new SluiceError("INVALID_REQUEST", `cannot ${action} internal topic "${name}": the broker owns it`);
}

/** The INVALID_TOPIC_EXCEPTION a client's append to a broker-owned topic gets, or null. */
export function refuseBrokerOwnedTopicProduce(name: string): SluiceError | null {
  return isBrokerOwnedTopic(name) ? new SluiceError("INVALID_TOPIC_EXCEPTION", `cannot append to internal topic "${name}"`) : null;
}
