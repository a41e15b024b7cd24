/**
 * Captures golden RecordBatch v2 bytes from kafkajs 2.2.4 (our devDependency) into
 * protocol/src/testing/kafkajs-fixtures.ts, as hex. Run once, by hand, when fixtures change:
 *
 *   node --import tsx protocol/scripts/capture-fixtures.ts
 *
 * Batches come from kafkajs's Produce v3 encoder (its producer's wire bytes). The gzip batch is
 * kafkajs's built-in codec; snappy/lz4/zstd batches come through the test plugins in
 * src/testing/kafkajs.ts (raw snappy, lz4_flex frames, zstd one-shot). The control batch is
 * assembled from kafkajs's encoder primitives (kafkajs cannot write control batches).
 * Inputs are fixed (explicit timestamps), so re-running gives the same bytes for the
 * uncompressed and control batches; compressed bytes depend on the library versions.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  KafkajsCompression,
  kafkajsControlBatch,
  kafkajsEncodeBatch,
  registerKafkajsCodecs,
  type KafkajsBatchSpec,
} from "../src/testing/kafkajs.js";

/** A message in a form both kafkajs and our encoder can be given. */
interface FixtureMessage {
  readonly key: string | null;
  readonly value: string | null;
  /** In the order kafkajs writes them (object key order, array values expanded). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly timestamp: number;
}

interface FixtureSpec {
  readonly name: string;
  readonly description: string;
  readonly compression: number;
  readonly transactionalId: string | null;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly messages: readonly FixtureMessage[];
}

const messages: readonly FixtureMessage[] = [
  {
    key: "user-17",
    value: '{"event":"signup","name":"Zoë ✓"}',
    headers: [
      ["trace-id", "abc123"],
      ["retry", "0"],
      ["retry", "1"],
    ],
    timestamp: 1_700_000_000_000,
  },
  { key: null, value: "no key here", headers: [], timestamp: 1_700_000_000_123 },
  { key: "user-17", value: null, headers: [["tombstone", "yes"]], timestamp: 1_700_000_000_456 },
];

const compressedMessages: readonly FixtureMessage[] = Array.from({ length: 5 }, (_, i) => ({
  key: `key-${i}`,
  value: `value-${i} `.repeat(20),
  headers: i % 2 === 0 ? [["n", String(i)] as const] : [],
  timestamp: 1_700_000_100_000 + i * 7,
}));

const specs: readonly FixtureSpec[] = [
  {
    name: "uncompressed",
    description: "3 records: headers (one key repeated), a null key, a tombstone; transactional producer",
    compression: KafkajsCompression.none,
    transactionalId: "tx-1",
    producerId: 4242,
    producerEpoch: 3,
    firstSequence: 17,
    messages,
  },
  {
    name: "gzip",
    description: "5 records, kafkajs's built-in gzip codec, idempotent producer",
    compression: KafkajsCompression.gzip,
    transactionalId: null,
    producerId: 99,
    producerEpoch: 0,
    firstSequence: 0,
    messages: compressedMessages,
  },
  {
    name: "snappy-raw",
    description: "5 records, raw snappy from the kafkajs plugin in src/testing/kafkajs.ts",
    compression: KafkajsCompression.snappy,
    transactionalId: null,
    producerId: -1,
    producerEpoch: 0,
    firstSequence: 0,
    messages: compressedMessages,
  },
  {
    name: "lz4-frame",
    description: "5 records, LZ4 frame written by lz4-napi's frame encoder (lz4_flex) via the kafkajs plugin",
    compression: KafkajsCompression.lz4,
    transactionalId: null,
    producerId: -1,
    producerEpoch: 0,
    firstSequence: 0,
    messages: compressedMessages,
  },
  {
    name: "zstd",
    description: "5 records, zstd via the kafkajs plugin",
    compression: KafkajsCompression.zstd,
    transactionalId: null,
    producerId: -1,
    producerEpoch: 0,
    firstSequence: 0,
    messages: compressedMessages,
  },
];

function toKafkajs(spec: FixtureSpec): KafkajsBatchSpec {
  return {
    compression: spec.compression,
    transactionalId: spec.transactionalId,
    producerId: spec.producerId,
    producerEpoch: spec.producerEpoch,
    firstSequence: spec.firstSequence,
    messages: spec.messages.map((m) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of m.headers) {
        const existing = headers[k];
        headers[k] = existing === undefined ? v : Array.isArray(existing) ? [...existing, v] : [existing, v];
      }
      return { key: m.key, value: m.value, headers, timestamp: m.timestamp };
    }),
  };
}

async function main(): Promise<void> {
  registerKafkajsCodecs();
  const out: string[] = [];
  for (const spec of specs) {
    const bytes = await kafkajsEncodeBatch(toKafkajs(spec));
    out.push(`  ${JSON.stringify(spec.name)}: {
    description: ${JSON.stringify(spec.description)},
    compression: ${spec.compression},
    transactional: ${spec.transactionalId !== null},
    producerId: ${spec.producerId},
    producerEpoch: ${spec.producerEpoch},
    baseSequence: ${spec.firstSequence},
    messages: ${JSON.stringify(spec.messages)},
    hex: ${JSON.stringify(bytes.toString("hex"))},
  },`);
  }
  const control = kafkajsControlBatch({
    baseOffset: 1234,
    partitionLeaderEpoch: 7,
    timestamp: 1_700_000_200_000,
    producerId: 4242,
    producerEpoch: 3,
    key: Buffer.from([0, 0, 0, 1]), // version 0, type 1 (COMMIT)
    value: Buffer.from([0, 0, 0, 0, 0, 5]), // EndTransactionMarker version 0, coordinatorEpoch 5
  });
  const here = dirname(fileURLToPath(import.meta.url));
  const target = join(here, "..", "src", "testing", "kafkajs-fixtures.ts");
  writeFileSync(
    target,
    `/**
 * Golden RecordBatch v2 bytes captured from kafkajs 2.2.4 by protocol/scripts/capture-fixtures.ts.
 * Generated: do not edit by hand; re-run the script instead. Messages are the producer inputs
 * (strings are UTF-8; headers in the order kafkajs writes them).
 */

export interface KafkajsFixtureMessage {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly timestamp: number;
}

export interface KafkajsFixture {
  readonly description: string;
  readonly compression: number;
  readonly transactional: boolean;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly messages: readonly KafkajsFixtureMessage[];
  readonly hex: string;
}

export const kafkajsFixtures: Readonly<Record<string, KafkajsFixture>> = {
${out.join("\n")}
};

/**
 * A COMMIT control batch (transactional|control) at offset 1234, leader epoch 7, producer
 * 4242/3, timestamp 1700000200000; key = version 0 type 1, value = EndTransactionMarker version
 * 0 coordinatorEpoch 5. Assembled from kafkajs's Encoder and Record primitives.
 */
export const kafkajsControlBatchHex = ${JSON.stringify(control.toString("hex"))};
`,
  );
  console.log(`wrote ${target}`);
}

await main();
