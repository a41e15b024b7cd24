/**
 * @sluice/protocol: everything that crosses a wire or a disk. Named exports only.
 *
 * | module                    | what it holds                                             |
 * | ------------------------- | --------------------------------------------------------- |
 * | types.ts                  | branded Offset / LeaderEpoch / ids                        |
 * | errors.ts                 | the error-code table and typed error classes              |
 * | assert.ts                 | assertions for our own invariants                         |
 * | record-batch/header.ts    | RecordBatch v2 header layout, validation, stamping        |
 * | record-batch/record.ts    | record and batch shapes the codec takes and returns       |
 * | record-batch/encode.ts    | encodeRecordBatch: records -> one batch (any codec)       |
 * | record-batch/builder.ts   | RecordBatchBuilder: records encoded as they are appended  |
 * | record-batch/decode.ts    | decodeRecordBatch(es): CRC-checked, bounded decoding      |
 * | record-batch/control.ts   | control record keys/values (transaction markers, ...)     |
 * | record-batch/limits.ts    | the codec's default bounds                                |
 * | record-batch/varint.ts    | zig-zag varint/varlong (internal, not exported)           |
 * | compression/              | gzip, snappy, lz4, zstd: compress / bounded decompress    |
 * | grpc.ts                   | proto loading, gRPC message limits, ErrorInfo conversion   |
 * | data-frame.ts             | framing of the data listener (Produce/Fetch over TCP)     |
 * | gen/ (generated, ignored) | TypeScript types of the .proto messages (`api.*`)         |
 */
export * from "./types.js";
export * from "./errors.js";
export * from "./assert.js";
export * from "./record-batch/header.js";
export type { RecordHeader, RecordInput, BatchInput, DecodedRecord, DecodedBatch, DecodeOptions } from "./record-batch/record.js";
export { encodeRecordBatch } from "./record-batch/encode.js";
export { RecordBatchBuilder } from "./record-batch/builder.js";
export type { BatchBuilderOptions, RecordBytes, RecordHeaderInput, RecordHeadersInput } from "./record-batch/builder.js";
export { decodeRecordBatch, decodeRecordBatches } from "./record-batch/decode.js";
export * from "./record-batch/control.js";
export { BATCH_BYTES_MAX_DEFAULT, UNCOMPRESSED_BYTES_MAX_DEFAULT } from "./record-batch/limits.js";
export { compress, decompress } from "./compression/index.js";
export * from "./grpc.js";
export * from "./data-frame.js";
export type * as api from "./gen/api.js";
