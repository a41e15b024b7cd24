/**
 * DescribeCluster (sluice.v1.Admin/DescribeCluster): the cluster id (made once, kept in the
 * metadata store), the controller (this broker), the brokers and the broker's version.
 */
import type { api } from "@sluice/protocol";
import type { BrokerContext } from "../context.js";
import { brokerList } from "./metadata.js";

export async function handleDescribeCluster(ctx: BrokerContext, _request: api.DescribeClusterRequest): Promise<api.DescribeClusterResponseInput> {
  return {
    clusterId: ctx.identity.clusterId,
    controllerId: ctx.identity.brokerId,
    brokers: brokerList(ctx),
    version: ctx.identity.version,
  };
}
