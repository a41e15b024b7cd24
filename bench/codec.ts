/**
 * RecordBatch codec throughput: encode and decode MB/s per compression codec, measured over
 * the *uncompressed* batch size so codecs compare on the work they save the caller.
 *
 *   npm run bench -- codec [--records 1000] [--valueBytes 1024] [--seconds 0.5] [--codecs none,gzip,...]
 *
 * Baselines in the same run (DESIGN.md: timings are noisy, report ratios): a plain memory copy
 * of the batch, and kafkajs 2.2.4 encoding and decoding the same records (codec none and gzip,
 * the ones kafkajs ships). Imports the protocol sources directly: the bench runner resolves
 * `@sluice/protocol` to its build output, which may be missing or stale. Values are JSON-like text with some repetition, roughly like
 * application events, so compression ratios are realistic rather than best or worst case.
 */
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import {
  CompressionCodec,
  decodeRecordBatch,
  encodeRecordBatch,
  type CompressionCodecId,
  type RecordInput,
} from "@sluice/protocol";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";

const require = createRequire(import.meta.url);

interface KafkajsCodec {
  RecordBatch(args: {
    compression: number;
    records: unknown[];
    firstTimestamp: number;
    maxTimestamp: number;
    lastOffsetDelta: number;
  }): Promise<{ buffer: Buffer }>;
  Record(args: { offsetDelta: number; timestampDelta: number; key: Buffer; value: Buffer; headers: Record<string, Buffer> }): unknown;
  decode(buffer: Buffer): Promise<{ records: unknown[] }>;
}

function loadKafkajs(): KafkajsCodec {
  const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as Pick<KafkajsCodec, "RecordBatch">;
  const Record = require("kafkajs/src/protocol/recordBatch/record/v0") as KafkajsCodec["Record"];
  const Decoder = require("kafkajs/src/protocol/decoder") as new (buffer: Buffer) => unknown;
  const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (decoder: unknown) => Promise<{ records: unknown[] }>;
  return { RecordBatch, Record, decode: (buffer) => decodeBatch(new Decoder(buffer)) };
}

const codecNames: Readonly<Record<string, CompressionCodecId>> = {
  none: CompressionCodec.none,
  gzip: CompressionCodec.gzip,
  snappy: CompressionCodec.snappy,
  lz4: CompressionCodec.lz4,
  zstd: CompressionCodec.zstd,
};

function makeRecords(count: number, valueBytes: number, now: number): RecordInput[] {
  const words = ["user", "order", "created", "shipped", "amount", "currency", "EUR", "region", "eu-west", "status"];
  let seed = 42;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  return Array.from({ length: count }, (_, i) => {
    let text = `{"id":${i}`;
    while (text.length < valueBytes - 2) text += `,"${words[next() % words.length]}":${next() % 100000}`;
    return {
      key: Buffer.from(`key-${(next() % 100000).toString().padStart(8, "0")}`),
      value: Buffer.from(`${text.slice(0, valueBytes - 1)}}`),
      headers: [{ key: "trace-id", value: Buffer.from(next().toString(16)) }],
      timestamp: now + i,
    };
  });
}

/** Runs `fn` repeatedly for at least `seconds`; returns iterations per second. */
async function rate(seconds: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    await fn();
    iterations++;
    elapsed = performance.now() - start;
  }
  return iterations / (elapsed / 1000);
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const recordCount = numberOption(options, "records", 1000);
  const valueBytes = numberOption(options, "valueBytes", 1024);
  const seconds = numberOption(options, "seconds", 0.5);
  const selected = (options["codecs"] ?? Object.keys(codecNames).join(",")).split(",");
  const now = 1_700_000_000_000;
  const records = makeRecords(recordCount, valueBytes, now);
  const plain = encodeRecordBatch({ records, compression: CompressionCodec.none });
  const mb = plain.length / 1e6;
  const metrics: Record<string, number> = { batch_bytes_uncompressed: plain.length };
  const rows: Array<[string, string | number]> = [["uncompressed batch bytes", plain.length]];

  const copy = Buffer.allocUnsafe(plain.length);
  const copyMBps = (await rate(seconds, () => plain.copy(copy))) * mb;
  metrics["memcpy_MBps"] = copyMBps;
  rows.push(["memcpy baseline MB/s", copyMBps]);

  for (const name of selected) {
    const codec = codecNames[name];
    if (codec === undefined) throw new Error(`unknown codec ${name}; choose from ${Object.keys(codecNames).join(", ")}`);
    const encoded = encodeRecordBatch({ records, compression: codec });
    const encodeMBps = (await rate(seconds, () => encodeRecordBatch({ records, compression: codec }))) * mb;
    const decodeMBps = (await rate(seconds, () => decodeRecordBatch(encoded))) * mb;
    metrics[`encode_MBps_${name}`] = encodeMBps;
    metrics[`decode_MBps_${name}`] = decodeMBps;
    metrics[`compression_ratio_${name}`] = plain.length / encoded.length;
    rows.push([`${name}: encode MB/s`, encodeMBps], [`${name}: decode MB/s`, decodeMBps], [`${name}: ratio`, plain.length / encoded.length]);
  }

  const kafkajs = loadKafkajs();
  for (const name of ["none", "gzip"].filter((n) => selected.includes(n))) {
    const codec = codecNames[name]!;
    const encodeOnce = async (): Promise<Buffer> => {
      const kRecords = records.map((r, i) =>
        kafkajs.Record({
          offsetDelta: i,
          timestampDelta: (r.timestamp ?? now) - now,
          key: r.key!,
          value: r.value!,
          headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value!])),
        }),
      );
      const batch = await kafkajs.RecordBatch({ compression: codec, records: kRecords, firstTimestamp: now, maxTimestamp: now + recordCount - 1, lastOffsetDelta: recordCount - 1 });
      return batch.buffer;
    };
    const kafkajsBatch = await encodeOnce();
    const encodeMBps = (await rate(seconds, encodeOnce)) * mb;
    const decodeMBps = (await rate(seconds, () => kafkajs.decode(kafkajsBatch))) * mb;
    metrics[`kafkajs_encode_MBps_${name}`] = encodeMBps;
    metrics[`kafkajs_decode_MBps_${name}`] = decodeMBps;
    metrics[`encode_vs_kafkajs_${name}`] = (metrics[`encode_MBps_${name}`] ?? Number.NaN) / encodeMBps;
    metrics[`decode_vs_kafkajs_${name}`] = (metrics[`decode_MBps_${name}`] ?? Number.NaN) / decodeMBps;
    rows.push(
      [`kafkajs ${name}: encode MB/s`, encodeMBps],
      [`kafkajs ${name}: decode MB/s`, decodeMBps],
      [`ours/kafkajs ${name}: encode`, metrics[`encode_vs_kafkajs_${name}`]!],
      [`ours/kafkajs ${name}: decode`, metrics[`decode_vs_kafkajs_${name}`]!],
    );
  }

  printTable(`RecordBatch codec, ${recordCount} records x ${valueBytes} B values (MB = 10^6 bytes of uncompressed batch)`, rows);
  return { config: { records: recordCount, valueBytes, seconds, codecs: selected.join(",") }, metrics };
}
