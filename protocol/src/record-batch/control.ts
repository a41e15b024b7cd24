/**
 * Control records: the records of a control batch (batch attribute bit 5). Kafka writes them
 * for transaction markers; Sluice also uses them for its own log-level events (Raft
 * configuration changes), so the type is an open number and the value is raw bytes here.
 *
 *   key    version int16 (0), type int16
 *   value  depends on the type; for ABORT (0) and COMMIT (1), Kafka's EndTransactionMarker:
 *          version int16 (0), coordinatorEpoch int32
 *
 * Kafka also assigns types 2..6 (LEADER_CHANGE, SNAPSHOT_HEADER, SNAPSHOT_FOOTER,
 * KRAFT_VERSION, KRAFT_VOTERS) to KRaft's own metadata log; Sluice's types should not reuse
 * those numbers if its logs are ever read by Kafka tools.
 *
 * Decoders read a key's version and type and ignore bytes after them (a later key version may
 * append fields), as Kafka's ControlRecordType.parse does; fewer than 4 bytes is corrupt.
 */
import { CorruptRecordError, InvalidRecordError } from "../errors.js";
import type { RecordInput } from "./record.js";

export const ControlRecordType = { abort: 0, commit: 1 } as const;

/** Key and marker versions Kafka writes today. */
export const CONTROL_KEY_VERSION = 0;
export const END_TXN_MARKER_VERSION = 0;

const CONTROL_KEY_BYTES = 4;
const END_TXN_MARKER_BYTES = 6;

export interface ControlRecordKey {
  readonly version: number;
  readonly type: number;
}

export interface ControlRecord {
  readonly version: number;
  readonly type: number;
  readonly value: Buffer | null;
}

export interface EndTxnMarker {
  readonly version: number;
  readonly coordinatorEpoch: number;
}

function checkInt16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < -0x8000 || value > 0x7fff) {
    throw new InvalidRecordError(`${name} ${value} is not an int16`);
  }
}

export function encodeControlRecordKey(key: ControlRecordKey): Buffer {
  checkInt16("control key version", key.version);
  checkInt16("control record type", key.type);
  const out = Buffer.allocUnsafe(CONTROL_KEY_BYTES);
  out.writeInt16BE(key.version, 0);
  out.writeInt16BE(key.type, 2);
  return out;
}

export function decodeControlRecordKey(key: Uint8Array | null): ControlRecordKey {
  if (key === null || key.byteLength < CONTROL_KEY_BYTES) {
    throw new CorruptRecordError(`control record key has ${key === null ? "no" : key.byteLength} bytes, needs ${CONTROL_KEY_BYTES}`);
  }
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const version = view.getInt16(0);
  if (version < 0) throw new CorruptRecordError(`control record key version ${version} is negative`);
  return { version, type: view.getInt16(2) };
}

/** A record for a control batch (encode it with `control: true`). */
export function controlRecord(type: number, value: Buffer | null, options?: { readonly version?: number; readonly timestamp?: number }): RecordInput {
  const key = encodeControlRecordKey({ version: options?.version ?? CONTROL_KEY_VERSION, type });
  return options?.timestamp === undefined ? { key, value } : { key, value, timestamp: options.timestamp };
}

/** The version, type and raw value of a record read from a control batch. */
export function decodeControlRecord(record: { readonly key: Buffer | null; readonly value: Buffer | null }): ControlRecord {
  const { version, type } = decodeControlRecordKey(record.key);
  return { version, type, value: record.value };
}

export function encodeEndTxnMarker(marker: EndTxnMarker): Buffer {
  checkInt16("end transaction marker version", marker.version);
  if (!Number.isInteger(marker.coordinatorEpoch) || marker.coordinatorEpoch < -0x8000_0000 || marker.coordinatorEpoch > 0x7fff_ffff) {
    throw new InvalidRecordError(`coordinatorEpoch ${marker.coordinatorEpoch} is not an int32`);
  }
  const out = Buffer.allocUnsafe(END_TXN_MARKER_BYTES);
  out.writeInt16BE(marker.version, 0);
  out.writeInt32BE(marker.coordinatorEpoch, 2);
  return out;
}

export function decodeEndTxnMarker(value: Uint8Array | null): EndTxnMarker {
  if (value === null || value.byteLength < END_TXN_MARKER_BYTES) {
    throw new CorruptRecordError(
      `end transaction marker has ${value === null ? "no" : value.byteLength} bytes, needs ${END_TXN_MARKER_BYTES}`,
    );
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const version = view.getInt16(0);
  if (version < 0) throw new CorruptRecordError(`end transaction marker version ${version} is negative`);
  return { version, coordinatorEpoch: view.getInt32(2) };
}
