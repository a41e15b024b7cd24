/**
 * Calls to the `sluice.v1.Groups` service, routed to a group's coordinator: FindCoordinator
 * first (on any broker), then every other call for that group to the broker it named. Shared by
 * GroupConsumer and Admin.
 *
 * Coordinator addresses are cached per group. A call that fails because the coordinator moved,
 * is loading or could not be reached (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
 * COORDINATOR_LOAD_IN_PROGRESS, a lost connection, a timeout) forgets the cached address, so
 * the next call looks it up again. `withRetries` repeats such failures with the SDK's retry
 * policy until a deadline; calls that change state decide for themselves whether a repeat is
 * safe.
 *
 * Response-level errors (`error` fields) are thrown as `SluiceError`s; per-partition and
 * per-group errors are left to the caller.
 */
import * as grpc from "@grpc/grpc-js";
import { fromErrorInfo, SluiceError, type api, type ErrorName } from "@sluice/protocol";
import type { ClusterClient } from "./cluster.js";
import type { BrokerConnection, GroupsClient } from "./connection.js";
import { ClientClosedError, TimeoutError } from "./errors.js";
import { formatAddress } from "./metadata.js";
import { isRetriable } from "./retry.js";

const coordinatorMoved: ReadonlySet<ErrorName> = new Set<ErrorName>([
  "NOT_COORDINATOR",
  "COORDINATOR_NOT_AVAILABLE",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "NETWORK_EXCEPTION",
  "REQUEST_TIMED_OUT",
]);

/** Whether a failure means "ask FindCoordinator again". */
export function isCoordinatorError(error: unknown): boolean {
  return error instanceof SluiceError && coordinatorMoved.has(error.errorName);
}

export interface CoordinatorInfo {
  readonly groupId: string;
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  /** The `__consumer_offsets` partition that holds the group. */
  readonly partition: number;
}

/** Starts one Groups call on a connection's client (the callback settles it). */
export type GroupsCallStart<T> = (groups: GroupsClient, options: grpc.CallOptions, callback: grpc.requestCallback<T>) => grpc.ClientUnaryCall;

export class GroupRpc {
  private readonly coordinators = new Map<string, string>();

  constructor(
    readonly cluster: ClusterClient,
    readonly timeoutMs: number,
  ) {}

  /** Looks up the coordinators of `groupIds` (one FindCoordinator call, on any broker). */
  async findCoordinators(groupIds: readonly string[]): Promise<Map<string, CoordinatorInfo | SluiceError>> {
    if (this.cluster.isClosed) throw new ClientClosedError("client");
    const { result } = await this.cluster.anyBroker((c) =>
      c.unary<api.FindCoordinatorResponse>("FindCoordinator", this.timeoutMs, (o, cb) => c.groups.FindCoordinator({ groupIds: [...groupIds] }, o, cb)),
    );
    const out = new Map<string, CoordinatorInfo | SluiceError>();
    for (const entry of result.coordinators) {
      const error = fromErrorInfo(entry.error);
      if (error !== null) {
        if (!error.message.includes(`"${entry.groupId}"`)) error.message = `group "${entry.groupId}": ${error.message}`;
        out.set(entry.groupId, error);
        continue;
      }
      if (entry.broker === null) {
        out.set(entry.groupId, new SluiceError("COORDINATOR_NOT_AVAILABLE", `group "${entry.groupId}": FindCoordinator named no broker`));
        continue;
      }
      const info = { groupId: entry.groupId, brokerId: entry.broker.brokerId, host: entry.broker.host, port: entry.broker.port, partition: entry.partition };
      this.coordinators.set(entry.groupId, formatAddress(info.host, info.port));
      out.set(entry.groupId, info);
    }
    for (const groupId of groupIds) {
      if (!out.has(groupId)) out.set(groupId, new SluiceError("COORDINATOR_NOT_AVAILABLE", `group "${groupId}": FindCoordinator did not answer for it`));
    }
    return out;
  }

  /** The coordinator's address, from the cache or FindCoordinator. */
  async coordinatorAddress(groupId: string): Promise<string> {
    const cached = this.coordinators.get(groupId);
    if (cached !== undefined) return cached;
    const found = (await this.findCoordinators([groupId])).get(groupId);
    if (found instanceof SluiceError || found === undefined) throw found ?? new SluiceError("COORDINATOR_NOT_AVAILABLE", `group "${groupId}"`);
    return formatAddress(found.host, found.port);
  }

  forgetCoordinator(groupId: string): void {
    this.coordinators.delete(groupId);
  }

  /**
   * One call to the group's coordinator. A coordinator-moved failure (transport or the
   * response's `error`) forgets the cached address and is rethrown.
   */
  async call<T extends object>(groupId: string, rpc: string, start: GroupsCallStart<T>, timeoutMs = this.timeoutMs): Promise<T> {
    let connection: BrokerConnection;
    try {
      connection = this.cluster.connection(await this.coordinatorAddress(groupId));
    } catch (error) {
      if (isCoordinatorError(error)) this.forgetCoordinator(groupId);
      throw error;
    }
    try {
      const response = await connection.unary<T>(rpc, timeoutMs, (o, cb) => start(connection.groups, o, cb));
      // Responses with a request-level `error` field (most Groups answers) fail the call with it.
      const error = fromErrorInfo((response as { readonly error?: api.ErrorInfo | null }).error ?? null);
      if (error !== null) throw error;
      return response;
    } catch (error) {
      if (isCoordinatorError(error)) this.forgetCoordinator(groupId);
      throw error;
    }
  }

  /** `call`, repeated on retriable failures with the retry policy until `timeoutMs` passed. For reads. */
  async withRetries<T extends object>(groupId: string, rpc: string, start: GroupsCallStart<T>, timeoutMs = this.timeoutMs): Promise<T> {
    const deadlineMs = this.cluster.clock.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (this.cluster.isClosed) throw new ClientClosedError("client");
      try {
        return await this.call(groupId, rpc, start);
      } catch (error) {
        const decision = this.cluster.retry.decide(error, attempt, this.cluster.clock.now(), deadlineMs, this.cluster.random);
        if (!decision.retry) {
          if (isRetriable(error) && !(error instanceof TimeoutError)) throw new TimeoutError(`${rpc} for group "${groupId}"`, timeoutMs, { cause: error });
          throw error;
        }
        await this.cluster.sleep(decision.delayMs);
      }
    }
  }
}
