// Proves the decoder turns any input into either a consistent DecodedBatch or a SluiceError:
// 150,000 generated inputs (random bytes; valid-looking headers with random records and a
// correct CRC; mutated valid batches of every codec with and without the CRC recomputed), no
// other exception, no hang, and every accepted batch's record count matches its header.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SluiceError } from "../errors.js";
import { fixCrc, rawBatch } from "../testing/batch-bytes.js";
import { decodeRecordBatch, decodeRecordBatches } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { BATCH_HEADER_BYTES, CompressionCodec, HeaderOffset } from "./header.js";
import type { DecodeOptions } from "./record.js";

const OPTIONS: DecodeOptions = { maxBatchBytes: 1 << 20, maxUncompressedBytes: 1 << 20 };
let inputs = 0;

function check(bytes: Uint8Array, many = false): void {
  inputs++;
  try {
    const batches = many ? decodeRecordBatches(bytes, OPTIONS) : [decodeRecordBatch(bytes, 0, OPTIONS)];
    for (const batch of batches) {
      if (batch.records.length !== batch.header.recordCount) throw new Error("record count mismatch on success");
    }
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
  }
}

/** Valid batches of every codec to mutate: varied keys, values, headers, nulls. */
const seeds: Buffer[] = [];
for (const compression of [0, 1, 2, 3, 4] as const) {
  for (let n = 1; n <= 4; n++) {
    seeds.push(
      encodeRecordBatch({
        compression,
        now: 1_700_000_000_000,
        transactional: n % 2 === 0,
        records: Array.from({ length: n }, (_, i) => ({
          key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
          value: i % 4 === 3 ? null : Buffer.from(`value ${i} `.repeat(i + 1)),
          headers: Array.from({ length: i }, (_, h) => ({ key: `h${h}`, value: h % 2 === 0 ? Buffer.from([h]) : null })),
          timestamp: 1_700_000_000_000 + i * 1000,
        })),
      }),
    );
  }
}

type Mutation =
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "delete"; readonly at: number; readonly count: number }
  | { readonly kind: "truncate"; readonly at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }) },
);

function mutate(seed: Buffer, mutations: readonly Mutation[], recomputeCrc: boolean): Buffer {
  let bytes = Buffer.from(seed);
  for (const m of mutations) {
    // Mutating the records and the header after the CRC field is what reaches the parser.
    const lo = recomputeCrc ? HeaderOffset.attributes : 0;
    const at = lo + (m.at % Math.max(1, bytes.length - lo));
    if (m.kind === "set") bytes[at] = m.value;
    else if (m.kind === "insert") bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    else if (m.kind === "delete") bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
    else bytes = bytes.subarray(0, at);
  }
  if (recomputeCrc && bytes.length >= BATCH_HEADER_BYTES) {
    bytes.writeInt32BE(bytes.length - 12, HeaderOffset.batchLength);
    fixCrc(bytes);
  }
  return bytes;
}

describe("decoder fuzzing", () => {
  afterAll(() => {
    expect(inputs).toBeGreaterThanOrEqual(100_000);
  });

  it("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, many) => check(bytes, many)),
      { numRuns: 30_000 },
    );
  });

  it("valid-looking headers (CRC correct) over random records, any codec and counts", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 0x3f }),
        fc.oneof(fc.integer({ min: -2, max: 12 }), fc.integer()),
        fc.oneof(fc.integer({ min: -2, max: 12 }), fc.integer()),
        (records, attributes, recordCount, lastOffsetDelta) =>
          check(rawBatch({ attributes: (attributes & ~0x07) | (attributes % 5), recordCount, lastOffsetDelta }, records)),
      ),
      { numRuns: 40_000 },
    );
  });

  it("mutated valid batches with the CRC recomputed (reaches records and decompressors)", () => {
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, mutations) =>
        check(mutate(seeds[seed]!, mutations, true)),
      ),
      { numRuns: 60_000 },
    );
  });

  it("mutated valid batches as they are, alone and concatenated", () => {
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (seed, mutations, many) => {
        const bytes = mutate(seeds[seed]!, mutations, false);
        check(many ? Buffer.concat([seeds[0]!, bytes, seeds[1]!]) : bytes, many);
      }),
      { numRuns: 20_000 },
    );
  });

  it("the seeds themselves decode (the mutations start from valid batches)", () => {
    for (const seed of seeds) expect(decodeRecordBatch(seed, 0, OPTIONS).records.length).toBeGreaterThan(0);
    expect(seeds.some((s) => decodeRecordBatch(s).compression === CompressionCodec.lz4)).toBe(true);
  });
});
