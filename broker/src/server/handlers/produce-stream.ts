/**
 * ProduceStream (sluice.v1.Sluice/ProduceStream): pipelined produce on one bidi stream. Each
 * request is handled by the same code as unary Produce and answered with its correlation_id as
 * soon as it completes, so answers may interleave across partitions but stay in order within a
 * partition (appends start in arrival order and storage completes them in order).
 *
 * Ordered mode: a stream opened with metadata `sluice-ordered: 1` (ORDERED_STREAM_HEADER) gets a
 * StreamOrder: per partition, each request's append waits for the previous request's outcome for
 * that partition, and a partition that failed once fails in every later request of the stream.
 * This lets a client keep several sends per partition in flight without ever seeing request k
 * fail and k+1 succeed for one partition. The state dies with the stream.
 *
 * Flow control: at most PRODUCE_STREAM_INFLIGHT_MAX requests are in flight per stream; beyond
 * that the broker stops reading (HTTP/2 flow control pushes back on the client).
 *
 * Shutdown: once the broker drains, the stream stops reading, answers what is in flight, and ends
 * with UNAVAILABLE so the client reconnects elsewhere (or later) and resends the rest.
 *
 * Metrics: each request on the stream counts as one `ProduceStream` call in
 * sluice_rpc_requests_total / sluice_rpc_duration_seconds.
 */
import * as grpc from "@grpc/grpc-js";
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { PRODUCE_STREAM_INFLIGHT_MAX } from "../limits.js";
import { produceRequest, StreamOrder } from "./produce.js";

/** Stream metadata key (value "1") that asks for ordered mode. */
export const ORDERED_STREAM_HEADER = "sluice-ordered";

const METHOD = "ProduceStream";

export type ProduceStreamCall = grpc.ServerDuplexStream<api.ProduceRequest, api.ProduceResponseInput>;

export function handleProduceStream(ctx: BrokerContext, call: ProduceStreamCall): void {
  let inflight = 0;
  let inputEnded = false;
  let finished = false;
  let paused = false;
  const order = call.metadata.get(ORDERED_STREAM_HEADER)[0] === "1" ? new StreamOrder() : undefined;

  const finish = (status?: grpc.StatusObject): void => {
    if (finished) return;
    finished = true;
    ctx.drain.signal.removeEventListener("abort", onDrain);
    if (status === undefined) call.end();
    else {
      call.emit("error", status);
    }
  };
  const maybeFinish = (): void => {
    if (inflight > 0 || finished) return;
    if (ctx.drain.draining) finish({ code: grpc.status.UNAVAILABLE, details: "broker is shutting down", metadata: new grpc.Metadata() });
    else if (inputEnded) finish();
  };
  const onDrain = (): void => {
    call.pause();
    maybeFinish();
  };
  ctx.drain.signal.addEventListener("abort", onDrain, { once: true });

  call.on("data", (request: api.ProduceRequest) => {
    if (finished || ctx.drain.draining) return;
    inflight++;
    if (inflight >= PRODUCE_STREAM_INFLIGHT_MAX && !paused) {
      paused = true;
      call.pause();
    }
    const started = process.hrtime.bigint();
    produceRequest(ctx, request, order).then(
      (response) => {
        ctx.metrics.rpcRequests.inc({ method: METHOD, code: "OK" });
        ctx.metrics.rpcDuration.observe({ method: METHOD }, Number(process.hrtime.bigint() - started) / 1e9);
        if (!finished && !call.cancelled) call.write(response);
      },
      (error: unknown) => {
        ctx.metrics.rpcRequests.inc({ method: METHOD, code: "INTERNAL" });
        ctx.logger.error({ err: error }, "produce stream request failed");
        finish({ code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error), metadata: new grpc.Metadata() });
      },
    ).finally(() => {
      inflight--;
      if (paused && inflight < PRODUCE_STREAM_INFLIGHT_MAX && !ctx.drain.draining) {
        paused = false;
        call.resume();
      }
      maybeFinish();
    });
  });
  call.on("end", () => {
    inputEnded = true;
    maybeFinish();
  });
  call.on("cancelled", () => {
    finished = true;
    ctx.drain.signal.removeEventListener("abort", onDrain);
  });
  call.on("error", () => {
    // A stream error means the client is gone; in-flight appends still complete, answers are dropped.
    finished = true;
    ctx.drain.signal.removeEventListener("abort", onDrain);
  });
  if (ctx.drain.draining) onDrain();
}
