/** The baseline's service definition: two bidi methods moving raw Buffers (see grpc-baseline-server.ts). */
import type * as grpc from "@grpc/grpc-js";

const identity = (value: Buffer): Buffer => value;

function bidi(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const baselineService = {
  Push: bidi("/bench.Baseline/Push"),
  Pull: bidi("/bench.Baseline/Pull"),
} satisfies grpc.ServiceDefinition;
