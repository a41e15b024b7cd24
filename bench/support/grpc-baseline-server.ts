/**
 * The baseline's server process: bare grpc-js (no protobuf, no broker), two bidi methods with
 * raw-Buffer serializers, using the same channel options (message-size limits) as the broker.
 *
 *   /bench.Baseline/Push  each request is a payload; the answer is an 8-byte ack (like a produce
 *                         request and its small response)
 *   /bench.Baseline/Pull  each request is a 4-byte size; the answer is a payload of that size
 *                         (like a fetch and its response)
 *
 * Prints `{"port":N}` on stdout when bound; exits on SIGTERM or when stdin closes.
 */
import * as grpc from "@grpc/grpc-js";
import { grpcChannelOptions } from "@sluice/protocol";
import { baselineService } from "./grpc-baseline-service.js";

const server = new grpc.Server({ ...grpcChannelOptions });
const ack = Buffer.alloc(8);
let payload = Buffer.alloc(0);

server.addService(baselineService, {
  Push: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on("data", () => call.write(ack));
    call.on("end", () => call.end());
    call.on("error", () => undefined);
  },
  Pull: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on("data", (request: Buffer) => {
      const size = request.readUInt32BE(0);
      if (payload.length !== size) payload = Buffer.alloc(size, 0x61);
      call.write(payload);
    });
    call.on("end", () => call.end());
    call.on("error", () => undefined);
  },
});

server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

const stop = (): void => server.tryShutdown(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
