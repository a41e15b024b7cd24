/**
 * Test helper: deterministic keyed records with headers and timestamps, produced through the raw
 * API as RecordBatch v2 batches (several codecs), and a consumer loop that reads partitions back
 * to their high watermark and checks every record against what the producer was acknowledged.
 */
import { CompressionCodec, decodeRecordBatches, fromErrorInfo, type CompressionCodecId, type RecordInput } from "@sluice/protocol";
import { encodeRecordBatch } from "@sluice/protocol";
import type { RawClient } from "./raw-client.js";

export interface ExpectedRecord {
  readonly key: string;
  readonly value: string;
  readonly timestamp: number;
  readonly headers: ReadonlyArray<{ readonly key: string; readonly value: string | null }>;
}

export const BASE_TIMESTAMP_MS = 1_700_000_000_000;

/** Record number `i`: keys repeat (as real keyed traffic does), every third record has headers. */
export function recordAt(i: number): ExpectedRecord {
  const headers = i % 3 === 0 ? [{ key: "seq", value: String(i) }, { key: "empty", value: null }] : [];
  return { key: `key-${i % 7919}`, value: `value-${i}-${"x".repeat(i % 50)}`, timestamp: BASE_TIMESTAMP_MS + i, headers };
}

function toInput(r: ExpectedRecord): RecordInput {
  return {
    key: Buffer.from(r.key),
    value: Buffer.from(r.value),
    timestamp: r.timestamp,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
  };
}

const codecs: readonly CompressionCodecId[] = [
  CompressionCodec.none,
  CompressionCodec.lz4,
  CompressionCodec.zstd,
  CompressionCodec.snappy,
  CompressionCodec.gzip,
];

/** Per partition: offset → record, as acknowledged by the broker. */
export type Ledger = Map<number, Map<number, ExpectedRecord>>;

export interface ProduceOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly from: number;
  readonly count: number;
  readonly recordsPerBatch: number;
  /** Produce requests in flight at once. */
  readonly concurrency: number;
  readonly acks?: number;
}

/**
 * Produces records [from, from+count): record i goes to partition (i mod partitions), in batches
 * of `recordsPerBatch`, one batch per partition per request. Fills `ledger` from the offsets in
 * the responses; throws on any error.
 */
export async function produceRecords(client: RawClient, ledger: Ledger, options: ProduceOptions): Promise<void> {
  const byPartition = new Map<number, number[]>();
  for (let i = options.from; i < options.from + options.count; i++) {
    const p = i % options.partitions;
    let list = byPartition.get(p);
    if (list === undefined) byPartition.set(p, (list = []));
    list.push(i);
  }
  const requests: Array<Array<{ partition: number; ids: number[] }>> = [];
  for (const [partition, ids] of byPartition) {
    for (let b = 0, n = 0; b < ids.length; b += options.recordsPerBatch, n++) {
      (requests[n] ??= []).push({ partition, ids: ids.slice(b, b + options.recordsPerBatch) });
    }
  }
  let next = 0;
  let batchNumber = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const request = requests[next++];
      if (request === undefined) break;
      const encoded = request.map(({ partition, ids }) => ({
        partition,
        ids,
        records: encodeRecordBatch({ records: ids.map((i) => toInput(recordAt(i))), compression: codecs[batchNumber++ % codecs.length] }),
      }));
      const response = await client.produce({
        acks: options.acks ?? -1,
        timeoutMs: 30_000,
        topics: [{ topic: options.topic, partitions: encoded.map((e) => ({ partition: e.partition, records: e.records })) }],
      });
      for (const result of response.topics[0]?.partitions ?? []) {
        const error = fromErrorInfo(result.error);
        if (error !== null) throw error;
        const sent = encoded.find((e) => e.partition === result.partition);
        if (sent === undefined) throw new Error(`answer for partition ${result.partition} that was not sent`);
        let offsets = ledger.get(result.partition);
        if (offsets === undefined) ledger.set(result.partition, (offsets = new Map()));
        sent.ids.forEach((id, k) => offsets.set(result.baseOffset + k, recordAt(id)));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
}

export interface ConsumedPartition {
  readonly count: number;
  readonly highWatermark: number;
}

/**
 * Reads every partition from offset 0 to its high watermark with Fetch and checks that offsets are
 * consecutive from 0 and every record matches the ledger (key, value, headers, timestamp).
 * Returns per-partition counts. With `tolerateUnacknowledged`, records the ledger does not know
 * are allowed (a crash between append and answer) — the ledger's own records must still match.
 */
export async function consumeAndVerify(
  client: RawClient,
  topic: string,
  partitions: number,
  ledger: Ledger,
  options: { readonly tolerateUnacknowledged?: boolean } = {},
): Promise<ConsumedPartition[]> {
  const position = new Array<number>(partitions).fill(0);
  const hwm = new Array<number>(partitions).fill(-1);
  const done = (): boolean => position.every((pos, p) => hwm[p] !== -1 && pos >= (hwm[p] ?? 0));
  const failures: string[] = [];
  while (!done()) {
    const before = position.reduce((a, b) => a + b, 0);
    const response = await client.fetch({
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 * 1024 * 1024,
      topics: [{ topic, partitions: position.map((fetchOffset, partition) => ({ partition, fetchOffset, partitionMaxBytes: 1024 * 1024 })) }],
    });
    for (const result of response.topics[0]?.partitions ?? []) {
      const error = fromErrorInfo(result.error);
      if (error !== null) throw error;
      const p = result.partition;
      hwm[p] = result.highWatermark;
      const expected = ledger.get(p) ?? new Map<number, ExpectedRecord>();
      for (const batch of decodeRecordBatches(result.records)) {
        for (const record of batch.records) {
          if (record.offset < (position[p] ?? 0)) continue; // the batch holding the fetch offset starts earlier
          if (record.offset !== position[p]) failures.push(`p${p}: offset ${record.offset}, expected ${position[p]}`);
          const want = expected.get(record.offset);
          const got = {
            key: record.key?.toString() ?? null,
            value: record.value?.toString() ?? null,
            timestamp: record.timestamp,
            headers: record.headers.map((h) => ({ key: h.key, value: h.value === null ? null : h.value.toString() })),
          };
          if (want === undefined) {
            // A crash can make an append durable before its answer reached the producer.
            if (options.tolerateUnacknowledged !== true) failures.push(`p${p}: offset ${record.offset} was never acknowledged`);
          }
          else if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`p${p}@${record.offset}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          position[p] = record.offset + 1;
        }
      }
    }
    if (failures.length > 0) throw new Error(`consumed records differ:\n${failures.slice(0, 10).join("\n")}`);
    if (!done() && position.reduce((a, b) => a + b, 0) === before) {
      throw new Error(`fetch made no progress at positions ${position.join(",")} below high watermarks ${hwm.join(",")}`);
    }
  }
  return position.map((count, p) => ({ count, highWatermark: hwm[p] ?? -1 }));
}

export function ledgerSize(ledger: Ledger): number {
  let n = 0;
  for (const offsets of ledger.values()) n += offsets.size;
  return n;
}
