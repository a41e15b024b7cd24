/**
 * One gRPC channel to one broker, shared by the data-plane (`sluice.v1.Sluice`), admin
 * (`sluice.v1.Admin`) and consumer-group (`sluice.v1.Groups`) service clients, and by a
 * Produce/ProduceStream client whose request
 * serializer is the producer's own (produce-request.ts: batches are written once, not
 * concatenated and copied again). Every unary call gets a deadline and is turned into a
 * promise whose failures are typed (`toClientError`); calls still running when the connection
 * closes are cancelled.
 *
 * Both ends set the gRPC message limits from `grpcChannelOptions` (64 MiB), which is what
 * lets a Produce request or Fetch response carry many large batches. The channel also widens
 * its HTTP/2 receive windows to CLIENT_RECEIVE_WINDOW_BYTES (the broker does the same for its
 * side), so fetch responses are not paced by 64 KiB WINDOW_UPDATE round trips.
 */
import * as grpc from "@grpc/grpc-js";
import { grpcChannelOptions, loadProtos, type api, type LoadedProtos } from "@sluice/protocol";
import { ClientClosedError, toClientError } from "./errors.js";
import { CLIENT_RECEIVE_WINDOW_BYTES } from "./limits.js";
import { encodeProduceFrame, type ProduceFrame } from "./produce-request.js";

/** The two produce RPCs, typed for ProduceFrame requests. */
interface ProduceClient extends grpc.Client {
  Produce(request: ProduceFrame, options: grpc.CallOptions, callback: grpc.requestCallback<api.ProduceResponse>): grpc.ClientUnaryCall;
  ProduceStream(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<ProduceFrame, api.ProduceResponse>;
}

let produceClientConstructor: grpc.ServiceClientConstructor | undefined;

function produceClientClass(): grpc.ServiceClientConstructor {
  if (produceClientConstructor !== undefined) return produceClientConstructor;
  const base = loadProtos().sluice.Sluice.service;
  const definition: grpc.ServiceDefinition = {
    Produce: { ...base.Produce, requestSerialize: encodeProduceFrame },
    ProduceStream: { ...base.ProduceStream, requestSerialize: encodeProduceFrame },
  };
  produceClientConstructor = grpc.makeGenericClientConstructor(definition, "sluice.v1.Sluice");
  return produceClientConstructor;
}

/** The generated Groups client type (api.ts names only the Sluice and Admin clients). */
export type GroupsClient = InstanceType<LoadedProtos["sluice"]["Groups"]>;

type Start<T> = (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => grpc.ClientUnaryCall;

export class BrokerConnection {
  readonly sluice: api.SluiceClient;
  readonly admin: api.AdminClient;
  readonly groups: GroupsClient;
  private readonly producing: ProduceClient;
  private readonly calls = new Set<grpc.ClientUnaryCall>();
  private closed = false;

  constructor(readonly address: string) {
    const protos = loadProtos();
    const credentials = grpc.credentials.createInsecure();
    const options: grpc.ChannelOptions = { ...grpcChannelOptions, "grpc-node.flow_control_window": CLIENT_RECEIVE_WINDOW_BYTES };
    this.sluice = new protos.sluice.Sluice(address, credentials, options);
    this.admin = new protos.sluice.Admin(address, credentials, { ...options, channelOverride: this.sluice.getChannel() });
    this.groups = new protos.sluice.Groups(address, credentials, { ...options, channelOverride: this.sluice.getChannel() });
    const Producing = produceClientClass();
    this.producing = new Producing(address, credentials, { ...options, channelOverride: this.sluice.getChannel() }) as unknown as ProduceClient;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs one unary call with a deadline; resolves with the response or rejects with a typed error. */
  unary<T>(rpc: string, timeoutMs: number, start: Start<T>): Promise<T> {
    return this.cancellable(rpc, timeoutMs, start).response;
  }

  /** Like `unary`, with a `cancel()` that aborts the call (it then rejects with a ConnectionError). */
  cancellable<T>(rpc: string, timeoutMs: number, start: Start<T>): { response: Promise<T>; cancel: () => void } {
    if (this.closed) return { response: Promise.reject(new ClientClosedError(`connection to ${this.address}`)), cancel: () => undefined };
    let call: grpc.ClientUnaryCall | undefined;
    const response = new Promise<T>((resolve, reject) => {
      const started = start({ deadline: Date.now() + timeoutMs }, (error, value) => {
        this.calls.delete(started);
        if (error !== null && error !== undefined) reject(toClientError(error, this.address, rpc, timeoutMs));
        else if (value === undefined) reject(toClientError(new Error("empty response"), this.address, rpc, timeoutMs));
        else resolve(value);
      });
      call = started;
      this.calls.add(started);
    });
    return { response, cancel: () => call?.cancel() };
  }

  metadata(request: api.MetadataRequestInput, timeoutMs: number): Promise<api.MetadataResponse> {
    return this.unary("Metadata", timeoutMs, (o, cb) => this.sluice.Metadata(request, o, cb));
  }

  produce(request: ProduceFrame, timeoutMs: number): Promise<api.ProduceResponse> {
    return this.unary("Produce", timeoutMs, (o, cb) => this.producing.Produce(request, o, cb));
  }

  fetch(request: api.FetchRequestInput, timeoutMs: number): { response: Promise<api.FetchResponse>; cancel: () => void } {
    return this.cancellable("Fetch", timeoutMs, (o, cb) => this.sluice.Fetch(request, o, cb));
  }

  listOffsets(request: api.ListOffsetsRequestInput, timeoutMs: number): Promise<api.ListOffsetsResponse> {
    return this.unary("ListOffsets", timeoutMs, (o, cb) => this.sluice.ListOffsets(request, o, cb));
  }

  /** Opens a pipelined produce stream (no deadline: it lives as long as the producer). */
  /** `ordered`: ask the broker for ordered mode (metadata `sluice-ordered: 1`, see the broker's produce-stream.ts). */
  openProduceStream(ordered = false): grpc.ClientDuplexStream<ProduceFrame, api.ProduceResponse> {
    if (this.closed) throw new ClientClosedError(`connection to ${this.address}`);
    if (!ordered) return this.producing.ProduceStream();
    const metadata = new grpc.Metadata();
    metadata.set("sluice-ordered", "1");
    return this.producing.ProduceStream(metadata);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.calls) call.cancel();
    this.calls.clear();
    // The admin and groups clients share the channel; closing it once closes all.
    this.sluice.close();
  }
}
