/**
 * Branded numeric types shared by every package. Offsets, epochs and ids are plain JS numbers
 * (not bigint): a safe integer holds 2^53 offsets, which is 285 years of a partition taking a
 * million records a second, and number arithmetic is many times cheaper than bigint on the hot
 * path. Conversions from wire int64 assert the value is a safe integer.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A position in a partition log: the offset of one record. */
export type Offset = Brand<number, "Offset">;
/** The partition leader epoch stamped into batches (the Raft term of a partition group). */
export type LeaderEpoch = Brand<number, "LeaderEpoch">;
/** Milliseconds since the Unix epoch. */
export type TimestampMs = Brand<number, "TimestampMs">;
export type BrokerId = Brand<number, "BrokerId">;
export type PartitionId = Brand<number, "PartitionId">;

export const asOffset = (n: number): Offset => n as Offset;
export const asLeaderEpoch = (n: number): LeaderEpoch => n as LeaderEpoch;
export const asTimestampMs = (n: number): TimestampMs => n as TimestampMs;
export const asBrokerId = (n: number): BrokerId => n as BrokerId;
export const asPartitionId = (n: number): PartitionId => n as PartitionId;
