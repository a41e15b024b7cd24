/**
 * Test helper: the broker's Groups gRPC service with nothing in between (loaded service client,
 * shared channel options, promisified), for tests that send what the SDK never would.
 */
import * as grpc from "@grpc/grpc-js";
import { grpcChannelOptions, loadProtos, type api, type LoadedProtos } from "@sluice/protocol";

type Callback<Res> = (error: grpc.ServiceError | null, response?: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, options: grpc.CallOptions, callback: Callback<Res>) => grpc.ClientUnaryCall;

export class GroupsClient {
  private readonly client: InstanceType<LoadedProtos["sluice"]["Groups"]>;

  constructor(bootstrap: string, private readonly deadlineMs = 30_000) {
    this.client = new (loadProtos().sluice.Groups)(bootstrap, grpc.credentials.createInsecure(), grpcChannelOptions);
  }

  private call<Req, Res>(method: unknown, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      (method as UnaryMethod<Req, Res>).call(this.client, request, { deadline: Date.now() + this.deadlineMs }, (error, response) => {
        if (error !== null) reject(error);
        else if (response === undefined) reject(new Error("empty response"));
        else resolve(response);
      });
    });
  }

  findCoordinator(r: api.FindCoordinatorRequestInput): Promise<api.FindCoordinatorResponse> {
    return this.call(this.client.FindCoordinator, r);
  }
  heartbeat(r: api.ConsumerGroupHeartbeatRequestInput): Promise<api.ConsumerGroupHeartbeatResponse> {
    return this.call(this.client.ConsumerGroupHeartbeat, r);
  }
  offsetCommit(r: api.OffsetCommitRequestInput): Promise<api.OffsetCommitResponse> {
    return this.call(this.client.OffsetCommit, r);
  }
  offsetFetch(r: api.OffsetFetchRequestInput): Promise<api.OffsetFetchResponse> {
    return this.call(this.client.OffsetFetch, r);
  }
  listGroups(r: api.ListGroupsRequestInput): Promise<api.ListGroupsResponse> {
    return this.call(this.client.ListGroups, r);
  }
  describeGroups(r: api.DescribeGroupsRequestInput): Promise<api.DescribeGroupsResponse> {
    return this.call(this.client.DescribeGroups, r);
  }
  resetOffsets(r: api.ResetOffsetsRequestInput): Promise<api.ResetOffsetsResponse> {
    return this.call(this.client.ResetOffsets, r);
  }
  deleteOffsets(r: api.DeleteOffsetsRequestInput): Promise<api.DeleteOffsetsResponse> {
    return this.call(this.client.DeleteOffsets, r);
  }
  deleteGroups(r: api.DeleteGroupsRequestInput): Promise<api.DeleteGroupsResponse> {
    return this.call(this.client.DeleteGroups, r);
  }

  close(): void {
    this.client.close();
  }
}
