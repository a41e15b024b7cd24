/**
 * Health/Check (grpc.health.v1.Health/Check): SERVING or NOT_SERVING for "" (the server) and
 * the Sluice services; an unknown service name is gRPC status NOT_FOUND, as the health checking
 * protocol specifies.
 */
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { ServiceNotFoundError } from "../request-checks.js";

export type HealthCheckRequest = Parameters<api.HealthHandlers["Check"]>[0]["request"];

export async function handleHealthCheck(ctx: BrokerContext, request: HealthCheckRequest): Promise<api.HealthCheckResponse> {
  if (!ctx.health.knows(request.service)) throw new ServiceNotFoundError(request.service);
  return { status: ctx.health.status };
}
