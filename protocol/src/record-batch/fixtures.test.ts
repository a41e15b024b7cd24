// Proves we decode golden bytes we did not produce (kafkajs captures, a control batch, and a
// batch written out by hand from the Kafka protocol documentation's layout), and that our
// encoder reproduces the uncompressed and control fixtures byte for byte from the same inputs.
import { describe, expect, it } from "vitest";
import { kafkajsControlBatchHex, kafkajsFixtures, type KafkajsFixture } from "../testing/kafkajs-fixtures.js";
import { kafkajsCrc32c } from "../testing/kafkajs.js";
import {
  ControlRecordType,
  controlRecord,
  decodeControlRecord,
  decodeEndTxnMarker,
  encodeEndTxnMarker,
} from "./control.js";
import { decodeRecordBatch, decodeRecordBatches } from "./decode.js";
import { encodeRecordBatch } from "./encode.js";
import { computeBatchCrc } from "./header.js";
import type { RecordInput } from "./record.js";

const utf8 = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, "utf8"));

function inputsOf(fixture: KafkajsFixture): RecordInput[] {
  return fixture.messages.map((m) => ({
    key: utf8(m.key),
    value: utf8(m.value),
    headers: m.headers.map(([key, value]) => ({ key, value: utf8(value) })),
    timestamp: m.timestamp,
  }));
}

describe.each(Object.entries(kafkajsFixtures))("kafkajs fixture %s", (_name, fixture) => {
  const bytes = Buffer.from(fixture.hex, "hex");

  it("decodes to the producer's inputs", () => {
    const batch = decodeRecordBatch(bytes);
    const timestamps = fixture.messages.map((m) => m.timestamp);
    expect(batch.sizeBytes).toBe(bytes.length);
    expect(batch.compression).toBe(fixture.compression);
    expect(batch.isTransactional).toBe(fixture.transactional);
    expect(batch.isControl).toBe(false);
    expect(batch.timestampType).toBe("create");
    expect(batch.header).toMatchObject({
      baseOffset: 0,
      partitionLeaderEpoch: 0, // kafkajs's default
      producerId: fixture.producerId,
      producerEpoch: fixture.producerEpoch,
      baseSequence: fixture.baseSequence,
      lastOffsetDelta: fixture.messages.length - 1,
      recordCount: fixture.messages.length,
      baseTimestamp: Math.min(...timestamps),
      maxTimestamp: Math.max(...timestamps),
    });
    expect(
      batch.records.map((r) => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key?.toString("utf8") ?? null,
        value: r.value?.toString("utf8") ?? null,
        headers: r.headers.map((h) => [h.key, h.value?.toString("utf8") ?? null]),
      })),
    ).toEqual(
      fixture.messages.map((m, i) => ({ offset: i, timestamp: m.timestamp, key: m.key, value: m.value, headers: m.headers })),
    );
  });

  it("carries a CRC that both CRC-32C implementations compute", () => {
    expect(computeBatchCrc(bytes, 0, bytes.length)).toBe(bytes.readUInt32BE(17));
    expect(kafkajsCrc32c(bytes.subarray(21))).toBe(bytes.readUInt32BE(17));
  });
});

describe("our encoder against the fixtures", () => {
  it("reproduces kafkajs's uncompressed batch byte for byte", () => {
    const fixture = kafkajsFixtures["uncompressed"]!;
    const ours = encodeRecordBatch({
      records: inputsOf(fixture),
      partitionLeaderEpoch: 0,
      producerId: fixture.producerId,
      producerEpoch: fixture.producerEpoch,
      baseSequence: fixture.baseSequence,
      transactional: fixture.transactional,
    });
    expect(ours.toString("hex")).toBe(fixture.hex);
  });

  it("round-trips the compressed fixtures' records through each codec", () => {
    for (const fixture of Object.values(kafkajsFixtures)) {
      const ours = encodeRecordBatch({ records: inputsOf(fixture), compression: fixture.compression as 0 | 1 | 2 | 3 | 4 });
      const theirs = decodeRecordBatch(Buffer.from(fixture.hex, "hex"));
      expect(decodeRecordBatch(ours).records).toEqual(theirs.records);
    }
  });
});

describe("control batch fixture", () => {
  const bytes = Buffer.from(kafkajsControlBatchHex, "hex");

  it("decodes as a transactional COMMIT marker", () => {
    const batch = decodeRecordBatch(bytes);
    expect(batch.isControl).toBe(true);
    expect(batch.isTransactional).toBe(true);
    expect(batch.header).toMatchObject({ baseOffset: 1234, partitionLeaderEpoch: 7, producerId: 4242, producerEpoch: 3, baseSequence: -1 });
    expect(batch.records).toHaveLength(1);
    const record = batch.records[0]!;
    expect(record.offset).toBe(1234);
    expect(record.timestamp).toBe(1_700_000_200_000);
    const control = decodeControlRecord(record);
    expect(control).toMatchObject({ version: 0, type: ControlRecordType.commit });
    expect(decodeEndTxnMarker(control.value)).toEqual({ version: 0, coordinatorEpoch: 5 });
  });

  it("is what our encoder writes for the same marker", () => {
    const ours = encodeRecordBatch({
      records: [controlRecord(ControlRecordType.commit, encodeEndTxnMarker({ version: 0, coordinatorEpoch: 5 }), { timestamp: 1_700_000_200_000 })],
      control: true,
      transactional: true,
      baseOffset: 1234,
      partitionLeaderEpoch: 7,
      producerId: 4242,
      producerEpoch: 3,
      baseSequence: -1,
    });
    expect(ours.toString("hex")).toBe(kafkajsControlBatchHex);
  });
});

describe("a batch written by hand from the Kafka protocol documentation", () => {
  // https://kafka.apache.org/documentation/#recordbatch and #record, field by field.
  const handBuilt = [
    "0000000000000005", // baseOffset: int64 = 5
    "0000003e", // batchLength: int32 = 62 (74 bytes - 12)
    "00000002", // partitionLeaderEpoch: int32 = 2
    "02", // magic: int8 = 2
    "85d4936f", // crc: uint32 CRC-32C of attributes..end (computed once, checked below)
    "0000", // attributes: int16 = 0 (no compression, CreateTime, not transactional, not control)
    "00000000", // lastOffsetDelta: int32 = 0
    "00000000000003e8", // baseTimestamp: int64 = 1000
    "00000000000003e8", // maxTimestamp: int64 = 1000
    "ffffffffffffffff", // producerId: int64 = -1
    "ffff", // producerEpoch: int16 = -1
    "ffffffff", // baseSequence: int32 = -1
    "00000001", // records count: int32 = 1
    "18", // record length: varint = 12
    "00", // attributes: int8
    "00", // timestampDelta: varlong = 0
    "00", // offsetDelta: varint = 0
    "02", "6b", // keyLength: varint = 1, key "k"
    "02", "76", // valueLength: varint = 1, value "v"
    "02", // headers count: varint = 1
    "02", "68", // headerKeyLength: varint = 1, "h"
    "02", "78", // headerValueLength: varint = 1, "x"
  ].join("");
  const bytes = Buffer.from(handBuilt, "hex");

  it("has the CRC both implementations compute", () => {
    expect(bytes.length).toBe(74);
    expect(computeBatchCrc(bytes, 0, bytes.length)).toBe(0x85d4936f);
    expect(kafkajsCrc32c(bytes.subarray(21))).toBe(0x85d4936f);
  });

  it("decodes field by field", () => {
    const [batch, ...rest] = decodeRecordBatches(bytes);
    expect(rest).toEqual([]);
    expect(batch!.header).toMatchObject({ baseOffset: 5, batchLength: 62, partitionLeaderEpoch: 2, magic: 2, attributes: 0 });
    expect(batch!.records).toEqual([
      { offset: 5, timestamp: 1000, key: Buffer.from("k"), value: Buffer.from("v"), headers: [{ key: "h", value: Buffer.from("x") }], attributes: 0 },
    ]);
  });

  it("is what our encoder writes for the same record", () => {
    const ours = encodeRecordBatch({
      records: [{ key: Buffer.from("k"), value: Buffer.from("v"), headers: [{ key: "h", value: Buffer.from("x") }], timestamp: 1000 }],
      baseOffset: 5,
      partitionLeaderEpoch: 2,
    });
    expect(ours.toString("hex")).toBe(handBuilt);
  });
});
