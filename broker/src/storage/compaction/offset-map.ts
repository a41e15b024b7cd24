/**
 * The compactor's pass-1 map: record key -> offset of its latest record in the dirty section,
 * within a memory budget (Kafka's `log.cleaner.dedupe.buffer.size`).
 *
 * Invariants:
 * - The budget counts every entry as its stored key bytes plus OFFSET_MAP_ENTRY_OVERHEAD_BYTES
 *   and is never exceeded: a batch whose new keys do not fit is refused whole and changes
 *   nothing, so the map always covers a prefix of the dirty section, batch by batch.
 * - Keys up to OFFSET_MAP_RAW_KEY_BYTES_MAX bytes are stored exactly; longer ones by SHA-256
 *   digest. The two forms are tagged, so a short key can never equal a digest.
 * - Offsets are put in increasing order; `latestOffset` is the last one put.
 */
import { createHash } from "node:crypto";
import { assert } from "@sluice/protocol";
import { OFFSET_MAP_ENTRY_OVERHEAD_BYTES, OFFSET_MAP_RAW_KEY_BYTES_MAX } from "./limits.js";

export interface KeyedOffset {
  readonly key: Buffer;
  readonly offset: number;
}

export class OffsetMap {
  private readonly entries = new Map<string, number>();
  private used = 0;
  private latest = -1;

  constructor(readonly budgetBytes: number) {
    assert(Number.isSafeInteger(budgetBytes) && budgetBytes > 0, `offset map budget ${budgetBytes}`);
  }

  /** The map's form of a key: tagged raw bytes (latin1 keeps one char per byte) or a tagged digest. */
  static mapKey(key: Buffer): string {
    if (key.byteLength <= OFFSET_MAP_RAW_KEY_BYTES_MAX) return `r${key.toString("latin1")}`;
    return `h${createHash("sha256").update(key).digest().toString("latin1")}`;
  }

  private static costOf(mapKey: string): number {
    return mapKey.length + OFFSET_MAP_ENTRY_OVERHEAD_BYTES;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytesUsed(): number {
    return this.used;
  }

  /** The last offset put, -1 when empty. */
  get latestOffset(): number {
    return this.latest;
  }

  get(key: Buffer): number | undefined {
    return this.entries.get(OffsetMap.mapKey(key));
  }

  /**
   * Puts one batch's keyed records (offsets increasing, all above `latestOffset`) if its new
   * keys fit the budget; otherwise changes nothing. Returns how many new keys the batch has and
   * whether it was put.
   */
  putBatch(records: readonly KeyedOffset[]): { put: boolean; newKeys: number } {
    const mapKeys = records.map((r) => OffsetMap.mapKey(r.key));
    const fresh = new Set<string>();
    let cost = 0;
    for (const mapKey of mapKeys) {
      if (this.entries.has(mapKey) || fresh.has(mapKey)) continue;
      fresh.add(mapKey);
      cost += OffsetMap.costOf(mapKey);
    }
    if (this.used + cost > this.budgetBytes) return { put: false, newKeys: fresh.size };
    records.forEach((record, i) => {
      assert(record.offset > this.latest, `offset map puts must increase: ${record.offset} after ${this.latest}`);
      this.entries.set(mapKeys[i] as string, record.offset);
      this.latest = record.offset;
    });
    this.used += cost;
    return { put: true, newKeys: fresh.size };
  }
}
