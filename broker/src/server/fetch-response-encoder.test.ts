// Proves the hand-written FetchResponse encoders (one buffer for gRPC, pieces for the data
// listener) and the ErrorInfo encoder produce bytes that protobufjs (the decoder every client
// uses) reads back as exactly what was encoded, for arbitrary responses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadProtos, type api } from "@sluice/protocol";
import {
  afterEncode,
  encodeErrorInfo,
  encodeFetchResponse,
  encodeFetchResponsePieces,
  FETCH_RECORDS_INLINE_BYTES_MAX,
  FETCH_SCRATCH_BYTES_MAX,
  takeAfterEncode,
} from "./fetch-response-encoder.js";
import { decodeErrorInfoWithProtobufjs } from "./data/testing/data-client.js";

const decode = loadProtos().sluice.Sluice.service.Fetch.responseDeserialize;

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.oneof(fc.constantFrom(0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 32, 2 ** 31), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }));
const errorInfo = fc.record({ code: int32, name: fc.string(), message: fc.string({ unit: "grapheme" }), retriable: fc.boolean() });
const partition = fc.record({
  partition: int32,
  error: fc.option(errorInfo, { nil: null }),
  highWatermark: int64,
  logStartOffset: int64,
  records: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});
/** Records on both sides of FETCH_RECORDS_INLINE_BYTES_MAX (inlined or sent as their own piece). */
const anySizeRecords = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: FETCH_RECORDS_INLINE_BYTES_MAX - 2, max: FETCH_RECORDS_INLINE_BYTES_MAX + 3000 }).map((n) => new Uint8Array(n).fill(n % 251)),
).map((a) => Buffer.from(a));
const response = fc.record({
  topics: fc.array(fc.record({ topic: fc.string(), partitions: fc.array(partition, { maxLength: 4 }) }), { maxLength: 4 }),
  throttleMs: int32,
});

/** What protobufjs's decoder (defaults on) yields for an input. */
function expected(input: api.FetchResponseInput): unknown {
  return {
    throttleMs: input.throttleMs ?? 0,
    topics: (input.topics ?? []).map((t) => ({
      topic: t.topic ?? "",
      partitions: (t.partitions ?? []).map((p) => ({
        partition: p.partition ?? 0,
        error: p.error === null || p.error === undefined ? null : { code: p.error.code ?? 0, name: p.error.name ?? "", message: p.error.message ?? "", retriable: p.error.retriable ?? false },
        highWatermark: p.highWatermark ?? 0,
        logStartOffset: p.logStartOffset ?? 0,
        records: Buffer.from((p.records as Uint8Array | undefined) ?? []),
      })),
    })),
  };
}

describe("encodeFetchResponse", () => {
  it("round-trips through protobufjs for arbitrary responses", () => {
    fc.assert(
      fc.property(response, (input) => {
        const decoded = decode(Buffer.from(encodeFetchResponse(input)));
        expect(decoded).toEqual(expected(input));
      }),
      { numRuns: 300 },
    );
  });

  it("encodes a response larger than the scratch limit in its own buffer", () => {
    const records = Buffer.alloc(FETCH_SCRATCH_BYTES_MAX + 10, 0x5a);
    const input = { topics: [{ topic: "t", partitions: [{ partition: 3, highWatermark: 9, logStartOffset: 0, records }] }], throttleMs: 0 };
    const decoded = decode(Buffer.from(encodeFetchResponse(input))) as api.FetchResponse;
    expect(decoded.topics[0]?.partitions[0]?.records.equals(records)).toBe(true);
  });

  it("reuses its scratch buffer: a result is only valid until the next call", () => {
    const a = encodeFetchResponse({ topics: [{ topic: "a", partitions: [] }] });
    const copy = Buffer.from(a);
    encodeFetchResponse({ topics: [{ topic: "b", partitions: [] }] });
    expect(a.equals(copy)).toBe(false);
  });

  it("calls a registered release once, after the records were copied out", () => {
    const records = Buffer.from("batch-bytes");
    const input = { topics: [{ topic: "t", partitions: [{ partition: 0, highWatermark: 5, logStartOffset: 0, records }] }], throttleMs: 0 };
    let releases = 0;
    afterEncode(input, () => {
      releases++;
      records.fill(0); // the pooled bytes are reused at once
    });
    const out = encodeFetchResponse(input);
    const decoded = decode(Buffer.from(out)) as api.FetchResponse;
    expect(releases).toBe(1);
    expect(decoded.topics[0]?.partitions[0]?.records.toString()).toBe("batch-bytes");
    encodeFetchResponse(input);
    expect(releases).toBe(1);
  });
});

/** Sum of the pieces after the reserved bytes, i.e. the message they spell. */
function joined(pieces: readonly Buffer[], reserveBytes = 0): Buffer {
  return Buffer.concat(pieces).subarray(reserveBytes);
}

describe("encodeFetchResponsePieces", () => {
  const examples: Array<[string, api.FetchResponseInput]> = [
    ["an empty response", { topics: [], throttleMs: 0 }],
    [
      "per-partition errors and empty records",
      {
        topics: [
          {
            topic: "t",
            partitions: [
              { partition: 0, error: { code: 3, name: "UNKNOWN_TOPIC_OR_PARTITION", message: "topic \"t\" does not exist", retriable: true }, highWatermark: -1, logStartOffset: -1, records: Buffer.alloc(0) },
              { partition: 1, error: null, highWatermark: 0, logStartOffset: 0, records: Buffer.alloc(0) },
            ],
          },
        ],
        throttleMs: 0,
      },
    ],
    [
      "several topics and partitions with small and large records",
      {
        topics: [
          { topic: "a", partitions: [{ partition: 0, highWatermark: 10, logStartOffset: 0, records: Buffer.alloc(FETCH_RECORDS_INLINE_BYTES_MAX + 1, 1) }, { partition: 1, highWatermark: 3, logStartOffset: 1, records: Buffer.from("small") }] },
          { topic: "ünïcode", partitions: [{ partition: 7, highWatermark: 2 ** 40, logStartOffset: 2 ** 33, records: Buffer.alloc(100_000, 2) }] },
        ],
        throttleMs: 5,
      },
    ],
    [
      "negative values",
      { topics: [{ topic: "n", partitions: [{ partition: -1, error: { code: -1, name: "UNKNOWN_SERVER_ERROR", message: "x", retriable: false }, highWatermark: -(2 ** 53 - 1), logStartOffset: -5, records: Buffer.alloc(0) }] }], throttleMs: -3 },
    ],
  ];

  for (const [name, input] of examples) {
    it(`decodes like encodeFetchResponse: ${name}`, () => {
      const whole = decode(Buffer.from(encodeFetchResponse(input)));
      const { pieces, messageBytes } = encodeFetchResponsePieces(input, 9);
      const message = joined(pieces, 9);
      expect(message.length).toBe(messageBytes);
      expect(decode(message)).toEqual(whole);
      expect(decode(message)).toEqual(expected(input));
    });
  }

  it("decodes like encodeFetchResponse for arbitrary responses, large records included", () => {
    const bigResponse = fc.record({
      topics: fc.array(fc.record({ topic: fc.string(), partitions: fc.array(partition, { maxLength: 3 }) }), { maxLength: 3 }),
      throttleMs: int32,
    });
    fc.assert(
      fc.property(bigResponse, fc.array(anySizeRecords, { minLength: 9, maxLength: 9 }), fc.nat({ max: 16 }), (input, records, reserve) => {
        let i = 0;
        const withRecords = { ...input, topics: input.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, records: records[i++ % records.length]! })) })) };
        const expectedBytes = Buffer.from(encodeFetchResponse(withRecords));
        const { pieces, messageBytes } = encodeFetchResponsePieces(withRecords, reserve);
        expect(messageBytes).toBe(expectedBytes.length);
        expect(joined(pieces, reserve).equals(expectedBytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("sends large records as views of their own buffers and leaves the release to the caller", () => {
    const large = Buffer.alloc(FETCH_RECORDS_INLINE_BYTES_MAX + 100, 0x42);
    const small = Buffer.from("tiny");
    const input = { topics: [{ topic: "t", partitions: [{ partition: 0, highWatermark: 1, logStartOffset: 0, records: large }, { partition: 1, highWatermark: 1, logStartOffset: 0, records: small }] }], throttleMs: 0 };
    let releases = 0;
    afterEncode(input, () => releases++);
    const { pieces } = encodeFetchResponsePieces(input, 9);
    const view = pieces.find((p) => p.length === large.length);
    expect(view?.buffer).toBe(large.buffer);
    expect(view?.byteOffset).toBe(large.byteOffset);
    // prefix | the large records | the rest, small records copied in
    expect(pieces.length).toBe(3);
    expect(releases).toBe(0);
    takeAfterEncode(input)?.();
    expect(releases).toBe(1);
    expect(takeAfterEncode(input)).toBeUndefined();
  });
});

describe("encodeErrorInfo", () => {
  it("round-trips through protobufjs for arbitrary errors", () => {
    fc.assert(
      fc.property(errorInfo, fc.nat({ max: 12 }), (info, reserve) => {
        const bytes = encodeErrorInfo(info, reserve).subarray(reserve);
        expect(decodeErrorInfoWithProtobufjs(bytes)).toEqual(info);
      }),
      { numRuns: 300 },
    );
  });
});
