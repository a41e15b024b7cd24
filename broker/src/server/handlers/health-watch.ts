/**
 * Health/Watch (grpc.health.v1.Health/Watch): sends the current status, then every change, until
 * the client goes away or the broker shuts down (the stream then ends after NOT_SERVING). An
 * unknown service gets SERVICE_UNKNOWN and stays open, as the protocol specifies (the service
 * might appear later).
 */
import type * as grpc from "@grpc/grpc-js";
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import type { HealthCheckRequest } from "./health-check.js";

export type HealthWatchCall = grpc.ServerWritableStream<HealthCheckRequest, api.HealthCheckResponse>;

export function handleHealthWatch(ctx: BrokerContext, call: HealthWatchCall): void {
  const service = call.request.service;
  if (!ctx.health.knows(service)) {
    call.write({ status: "SERVICE_UNKNOWN" });
    const end = (): void => {
      if (!call.cancelled) call.end();
    };
    if (ctx.drain.draining) end();
    else ctx.drain.signal.addEventListener("abort", end, { once: true });
    call.on("cancelled", () => ctx.drain.signal.removeEventListener("abort", end));
    return;
  }
  call.write({ status: ctx.health.status });
  const stop = ctx.health.watch((status) => {
    if (call.cancelled) return;
    call.write({ status });
    if (status === "NOT_SERVING" && ctx.drain.draining) {
      stop();
      call.end();
    }
  });
  call.on("cancelled", stop);
  call.on("error", stop);
}
