/**
 * Loads the sluice.v1 and grpc.health.v1 services from the .proto files (the source of truth)
 * and names the gRPC limits both ends must agree on.
 *
 * Message size: grpc-js rejects messages over 4 MiB by default, which would cap a produce
 * request far below what batching wants. Both the server and the client set
 * `grpc.max_receive_message_length` / `grpc.max_send_message_length` to
 * GRPC_MESSAGE_BYTES_MAX. The largest single record batch is a topic's `max.message.bytes`
 * (default 1 MiB, at most RECORD_BATCH_BYTES_MAX); a request may carry many batches for many
 * partitions up to GRPC_MESSAGE_BYTES_MAX in total.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProtoGrpcType as DataProto } from "./gen/data.js";
import type { ProtoGrpcType as AdminProto } from "./gen/admin.js";
import type { ProtoGrpcType as GroupsProto } from "./gen/groups.js";
import type { ProtoGrpcType as HealthProto } from "./gen/health.js";
import { errorNameOf, errorTable, SluiceError, type ErrorName } from "./errors.js";
import type { ErrorInfo__Output } from "./gen/sluice/v1/ErrorInfo.js";

/** 64 MiB: room for many 1 MiB batches across partitions in one request, small enough that a
 * hostile client cannot make the broker buffer unbounded memory per call. */
export const GRPC_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
/** The largest `max.message.bytes` a topic may set: 16 MiB keeps one batch well inside a message. */
export const RECORD_BATCH_BYTES_MAX = 16 * 1024 * 1024;

export const grpcChannelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": GRPC_MESSAGE_BYTES_MAX,
  "grpc.max_send_message_length": GRPC_MESSAGE_BYTES_MAX,
};

export const protoDir = join(dirname(fileURLToPath(import.meta.url)), "..", "proto");

/** Loader options; they match what scripts/gen-types.mjs generates types for. */
export const protoLoaderOptions: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
  includeDirs: [protoDir],
};

export interface LoadedProtos {
  readonly sluice: DataProto["sluice"]["v1"] & AdminProto["sluice"]["v1"] & GroupsProto["sluice"]["v1"];
  readonly health: HealthProto["grpc"]["health"]["v1"];
}

let loaded: LoadedProtos | undefined;

export function loadProtos(): LoadedProtos {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(
    ["sluice/v1/data.proto", "sluice/v1/admin.proto", "sluice/v1/groups.proto", "grpc/health/v1/health.proto"],
    protoLoaderOptions,
  );
  const root = grpc.loadPackageDefinition(definition) as unknown as DataProto & AdminProto & GroupsProto & HealthProto;
  loaded = { sluice: root.sluice.v1, health: root.grpc.health.v1 };
  return loaded;
}

/** The wire form of an error for a response field. */
export function toErrorInfo(error: unknown): ErrorInfo__Output {
  if (error instanceof SluiceError) {
    return { code: error.code, name: error.errorName, message: error.message, retriable: error.retriable };
  }
  const spec = errorTable.UNKNOWN_SERVER_ERROR;
  return { code: spec.code, name: "UNKNOWN_SERVER_ERROR", message: error instanceof Error ? error.message : String(error), retriable: spec.retriable };
}

/** Turns a response's ErrorInfo back into a typed error (null when it means success). */
export function fromErrorInfo(info: ErrorInfo__Output | null | undefined): SluiceError | null {
  if (info === null || info === undefined || info.code === 0) return null;
  const name: ErrorName = errorNameOf(info.code);
  const error = new SluiceError(name, info.message);
  error.message = info.message;
  return error;
}


