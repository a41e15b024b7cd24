/**
 * Test-only typed access to kafkajs 2.2.4's own RecordBatch code, the independent
 * implementation our codec is checked against (tests and scripts/capture-fixtures.ts).
 *
 * - Encoding goes through kafkajs's Produce v3 request encoder (the exact bytes its producer
 *   puts on the wire), and the record set is cut out of the request.
 * - Decoding uses kafkajs's RecordBatch v0 decoder (the one its consumer uses for magic 2).
 * - kafkajs ships gzip only; snappy, lz4 and zstd are plugins users register. The plugins here
 *   call the native libraries directly, not Sluice's compression/ code: lz4 uses lz4-napi's
 *   *frame* functions (an independent LZ4 frame implementation, lz4_flex), zstd uses
 *   zstd-napi's one-shot API, snappy writes raw snappy and reads raw or xerial framing with the
 *   small parser below. So lz4 frames and raw snappy are checked against code we did not
 *   write; xerial framing only against this second reading of the same format description.
 */
import { createRequire } from "node:module";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from "snappy";
import { compress as zstdCompress, decompress as zstdDecompress } from "zstd-napi";

const require = createRequire(import.meta.url);

export const KafkajsCompression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

export interface KafkajsMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string>>>;
  /** Must be set: kafkajs substitutes Date.now() for a missing (or 0) timestamp. */
  readonly timestamp: number;
}

export interface KafkajsBatchSpec {
  readonly compression: number;
  readonly messages: readonly KafkajsMessage[];
  readonly transactionalId?: string | null;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly firstSequence?: number;
}

interface KafkajsEncoder {
  readonly buffer: Buffer;
}

interface KafkajsDecoderInstance {
  readonly buffer: Buffer;
}

type DecoderConstructor = new (buffer: Buffer) => KafkajsDecoderInstance;

export interface KafkajsDecodedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | null | Array<Buffer | null>>;
  readonly isControlRecord: boolean;
}

export interface KafkajsDecodedBatch {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly records: readonly KafkajsDecodedRecord[];
}

interface ProduceRequest {
  encode(): Promise<KafkajsEncoder>;
}

type ProduceV3 = (args: {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: number;
  producerEpoch?: number;
  compression: number;
  topicData: Array<{
    topic: string;
    partitions: Array<{ partition: number; firstSequence?: number; messages: readonly KafkajsMessage[] }>;
  }>;
}) => ProduceRequest;

interface KafkajsCodec {
  compress(encoder: KafkajsEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const produceV3 = require("kafkajs/src/protocol/requests/produce/v3/request") as ProduceV3;
const Decoder = require("kafkajs/src/protocol/decoder") as DecoderConstructor;
const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (
  decoder: KafkajsDecoderInstance,
) => Promise<KafkajsDecodedBatch>;
const crc32C = require("kafkajs/src/protocol/recordBatch/crc32C") as (buffer: Buffer) => number;
const compression = require("kafkajs/src/protocol/message/compression") as {
  Codecs: Record<number, () => KafkajsCodec>;
};

/** Encodes one batch with kafkajs's producer code and returns the batch's bytes. */
export async function kafkajsEncodeBatch(spec: KafkajsBatchSpec): Promise<Buffer> {
  const request = produceV3({
    acks: -1,
    timeout: 30_000,
    transactionalId: spec.transactionalId ?? null,
    ...(spec.producerId === undefined ? {} : { producerId: spec.producerId }),
    ...(spec.producerEpoch === undefined ? {} : { producerEpoch: spec.producerEpoch }),
    compression: spec.compression,
    topicData: [
      {
        topic: "t",
        partitions: [
          {
            partition: 0,
            ...(spec.firstSequence === undefined ? {} : { firstSequence: spec.firstSequence }),
            messages: spec.messages,
          },
        ],
      },
    ],
  });
  const wire = (await request.encode()).buffer;
  // transactional_id, acks, timeout, [topic, [partition, record_set]]: one topic, one partition.
  let pos = 0;
  const tidLength = wire.readInt16BE(pos);
  pos += 2 + Math.max(0, tidLength);
  pos += 2 + 4; // acks, timeout
  if (wire.readInt32BE(pos) !== 1) throw new Error("expected one topic");
  pos += 4;
  pos += 2 + wire.readInt16BE(pos); // topic name
  if (wire.readInt32BE(pos) !== 1) throw new Error("expected one partition");
  pos += 4 + 4; // partitions count, partition id
  const size = wire.readInt32BE(pos);
  pos += 4;
  if (pos + size !== wire.length) throw new Error("record set does not end the request");
  return Buffer.from(wire.subarray(pos, pos + size));
}

/** Decodes the batch at the start of `batch` with kafkajs's consumer code (no CRC check there). */
export function kafkajsDecodeBatch(batch: Buffer): Promise<KafkajsDecodedBatch> {
  return decodeBatch(new Decoder(batch));
}

/** kafkajs's own (pure JS, table-driven) CRC-32C. */
export function kafkajsCrc32c(bytes: Buffer): number {
  return crc32C(bytes);
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** The plugin's own reading of xerial framing: a 16-byte header, then (int32 BE length, raw block)*. */
function unsnappy(buffer: Buffer): Buffer {
  if (buffer.length < 16 || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyUncompressSync(buffer) as Buffer;
  const parts: Buffer[] = [];
  for (let pos = 16; pos < buffer.length; ) {
    const length = buffer.readInt32BE(pos);
    parts.push(snappyUncompressSync(buffer.subarray(pos + 4, pos + 4 + length)) as Buffer);
    pos += 4 + length;
  }
  return Buffer.concat(parts);
}

let registered = false;

/** Registers snappy, lz4 and zstd codecs in kafkajs (process-wide, once). */
export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  compression.Codecs[KafkajsCompression.snappy] = () => ({
    compress: (encoder) => Promise.resolve(snappyCompressSync(encoder.buffer)),
    decompress: (buffer) => Promise.resolve(unsnappy(buffer)),
  });
  compression.Codecs[KafkajsCompression.lz4] = () => ({
    compress: (encoder) => Promise.resolve(compressFrameSync(encoder.buffer)),
    decompress: (buffer) => Promise.resolve(decompressFrameSync(buffer)),
  });
  compression.Codecs[KafkajsCompression.zstd] = () => ({
    compress: (encoder) => Promise.resolve(zstdCompress(encoder.buffer)),
    decompress: (buffer) => Promise.resolve(zstdDecompress(buffer)),
  });
}

/** kafkajs's record encoder for one record (used to build the control-batch fixture). */
export const kafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0") as (args: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer>;
}) => KafkajsEncoder & { size(): number };

export interface KafkajsEncoderWriter extends KafkajsEncoder {
  writeInt8(value: number): KafkajsEncoderWriter;
  writeInt16(value: number): KafkajsEncoderWriter;
  writeInt32(value: number): KafkajsEncoderWriter;
  writeUInt32(value: number): KafkajsEncoderWriter;
  writeInt64(value: number | string): KafkajsEncoderWriter;
  writeBytes(value: Buffer): KafkajsEncoderWriter;
  writeEncoder(value: KafkajsEncoder): KafkajsEncoderWriter;
  writeArray(values: readonly KafkajsEncoder[], type: "object"): KafkajsEncoderWriter;
}

/** kafkajs's Encoder, for assembling bytes with its primitives. */
export const KafkajsEncoderClass = require("kafkajs/src/protocol/encoder") as new () => KafkajsEncoderWriter;

/**
 * A control batch assembled from kafkajs's primitives exactly as its RecordBatch encoder lays a
 * batch out (kafkajs has no control-batch encoder: Kafka's transaction coordinator writes
 * those), with attributes transactional|control and kafkajs's CRC-32C.
 */
export function kafkajsControlBatch(spec: {
  readonly baseOffset: number;
  readonly partitionLeaderEpoch: number;
  readonly timestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly key: Buffer;
  readonly value: Buffer;
}): Buffer {
  const record = kafkajsRecord({ offsetDelta: 0, timestampDelta: 0, key: spec.key, value: spec.value });
  const body = new KafkajsEncoderClass()
    .writeInt16(0x10 | 0x20)
    .writeInt32(0) // lastOffsetDelta
    .writeInt64(spec.timestamp)
    .writeInt64(spec.timestamp)
    .writeInt64(spec.producerId)
    .writeInt16(spec.producerEpoch)
    .writeInt32(-1) // baseSequence: Kafka writes -1 for control batches
    .writeArray([record], "object");
  const batch = new KafkajsEncoderClass()
    .writeInt32(spec.partitionLeaderEpoch)
    .writeInt8(2)
    .writeUInt32(kafkajsCrc32c(body.buffer))
    .writeEncoder(body);
  return Buffer.from(new KafkajsEncoderClass().writeInt64(spec.baseOffset).writeBytes(batch.buffer).buffer);
}
