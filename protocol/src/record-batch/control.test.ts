// Proves control record keys and transaction markers use Kafka's layout (int16 version, int16
// type; int16 version, int32 coordinatorEpoch), keep open type numbers for Sluice's own
// control records, and refuse short or invalid input with typed errors.
import { describe, expect, it } from "vitest";
import { CorruptRecordError, InvalidRecordError } from "../errors.js";
import {
  ControlRecordType,
  controlRecord,
  decodeControlRecord,
  decodeControlRecordKey,
  decodeEndTxnMarker,
  encodeControlRecordKey,
  encodeEndTxnMarker,
} from "./control.js";
import { decodeRecordBatch } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";

describe("control record key", () => {
  it("is version int16 then type int16, big endian", () => {
    expect(encodeControlRecordKey({ version: 0, type: ControlRecordType.abort }).toString("hex")).toBe("00000000");
    expect(encodeControlRecordKey({ version: 0, type: ControlRecordType.commit }).toString("hex")).toBe("00000001");
    expect(encodeControlRecordKey({ version: 1, type: 300 }).toString("hex")).toBe("0001012c");
  });

  it("round-trips any int16 type and ignores bytes a later key version appends", () => {
    for (const type of [0, 1, 2, 100, 0x7fff, -5]) {
      expect(decodeControlRecordKey(encodeControlRecordKey({ version: 0, type }))).toEqual({ version: 0, type });
    }
    expect(decodeControlRecordKey(Buffer.from("0003000901020304", "hex"))).toEqual({ version: 3, type: 9 });
  });

  it("refuses short, null and negative-version keys", () => {
    expect(() => decodeControlRecordKey(null)).toThrow(CorruptRecordError);
    expect(() => decodeControlRecordKey(Buffer.from("000001", "hex"))).toThrow(CorruptRecordError);
    expect(() => decodeControlRecordKey(Buffer.from("ffff0001", "hex"))).toThrow(/version -1/);
    expect(() => encodeControlRecordKey({ version: 0, type: 70_000 })).toThrow(InvalidRecordError);
  });
});

describe("end transaction marker", () => {
  it("is version int16 then coordinatorEpoch int32", () => {
    expect(encodeEndTxnMarker({ version: 0, coordinatorEpoch: 5 }).toString("hex")).toBe("000000000005");
    expect(decodeEndTxnMarker(Buffer.from("0000ffffffff", "hex"))).toEqual({ version: 0, coordinatorEpoch: -1 });
  });

  it("refuses short values and out-of-range epochs", () => {
    expect(() => decodeEndTxnMarker(Buffer.from("00000000", "hex"))).toThrow(CorruptRecordError);
    expect(() => decodeEndTxnMarker(null)).toThrow(CorruptRecordError);
    expect(() => encodeEndTxnMarker({ version: 0, coordinatorEpoch: 2 ** 31 })).toThrow(InvalidRecordError);
  });
});

describe("control batches", () => {
  it("carry Sluice-defined types with raw values through a batch", () => {
    const raftConfig = Buffer.from("voters=1,2,3");
    const batch = encodeRecordBatch({
      records: [controlRecord(1000, raftConfig, { timestamp: 42 }), controlRecord(ControlRecordType.abort, null, { timestamp: 43, version: 0 })],
      control: true,
    });
    const decoded = decodeRecordBatch(batch);
    expect(decoded.isControl).toBe(true);
    expect(decoded.records.map(decodeControlRecord)).toEqual([
      { version: 0, type: 1000, value: raftConfig },
      { version: 0, type: ControlRecordType.abort, value: null },
    ]);
    expect(decoded.records.map((r) => r.timestamp)).toEqual([42, 43]);
  });
});
