// Proves the hand-written ErrorInfo decoder (ERROR frames of the data listener) reads whatever
// protobufjs encodes as the same ErrorInfo, including negative codes, unicode and unknown fields,
// and turns malformed payloads into a typed INVALID_REQUEST instead of reading past them; and
// that FETCH_RESPONSE payloads decode with their records as views of the payload (no copy).
import { join } from "node:path";
import fc from "fast-check";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { loadProtos, protoDir, SluiceError } from "@sluice/protocol";
import { decodeErrorInfo, errorOfFrame } from "./data-connection-codec.js";

// The reference encoder: protobufjs on the .proto file itself (a transitive dependency of
// @grpc/proto-loader; the SDK does not ship it, so only this test uses it).
const ErrorInfo = protobuf.loadSync(join(protoDir, "sluice/v1/common.proto")).lookupType("sluice.v1.ErrorInfo");

function encode(info: { code: number; name: string; message: string; retriable: boolean }): Buffer {
  return Buffer.from(ErrorInfo.encode(ErrorInfo.fromObject(info)).finish());
}

const infoArb = fc.record({
  code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  name: fc.string({ maxLength: 40 }),
  message: fc.string({ unit: "grapheme", maxLength: 200 }),
  retriable: fc.boolean(),
});

describe("decodeErrorInfo", () => {
  it("decodes what protobufjs encodes", () => {
    fc.assert(
      fc.property(infoArb, (info) => {
        expect(decodeErrorInfo(encode(info))).toEqual(info);
      }),
      { numRuns: 500 },
    );
  });

  it("skips fields it does not know (a newer broker's ErrorInfo)", () => {
    const known = encode({ code: 6, name: "NOT_LEADER_OR_FOLLOWER", message: "moved", retriable: true });
    // field 9 varint 300, field 10 bytes "xy", field 11 fixed64, field 12 fixed32
    const unknown = Buffer.from([0x48, 0xac, 0x02, 0x52, 0x02, 0x78, 0x79, 0x59, 1, 2, 3, 4, 5, 6, 7, 8, 0x65, 1, 2, 3, 4]);
    expect(decodeErrorInfo(Buffer.concat([unknown, known]))).toEqual({ code: 6, name: "NOT_LEADER_OR_FOLLOWER", message: "moved", retriable: true });
  });

  it("refuses truncated or impossible payloads with INVALID_REQUEST", () => {
    // code -1: tag + 10 bytes; name: tag + length + 20 bytes; message: tag + length + 4 bytes;
    // retriable: tag + 1 byte (protobufjs writes a set field even when it is the default).
    const whole = encode({ code: -1, name: "UNKNOWN_SERVER_ERROR", message: "boom", retriable: false });
    expect(whole.length).toBe(11 + 22 + 6 + 2);
    const accepted: number[] = [];
    for (let cut = 1; cut < whole.length; cut++) {
      try {
        decodeErrorInfo(whole.subarray(0, cut));
        accepted.push(cut);
      } catch (error) {
        expect(error instanceof SluiceError && error.errorName).toBe("INVALID_REQUEST");
      }
    }
    // A cut between two fields is a valid shorter message; every other cut is refused.
    expect(accepted).toEqual([11, 33, 39]);
    expect(() => decodeErrorInfo(Buffer.from([0x12, 0x05, 0x61]))).toThrow(SluiceError);
    expect(() => decodeErrorInfo(Buffer.from([0x0b]))).toThrow(/wire type 3/);
    expect(() => decodeErrorInfo(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/longer than 10 bytes/);
  });

  it("gives the typed error of the code, UNKNOWN_SERVER_ERROR for a code of 0", () => {
    const error = errorOfFrame(encode({ code: 6, name: "NOT_LEADER_OR_FOLLOWER", message: "moved", retriable: true }));
    expect(error.errorName).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(error.retriable).toBe(true);
    expect(error.message).toBe("moved");
    expect(errorOfFrame(Buffer.alloc(0)).errorName).toBe("UNKNOWN_SERVER_ERROR");
  });
});

describe("FETCH_RESPONSE decoding", () => {
  it("gives each partition's records as a view of the received payload, not a copy", () => {
    const fetch = loadProtos().sluice.Sluice.service.Fetch;
    const encoded = fetch.responseSerialize({ topics: [{ topic: "t", partitions: [{ partition: 0, highWatermark: 3, records: Buffer.from("batch bytes") }] }] });
    // As a frame reader hands it over: a view into a larger received chunk.
    const chunk = Buffer.alloc(9 + encoded.length + 5); // not from Node's shared pool
    encoded.copy(chunk, 9);
    const payload = chunk.subarray(9, 9 + encoded.length);
    const records = fetch.responseDeserialize(payload).topics[0]!.partitions[0]!.records;
    expect(records.toString()).toBe("batch bytes");
    expect(records.buffer).toBe(chunk.buffer);
    chunk.fill(0x41, 9, 9 + encoded.length);
    expect(records.toString()).toBe("A".repeat("batch bytes".length));
  });
});
