// Proves the hand-written FetchResponse encoder produces bytes that protobufjs (the decoder every
// client uses) reads back as exactly the response that was encoded, for arbitrary responses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadProtos, type api } from "@sluice/protocol";
import { afterEncode, encodeFetchResponse, FETCH_SCRATCH_BYTES_MAX } from "./fetch-response-encoder.js";

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
