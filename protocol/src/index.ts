/**
 * @sluice/protocol: everything that crosses a wire or a disk. Named exports only.
 *
 * | module                    | what it holds                                             |
 * | ------------------------- | --------------------------------------------------------- |
 * | types.ts                  | branded Offset / LeaderEpoch / ids                        |
 * | errors.ts                 | the error-code table and typed error classes              |
 * | assert.ts                 | assertions for our own invariants                         |
 * | record-batch/header.ts    | RecordBatch v2 header layout, validation, stamping        |
 * | grpc.ts                   | proto loading, gRPC message limits, ErrorInfo conversion   |
 * | gen/ (generated, ignored) | TypeScript types of the .proto messages (`api.*`)         |
 */
export * from "./types.js";
export * from "./errors.js";
export * from "./assert.js";
export * from "./record-batch/header.js";
export * from "./grpc.js";
export type * as api from "./gen/api.js";
