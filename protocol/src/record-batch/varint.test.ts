// Proves the varint/varlong codec writes Kafka's (protobuf zig-zag) bytes, agrees with kafkajs's
// independent encoder on random values, and refuses truncated, over-long and out-of-range input.
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptRecordError } from "../errors.js";
import {
  VARINT_BYTES_MAX,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
  type Cursor,
} from "./varint.js";

const require = createRequire(import.meta.url);
const KafkajsEncoder = require("kafkajs/src/protocol/encoder") as new () => {
  writeVarInt(value: number): { buffer: Buffer };
  writeVarLong(value: number): { buffer: Buffer };
};

const cursor = (bytes: readonly number[] | Uint8Array, end?: number): Cursor => {
  const buf = Uint8Array.from(bytes);
  return { buf, pos: 0, end: end ?? buf.length };
};

function varintBytes(value: number): number[] {
  const buf = new Uint8Array(VARINT_BYTES_MAX);
  return Array.from(buf.subarray(0, writeVarint(buf, 0, value)));
}

function varlongBytes(value: number): number[] {
  const buf = new Uint8Array(10);
  return Array.from(buf.subarray(0, writeVarlong(buf, 0, value)));
}

describe("varint", () => {
  it("writes the zig-zag encodings from the protobuf/Kafka documentation", () => {
    expect(varintBytes(0)).toEqual([0x00]);
    expect(varintBytes(-1)).toEqual([0x01]);
    expect(varintBytes(1)).toEqual([0x02]);
    expect(varintBytes(-2)).toEqual([0x03]);
    expect(varintBytes(63)).toEqual([0x7e]);
    expect(varintBytes(-64)).toEqual([0x7f]);
    expect(varintBytes(64)).toEqual([0x80, 0x01]);
    expect(varintBytes(150)).toEqual([0xac, 0x02]);
    expect(varintBytes(2147483647)).toEqual([0xfe, 0xff, 0xff, 0xff, 0x0f]);
    expect(varintBytes(-2147483648)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it("round-trips every int32 and matches kafkajs's encoder byte for byte", () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), (value) => {
        const bytes = varintBytes(value);
        expect(bytes.length).toBe(sizeOfVarint(value));
        expect(bytes).toEqual(Array.from(new KafkajsEncoder().writeVarInt(value).buffer));
        const c = cursor(bytes);
        expect(readVarint(c)).toBe(value);
        expect(c.pos).toBe(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses every truncation of a multi-byte varint", () => {
    const bytes = varintBytes(-2147483648);
    for (let end = 0; end < bytes.length; end++) {
      expect(() => readVarint(cursor(bytes, end))).toThrow(CorruptRecordError);
    }
  });

  it("refuses a fifth byte carrying more than 32 bits or a continuation", () => {
    expect(() => readVarint(cursor([0xff, 0xff, 0xff, 0xff, 0x10]))).toThrow(/longer than 32 bits/);
    expect(() => readVarint(cursor([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]))).toThrow(CorruptRecordError);
  });

  it("never reads past the cursor's end even when the buffer continues", () => {
    const c: Cursor = { buf: Uint8Array.from([0x80, 0x01]), pos: 0, end: 1 };
    expect(() => readVarint(c)).toThrow(/truncated/);
  });
});

describe("varlong", () => {
  it("writes small and boundary values as Kafka does", () => {
    expect(varlongBytes(0)).toEqual([0x00]);
    expect(varlongBytes(-1)).toEqual([0x01]);
    expect(varlongBytes(1)).toEqual([0x02]);
    expect(varlongBytes(63)).toEqual([0x7e]);
    expect(varlongBytes(64)).toEqual([0x80, 0x01]);
    // 2^53 - 1 zig-zags to 2^54 - 2 (54 bits): seven 7-bit groups, then the top 5 bits.
    expect(varlongBytes(Number.MAX_SAFE_INTEGER)).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]);
    expect(varlongBytes(-Number.MAX_SAFE_INTEGER)).toEqual([0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]);
  });

  it("round-trips every safe integer and matches kafkajs's encoder byte for byte", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer()),
        (value) => {
          const bytes = varlongBytes(value);
          expect(bytes.length).toBe(sizeOfVarlong(value));
          expect(bytes).toEqual(Array.from(new KafkajsEncoder().writeVarLong(value).buffer));
          const c = cursor(bytes);
          expect(readVarlong(c)).toBe(value);
          expect(c.pos).toBe(bytes.length);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("refuses values outside the safe integer range", () => {
    // 2^53 zig-zags to 2^54: seven empty groups, then bit 5 of the eighth.
    const twoTo53 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    expect(() => readVarlong(cursor(twoTo53))).toThrow(/safe integer/);
    // -2^53 zig-zags to 2^54 - 1.
    expect(() => readVarlong(cursor([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]))).toThrow(/safe integer/);
    // int64 max: ten bytes, valid Kafka, not representable.
    const int64Max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(() => readVarlong(cursor(int64Max))).toThrow(CorruptRecordError);
  });

  it("refuses encodings over 64 bits and truncations", () => {
    expect(() => readVarlong(cursor([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]))).toThrow(/64 bits/);
    expect(() => readVarlong(cursor(new Array<number>(11).fill(0x80)))).toThrow(CorruptRecordError);
    const bytes = varlongBytes(Number.MAX_SAFE_INTEGER);
    for (let end = 0; end < bytes.length; end++) {
      expect(() => readVarlong(cursor(bytes, end))).toThrow(CorruptRecordError);
    }
  });

  it("accepts non-canonical padding Kafka's reader accepts", () => {
    expect(readVarlong(cursor([0x82, 0x80, 0x00]))).toBe(1);
    expect(readVarint(cursor([0x82, 0x80, 0x00]))).toBe(1);
  });
});
