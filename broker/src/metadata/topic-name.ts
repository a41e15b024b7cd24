/**
 * Topic name rules, as in Apache Kafka: 1 to 249 characters from [a-zA-Z0-9._-], and not "."
 * or "..". The 249 limit leaves room for the "-<partition>" suffix of a partition's directory
 * inside the usual 255-byte file-name limit. Pure.
 *
 * Kafka also refuses a topic whose name equals an existing one once '.' and '_' are treated as
 * the same character (metric names cannot tell them apart); `collisionKey` gives that key.
 */
import { SluiceError } from "@sluice/protocol";

/** Kafka's limit: 255 (file name) minus room for "-<partition>" and a deletion suffix. */
export const TOPIC_NAME_LENGTH_MAX = 249;

const legalName = /^[a-zA-Z0-9._-]+$/;

/** Throws INVALID_TOPIC_EXCEPTION saying why the name is refused. */
export function validateTopicName(name: string): void {
  if (name.length === 0) throw new SluiceError("INVALID_TOPIC_EXCEPTION", "topic name is empty");
  if (name === "." || name === "..") throw new SluiceError("INVALID_TOPIC_EXCEPTION", `topic name cannot be "${name}"`);
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    throw new SluiceError("INVALID_TOPIC_EXCEPTION", `topic name is ${name.length} characters, the limit is ${TOPIC_NAME_LENGTH_MAX}`);
  }
  if (!legalName.test(name)) {
    throw new SluiceError(
      "INVALID_TOPIC_EXCEPTION",
      `topic name ${JSON.stringify(name)} contains characters outside [a-zA-Z0-9._-]`,
    );
  }
}

/** Two names with the same key collide ("a.b" and "a_b"). */
export function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/** Names starting with "__" are internal (e.g. "__consumer_offsets"), hidden by default in listings. */
export function isInternalTopic(name: string): boolean {
  return name.startsWith("__");
}
