/**
 * The one table mapping every gRPC service/method to its handler (STYLE habit 7), and the
 * wrapping every call goes through: metrics (count by status code, latency), cancellation, and
 * turning errors into gRPC statuses.
 *
 * Errors:
 * - Per-partition/per-topic problems are ErrorInfo inside normal responses (handlers do that).
 * - A malformed request as a whole (RequestError / INVALID_REQUEST) → INVALID_ARGUMENT.
 * - An unknown health service → NOT_FOUND.
 * - Any other SluiceError → UNAVAILABLE when retriable, else FAILED_PRECONDITION; trailers
 *   `sluice-error-code` / `sluice-error-name` carry the table code.
 * - Anything else is our bug → INTERNAL, logged with its stack; an AssertionError is also handed
 *   to `onBug` (the broker crashes on broken invariants, STYLE habit 5).
 *
 * `buildServices` checks that every method of every loaded service has a handler, so adding an
 * RPC to a .proto file without a handler fails at start, not at the first call.
 */
import * as grpc from "@grpc/grpc-js";
import { AssertionError, loadProtos, SluiceError } from "@sluice/protocol";
import type { BrokerContext } from "./context.js";
import { encodeFetchResponse } from "./fetch-response-encoder.js";
import { handleAlterConfigs } from "./handlers/alter-configs.js";
import { handleConsumerGroupHeartbeat } from "./handlers/consumer-group-heartbeat.js";
import { handleCreatePartitions } from "./handlers/create-partitions.js";
import { handleCreateTopics } from "./handlers/create-topics.js";
import { handleDeleteGroups } from "./handlers/delete-groups.js";
import { handleDeleteOffsets } from "./handlers/delete-offsets.js";
import { handleDeleteTopics } from "./handlers/delete-topics.js";
import { handleDescribeCluster } from "./handlers/describe-cluster.js";
import { handleDescribeConfigs } from "./handlers/describe-configs.js";
import { handleDescribeGroups } from "./handlers/describe-groups.js";
import { handleDescribeTopics } from "./handlers/describe-topics.js";
import { handleFetch } from "./handlers/fetch.js";
import { handleFindCoordinator } from "./handlers/find-coordinator.js";
import { handleHealthCheck } from "./handlers/health-check.js";
import { handleHealthWatch } from "./handlers/health-watch.js";
import { handleListGroups } from "./handlers/list-groups.js";
import { handleListOffsets } from "./handlers/list-offsets.js";
import { handleListTopics } from "./handlers/list-topics.js";
import { handleMetadata } from "./handlers/metadata.js";
import { handleOffsetCommit } from "./handlers/offset-commit.js";
import { handleOffsetFetch } from "./handlers/offset-fetch.js";
import { handleProduce } from "./handlers/produce.js";
import { handleProduceStream } from "./handlers/produce-stream.js";
import { handleResetOffsets } from "./handlers/reset-offsets.js";
import { RequestError, ServiceNotFoundError } from "./request-checks.js";

export interface HandlerHooks {
  /** Called with an AssertionError raised while handling a call (our bug). */
  readonly onBug: (error: AssertionError) => void;
}

interface RpcEntry {
  readonly kind: "unary" | "bidi" | "server-stream";
  bind(ctx: BrokerContext, method: string, hooks: HandlerHooks): grpc.UntypedHandleCall;
}

export function statusOf(error: unknown): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (error instanceof ServiceNotFoundError) return { code: grpc.status.NOT_FOUND, details: error.message, metadata };
  if (error instanceof SluiceError) {
    metadata.set("sluice-error-code", String(error.code));
    metadata.set("sluice-error-name", error.errorName);
    const code = error instanceof RequestError || error.errorName === "INVALID_REQUEST"
      ? grpc.status.INVALID_ARGUMENT
      : error.retriable ? grpc.status.UNAVAILABLE : grpc.status.FAILED_PRECONDITION;
    return { code, details: `${error.errorName}: ${error.message}`, metadata };
  }
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error), metadata };
}

function reportUnexpected(ctx: BrokerContext, method: string, error: unknown, hooks: HandlerHooks): void {
  if (error instanceof SluiceError || error instanceof ServiceNotFoundError) return;
  ctx.logger.error({ method, err: error }, "handler failed");
  if (error instanceof AssertionError) hooks.onBug(error);
}

function unary<Req, Res>(handle: (ctx: BrokerContext, request: Req, cancelled: AbortSignal) => Promise<Res>): RpcEntry {
  return {
    kind: "unary",
    bind: (ctx, method, hooks) => {
      const handler: grpc.handleUnaryCall<Req, Res> = (call, callback) => {
        const started = process.hrtime.bigint();
        const cancel = new AbortController();
        let answered = false;
        // grpc-js also emits "cancelled" after a normal answer; only a client that left early matters.
        call.on("cancelled", () => {
          if (!answered) cancel.abort();
        });
        const done = (code: grpc.status): void => {
          answered = true;
          ctx.metrics.rpcRequests.inc({ method, code: grpc.status[code] });
          ctx.metrics.rpcDuration.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
        };
        handle(ctx, call.request, cancel.signal).then(
          (response) => {
            done(grpc.status.OK);
            callback(null, response);
          },
          (error: unknown) => {
            const status = statusOf(error);
            done(status.code);
            reportUnexpected(ctx, method, error, hooks);
            callback(status);
          },
        );
      };
      return handler as grpc.UntypedHandleCall;
    },
  };
}

function stream<Call>(kind: "bidi" | "server-stream", handle: (ctx: BrokerContext, call: Call) => void): RpcEntry {
  return {
    kind,
    bind: (ctx, method, hooks) => {
      const handler = (call: Call): void => {
        try {
          handle(ctx, call);
        } catch (error) {
          reportUnexpected(ctx, method, error, hooks);
          (call as unknown as grpc.ServerWritableStream<unknown, unknown>).emit("error", statusOf(error));
        }
      };
      return handler as unknown as grpc.UntypedHandleCall;
    },
  };
}

/** Service full name → method name → handler. */
export const rpcRegistry: Readonly<Record<string, Readonly<Record<string, RpcEntry>>>> = {
  "sluice.v1.Sluice": {
    Produce: unary(handleProduce),
    ProduceStream: stream("bidi", handleProduceStream),
    Fetch: unary(handleFetch),
    ListOffsets: unary(handleListOffsets),
    Metadata: unary(handleMetadata),
  },
  "sluice.v1.Admin": {
    CreateTopics: unary(handleCreateTopics),
    DeleteTopics: unary(handleDeleteTopics),
    ListTopics: unary(handleListTopics),
    DescribeTopics: unary(handleDescribeTopics),
    CreatePartitions: unary(handleCreatePartitions),
    DescribeConfigs: unary(handleDescribeConfigs),
    AlterConfigs: unary(handleAlterConfigs),
    DescribeCluster: unary(handleDescribeCluster),
  },
  "sluice.v1.Groups": {
    FindCoordinator: unary(handleFindCoordinator),
    ConsumerGroupHeartbeat: unary(handleConsumerGroupHeartbeat),
    OffsetCommit: unary(handleOffsetCommit),
    OffsetFetch: unary(handleOffsetFetch),
    ListGroups: unary(handleListGroups),
    DescribeGroups: unary(handleDescribeGroups),
    ResetOffsets: unary(handleResetOffsets),
    DeleteOffsets: unary(handleDeleteOffsets),
    DeleteGroups: unary(handleDeleteGroups),
  },
  "grpc.health.v1.Health": {
    Check: unary(handleHealthCheck),
    Watch: stream("server-stream", handleHealthWatch),
  },
};

export interface BoundService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** Binds every registered handler to `ctx`; throws if a loaded method has no handler. */
export function buildServices(ctx: BrokerContext, hooks: HandlerHooks): BoundService[] {
  const protos = loadProtos();
  const sluice = protos.sluice.Sluice.service;
  // Fetch answers are serialized by a hand-written encoder (see fetch-response-encoder.ts).
  const sluiceDefinition: grpc.ServiceDefinition = { ...sluice, Fetch: { ...sluice.Fetch, responseSerialize: encodeFetchResponse } };
  const definitions: ReadonlyArray<readonly [string, grpc.ServiceDefinition]> = [
    ["sluice.v1.Sluice", sluiceDefinition],
    ["sluice.v1.Admin", protos.sluice.Admin.service],
    ["sluice.v1.Groups", protos.sluice.Groups.service],
    ["grpc.health.v1.Health", protos.health.Health.service],
  ];
  return definitions.map(([serviceName, definition]) => {
    const entries = rpcRegistry[serviceName];
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [methodName, method] of Object.entries(definition)) {
      const entry = entries?.[methodName];
      if (entry === undefined) throw new Error(`no handler registered for ${serviceName}/${methodName}`);
      const kind = method.requestStream ? (method.responseStream ? "bidi" : "client-stream") : method.responseStream ? "server-stream" : "unary";
      if (kind !== entry.kind) throw new Error(`${serviceName}/${methodName} is ${kind} but its handler is ${entry.kind}`);
      implementation[methodName] = entry.bind(ctx, methodName, hooks);
    }
    return { definition, implementation };
  });
}
