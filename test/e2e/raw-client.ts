/**
 * Test helper: the broker's gRPC API with nothing in between — the loaded service clients from
 * @sluice/protocol with the shared channel options, promisified. Bad-input tests need this: the
 * SDK would never send a corrupt batch, an unknown acks value or a negative partition.
 */
import * as grpc from "@grpc/grpc-js";
import { grpcChannelOptions, loadProtos, type api } from "@sluice/protocol";

type Callback<Res> = (error: grpc.ServiceError | null, response?: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, options: grpc.CallOptions, callback: Callback<Res>) => grpc.ClientUnaryCall;

function unary<Req, Res>(method: UnaryMethod<Req, Res>, client: grpc.Client, request: Req, deadlineMs: number): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method.call(client, request, { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error !== null) reject(error);
      else if (response === undefined) reject(new Error("empty response"));
      else resolve(response);
    });
  });
}

export class RawClient {
  readonly sluice: api.SluiceClient;
  readonly admin: api.AdminClient;
  readonly health: api.HealthClient;

  constructor(
    readonly bootstrap: string,
    private readonly deadlineMs = 30_000,
    channelOptions: grpc.ChannelOptions = grpcChannelOptions,
  ) {
    const protos = loadProtos();
    const credentials = grpc.credentials.createInsecure();
    this.sluice = new protos.sluice.Sluice(bootstrap, credentials, channelOptions);
    this.admin = new protos.sluice.Admin(bootstrap, credentials, channelOptions);
    this.health = new protos.health.Health(bootstrap, credentials, channelOptions);
  }

  produce(request: api.ProduceRequestInput): Promise<api.ProduceResponse> {
    return unary(this.sluice.Produce as UnaryMethod<api.ProduceRequestInput, api.ProduceResponse>, this.sluice, request, this.deadlineMs);
  }
  fetch(request: api.FetchRequestInput): Promise<api.FetchResponse> {
    return unary(this.sluice.Fetch as UnaryMethod<api.FetchRequestInput, api.FetchResponse>, this.sluice, request, this.deadlineMs);
  }
  listOffsets(request: api.ListOffsetsRequestInput): Promise<api.ListOffsetsResponse> {
    return unary(this.sluice.ListOffsets as UnaryMethod<api.ListOffsetsRequestInput, api.ListOffsetsResponse>, this.sluice, request, this.deadlineMs);
  }
  metadata(request: api.MetadataRequestInput): Promise<api.MetadataResponse> {
    return unary(this.sluice.Metadata as UnaryMethod<api.MetadataRequestInput, api.MetadataResponse>, this.sluice, request, this.deadlineMs);
  }
  createTopics(request: api.CreateTopicsRequestInput): Promise<api.CreateTopicsResponse> {
    return unary(this.admin.CreateTopics as UnaryMethod<api.CreateTopicsRequestInput, api.CreateTopicsResponse>, this.admin, request, this.deadlineMs);
  }
  deleteTopics(request: api.DeleteTopicsRequestInput): Promise<api.DeleteTopicsResponse> {
    return unary(this.admin.DeleteTopics as UnaryMethod<api.DeleteTopicsRequestInput, api.DeleteTopicsResponse>, this.admin, request, this.deadlineMs);
  }
  describeTopics(request: api.DescribeTopicsRequestInput): Promise<api.DescribeTopicsResponse> {
    return unary(this.admin.DescribeTopics as UnaryMethod<api.DescribeTopicsRequestInput, api.DescribeTopicsResponse>, this.admin, request, this.deadlineMs);
  }
  alterConfigs(request: api.AlterConfigsRequestInput): Promise<api.AlterConfigsResponse> {
    return unary(this.admin.AlterConfigs as UnaryMethod<api.AlterConfigsRequestInput, api.AlterConfigsResponse>, this.admin, request, this.deadlineMs);
  }
  describeConfigs(request: api.DescribeConfigsRequestInput): Promise<api.DescribeConfigsResponse> {
    return unary(this.admin.DescribeConfigs as UnaryMethod<api.DescribeConfigsRequestInput, api.DescribeConfigsResponse>, this.admin, request, this.deadlineMs);
  }
  healthCheck(service = ""): Promise<api.HealthCheckResponse> {
    type Req = { service: string };
    return unary(this.health.Check as UnaryMethod<Req, api.HealthCheckResponse>, this.health, { service }, this.deadlineMs);
  }

  close(): void {
    this.sluice.close();
    this.admin.close();
    this.health.close();
  }
}

/** The one partition result of a single-partition produce response. */
export function onlyPartition<T>(topics: ReadonlyArray<{ readonly partitions: readonly T[] }>): T {
  const partition = topics[0]?.partitions[0];
  if (partition === undefined) throw new Error("response has no partition result");
  return partition;
}
