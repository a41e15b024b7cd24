/**
 * Choosing a partition for a record, compatible with Kafka's Java client:
 *
 * - a record with a key goes to `toPositive(murmur2(keyBytes)) % numPartitions`, so the same key
 *   lands on the same partition as with Kafka's DefaultPartitioner / BuiltInPartitioner (and
 *   kafkajs's DefaultPartitioner);
 * - a record without a key "sticks" to one partition of its topic until that partition's batch
 *   is closed (full or sent), then moves to another partition picked at random among those with
 *   a leader (Kafka's KIP-480 sticky partitioner): big batches without hot-spotting.
 * - an explicit partition always wins (checked by the producer).
 *
 * Pure: randomness is injected. murmur2 works on 32-bit integers with Math.imul, no allocation.
 */
import type { Random } from "./runtime.js";

const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995 | 0;

/** Kafka's `Utils.murmur2`: a signed 32-bit hash of the bytes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const remaining = length & 3;
  // Java's switch falls through 3 -> 2 -> 1; the same as cumulative conditions.
  if (remaining === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (remaining >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (remaining >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which overflows on MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's Java client picks for a keyed record. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Sticky partition choice for records without a key, per topic. `available` lists partitions
 * that have a leader; when it is empty every partition is a candidate.
 */
export class StickyPartitioner {
  private readonly sticky = new Map<string, number>();

  constructor(private readonly random: Random) {}

  /** The partition a record without a key goes to now. */
  partition(topic: string, numPartitions: number, available: readonly number[]): number {
    const current = this.sticky.get(topic);
    if (current !== undefined && current < numPartitions) return current;
    return this.choose(topic, numPartitions, available, -1);
  }

  /**
   * The batch of `partition` was closed (filled up or sent). If it was the sticky partition,
   * move on to another one so that the next batch goes elsewhere.
   */
  onBatchClosed(topic: string, partition: number, numPartitions: number, available: readonly number[]): void {
    if (this.sticky.get(topic) !== partition) return;
    this.choose(topic, numPartitions, available, partition);
  }

  private choose(topic: string, numPartitions: number, available: readonly number[], previous: number): number {
    const candidates = (available.length > 0 ? available : range(numPartitions)).filter((p) => p !== previous && p < numPartitions);
    const chosen = candidates.length === 0 ? Math.max(previous, 0) : candidates[Math.floor(this.random.next() * candidates.length)]!;
    this.sticky.set(topic, chosen);
    return chosen;
  }
}

function range(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i);
  return out;
}
