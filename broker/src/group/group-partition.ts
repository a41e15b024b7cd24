/**
 * Which partition of `__consumer_offsets` holds a group: Kafka's `Utils.abs(groupId.hashCode())
 * % partitionCount`, bit for bit, so a group maps to the same partition number as in Kafka.
 *
 * Java's `String.hashCode` is `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units with 32-bit
 * signed overflow; JavaScript strings are UTF-16 too, so `charCodeAt` walks the same units and
 * `Math.imul` reproduces the overflow. Kafka's `Utils.abs` maps Integer.MIN_VALUE to 0 (plain
 * `Math.abs` would stay negative there).
 *
 * Pure.
 */
import { SluiceError } from "@sluice/protocol";

/** Java's String.hashCode: a signed 32-bit integer. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: |n|, except that Integer.MIN_VALUE becomes 0. */
export function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The `__consumer_offsets` partition for a group. */
export function groupPartition(groupId: string, numPartitions: number): number {
  if (!Number.isSafeInteger(numPartitions) || numPartitions < 1) {
    throw new SluiceError("INVALID_PARTITIONS", `__consumer_offsets partition count ${numPartitions}`);
  }
  return kafkaAbs(javaStringHashCode(groupId)) % numPartitions;
}
