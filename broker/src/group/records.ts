/**
 * The records the group coordinator writes to the compacted `__consumer_offsets` topic, and
 * their byte encodings. The coordinator's whole durable state is these records: replaying a
 * partition's records (see coordinator.ts `GroupCoordinator.load`) rebuilds the same groups and
 * offsets, and because every record fully states the value of its key (never a delta),
 * compaction (latest value per key, tombstones dropped later) preserves that state.
 *
 * Keys follow Kafka's coordinator-record layout: int16 record type, then the key fields, strings
 * as int16 byte length + UTF-8. The type numbers are Kafka's, so a key names the same thing:
 *
 *   type  key fields                          value
 *   1     group, topic, int32 partition       OffsetCommitValue: Kafka's v3 layout, byte for byte:
 *                                               int16 version=3, int64 offset, int32 leaderEpoch,
 *                                               string metadata, int64 commitTimestamp
 *                                             (v0-v2 are decoded too; v1 carries an expire time we ignore)
 *   3     group                               group metadata (Sluice v0): int32 groupEpoch,
 *                                               int64 emptySinceMs (-1 while it has members),
 *                                               int32 n, n x (string topic, int32 partitionCount)
 *   5     group, member                       member metadata (Sluice v0): nullable string
 *                                               instanceId, nullable string rackId, string clientId,
 *                                               int32 n, n x string topic, nullable string regex,
 *                                               int32 rebalanceTimeoutMs, nullable string assignor
 *   6     group                               target assignment metadata (Sluice v0): int32 assignmentEpoch
 *   7     group, member                       target assignment of a member (Sluice v0): partitions
 *   8     group, member                       current member assignment (Sluice v0): int32 memberEpoch,
 *                                               int32 previousMemberEpoch, int8 state,
 *                                               partitions assigned, partitions pendingRevocation
 *
 * "partitions" = int32 topicCount, then per topic: string topic, int32 n, n x int32 partition.
 * Every value starts with an int16 version. Values of types 3-8 are Sluice's own layouts
 * (Kafka's are flexible-version messages with tagged fields we do not need); a Kafka tool can
 * read the offset records but not the group records. A null value is a tombstone.
 *
 * Decoding never trusts the bytes: truncation, bad lengths, invalid UTF-8, unknown types or
 * versions, and trailing bytes raise CorruptRecordError with the byte position.
 */
import { CorruptRecordError, assert, readInt64, writeInt64 } from "@sluice/protocol";
import { topicPartitionsOf, type TopicPartitions } from "./assignors/assignment.js";

export type MemberState = "stable" | "unrevoked_partitions" | "unreleased_partitions";
const MEMBER_STATES: readonly MemberState[] = ["stable", "unrevoked_partitions", "unreleased_partitions"];

export interface OffsetCommitValue {
  readonly offset: number;
  /** Leader epoch of the partition when the committed record was read; -1 when unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
}

export interface GroupMetadataValue {
  readonly groupEpoch: number;
  /** When the group last became empty; -1 while it has members. Offset retention counts from here. */
  readonly emptySinceMs: number;
  /** topic -> partition count of the topics the members subscribe to, as of the last epoch bump. */
  readonly subscribedTopics: ReadonlyMap<string, number>;
}

export interface MemberMetadataValue {
  readonly instanceId: string | undefined;
  readonly rackId: string | undefined;
  readonly clientId: string;
  /** Sorted, distinct. Empty when the member subscribes by regex. */
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | undefined;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string | undefined;
}

export interface TargetAssignmentMetadataValue {
  readonly assignmentEpoch: number;
}

export interface TargetAssignmentMemberValue {
  readonly partitions: TopicPartitions;
}

export interface CurrentAssignmentValue {
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: MemberState;
  /** What the member may own now. */
  readonly assigned: TopicPartitions;
  /** What it still holds but must give up; nobody else gets these until it does. */
  readonly pendingRevocation: TopicPartitions;
}

export type GroupRecord =
  | { readonly type: "offset-commit"; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: OffsetCommitValue | null }
  | { readonly type: "group-metadata"; readonly groupId: string; readonly value: GroupMetadataValue | null }
  | { readonly type: "member-metadata"; readonly groupId: string; readonly memberId: string; readonly value: MemberMetadataValue | null }
  | { readonly type: "target-assignment-metadata"; readonly groupId: string; readonly value: TargetAssignmentMetadataValue | null }
  | { readonly type: "target-assignment-member"; readonly groupId: string; readonly memberId: string; readonly value: TargetAssignmentMemberValue | null }
  | { readonly type: "current-assignment"; readonly groupId: string; readonly memberId: string; readonly value: CurrentAssignmentValue | null };

export type GroupRecordType = GroupRecord["type"];

/** Kafka's coordinator record type numbers (the key's leading int16). */
export const RECORD_TYPE_IDS: Readonly<Record<GroupRecordType, number>> = {
  "offset-commit": 1,
  "group-metadata": 3,
  "member-metadata": 5,
  "target-assignment-metadata": 6,
  "target-assignment-member": 7,
  "current-assignment": 8,
};
const TYPE_BY_ID = new Map<number, GroupRecordType>(
  (Object.keys(RECORD_TYPE_IDS) as GroupRecordType[]).map((t) => [RECORD_TYPE_IDS[t], t]),
);

const OFFSET_COMMIT_VALUE_VERSION = 3;
const SLUICE_VALUE_VERSION = 0;
/** Kafka's string length prefix is an int16. */
const STRING_BYTES_MAX = 0x7fff;

export interface EncodedRecord {
  readonly key: Uint8Array;
  /** null for a tombstone. */
  readonly value: Uint8Array | null;
}

export function encodeRecord(record: GroupRecord): EncodedRecord {
  return { key: encodeKey(record), value: encodeValue(record) };
}

/** A string that is equal for two records exactly when their keys are (compaction identity). */
export function recordKeyId(record: GroupRecord): string {
  switch (record.type) {
    case "offset-commit":
      return JSON.stringify([1, record.groupId, record.topic, record.partition]);
    case "group-metadata":
    case "target-assignment-metadata":
      return JSON.stringify([RECORD_TYPE_IDS[record.type], record.groupId]);
    case "member-metadata":
    case "target-assignment-member":
    case "current-assignment":
      return JSON.stringify([RECORD_TYPE_IDS[record.type], record.groupId, record.memberId]);
  }
}

function encodeKey(record: GroupRecord): Uint8Array {
  const w = new Writer();
  w.int16(RECORD_TYPE_IDS[record.type]);
  w.string(record.groupId);
  switch (record.type) {
    case "offset-commit":
      w.string(record.topic);
      w.int32(record.partition);
      break;
    case "member-metadata":
    case "target-assignment-member":
    case "current-assignment":
      w.string(record.memberId);
      break;
    case "group-metadata":
    case "target-assignment-metadata":
      break;
  }
  return w.finish();
}

function encodeValue(record: GroupRecord): Uint8Array | null {
  if (record.value === null) return null;
  const w = new Writer();
  switch (record.type) {
    case "offset-commit": {
      const v = record.value as OffsetCommitValue;
      w.int16(OFFSET_COMMIT_VALUE_VERSION);
      w.int64(v.offset);
      w.int32(v.leaderEpoch);
      w.string(v.metadata);
      w.int64(v.commitTimestampMs);
      break;
    }
    case "group-metadata": {
      const v = record.value as GroupMetadataValue;
      w.int16(SLUICE_VALUE_VERSION);
      w.int32(v.groupEpoch);
      w.int64(v.emptySinceMs);
      const topics = [...v.subscribedTopics].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      w.int32(topics.length);
      for (const [topic, count] of topics) {
        w.string(topic);
        w.int32(count);
      }
      break;
    }
    case "member-metadata": {
      const v = record.value as MemberMetadataValue;
      w.int16(SLUICE_VALUE_VERSION);
      w.nullableString(v.instanceId);
      w.nullableString(v.rackId);
      w.string(v.clientId);
      w.int32(v.subscribedTopicNames.length);
      for (const t of v.subscribedTopicNames) w.string(t);
      w.nullableString(v.subscribedTopicRegex);
      w.int32(v.rebalanceTimeoutMs);
      w.nullableString(v.serverAssignor);
      break;
    }
    case "target-assignment-metadata":
      w.int16(SLUICE_VALUE_VERSION);
      w.int32((record.value as TargetAssignmentMetadataValue).assignmentEpoch);
      break;
    case "target-assignment-member":
      w.int16(SLUICE_VALUE_VERSION);
      w.partitions((record.value as TargetAssignmentMemberValue).partitions);
      break;
    case "current-assignment": {
      const v = record.value as CurrentAssignmentValue;
      w.int16(SLUICE_VALUE_VERSION);
      w.int32(v.memberEpoch);
      w.int32(v.previousMemberEpoch);
      w.int8(MEMBER_STATES.indexOf(v.state));
      w.partitions(v.assigned);
      w.partitions(v.pendingRevocation);
      break;
    }
  }
  return w.finish();
}

/** Decodes one `__consumer_offsets` record; throws CorruptRecordError on any malformed byte. */
export function decodeRecord(key: Uint8Array, value: Uint8Array | null): GroupRecord {
  const k = new Reader(key, "key");
  const typeId = k.int16();
  const type = TYPE_BY_ID.get(typeId);
  if (type === undefined) throw new CorruptRecordError(`unknown __consumer_offsets record type ${typeId}`, 0);
  const groupId = k.string();
  let record: GroupRecord;
  switch (type) {
    case "offset-commit": {
      const topic = k.string();
      const partition = k.int32();
      k.end();
      record = { type, groupId, topic, partition, value: value === null ? null : decodeOffsetCommitValue(value) };
      break;
    }
    case "group-metadata":
      k.end();
      record = { type, groupId, value: value === null ? null : decodeSluiceValue(value, decodeGroupMetadata) };
      break;
    case "target-assignment-metadata":
      k.end();
      record = { type, groupId, value: value === null ? null : decodeSluiceValue(value, (r) => ({ assignmentEpoch: r.int32() })) };
      break;
    case "member-metadata": {
      const memberId = k.string();
      k.end();
      record = { type, groupId, memberId, value: value === null ? null : decodeSluiceValue(value, decodeMemberMetadata) };
      break;
    }
    case "target-assignment-member": {
      const memberId = k.string();
      k.end();
      record = { type, groupId, memberId, value: value === null ? null : decodeSluiceValue(value, (r) => ({ partitions: r.partitions() })) };
      break;
    }
    case "current-assignment": {
      const memberId = k.string();
      k.end();
      record = { type, groupId, memberId, value: value === null ? null : decodeSluiceValue(value, decodeCurrentAssignment) };
      break;
    }
  }
  return record;
}

function decodeOffsetCommitValue(bytes: Uint8Array): OffsetCommitValue {
  const r = new Reader(bytes, "value");
  const version = r.int16();
  if (version < 0 || version > OFFSET_COMMIT_VALUE_VERSION) {
    throw new CorruptRecordError(`unsupported offset commit value version ${version}`, 0);
  }
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = r.string();
  const commitTimestampMs = r.int64();
  if (version === 1) r.int64(); // expireTimestamp: retention is the coordinator's job now
  r.end();
  return { offset, leaderEpoch, metadata, commitTimestampMs };
}

function decodeSluiceValue<T>(bytes: Uint8Array, body: (r: Reader) => T): T {
  const r = new Reader(bytes, "value");
  const version = r.int16();
  if (version !== SLUICE_VALUE_VERSION) throw new CorruptRecordError(`unsupported group record value version ${version}`, 0);
  const out = body(r);
  r.end();
  return out;
}

function decodeGroupMetadata(r: Reader): GroupMetadataValue {
  const groupEpoch = r.int32();
  const emptySinceMs = r.int64(); // -1 is a safe integer too
  const n = r.count();
  const subscribedTopics = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const topic = r.string();
    subscribedTopics.set(topic, r.int32());
  }
  return { groupEpoch, emptySinceMs, subscribedTopics };
}

function decodeMemberMetadata(r: Reader): MemberMetadataValue {
  const instanceId = r.nullableString();
  const rackId = r.nullableString();
  const clientId = r.string();
  const n = r.count();
  const subscribedTopicNames: string[] = [];
  for (let i = 0; i < n; i++) subscribedTopicNames.push(r.string());
  const subscribedTopicRegex = r.nullableString();
  const rebalanceTimeoutMs = r.int32();
  const serverAssignor = r.nullableString();
  return { instanceId, rackId, clientId, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor };
}

function decodeCurrentAssignment(r: Reader): CurrentAssignmentValue {
  const memberEpoch = r.int32();
  const previousMemberEpoch = r.int32();
  const at = r.position;
  const state = MEMBER_STATES[r.int8()];
  if (state === undefined) throw new CorruptRecordError("unknown member state", at);
  return { memberEpoch, previousMemberEpoch, state, assigned: r.partitions(), pendingRevocation: r.partitions() };
}

// ---- byte helpers ----

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private at = 0;

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
  int8(v: number): void {
    this.reserve(1);
    this.view.setInt8(this.at, v);
    this.at += 1;
  }
  int16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.at, v);
    this.at += 2;
  }
  int32(v: number): void {
    assert(Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff, `int32 out of range: ${v}`);
    this.reserve(4);
    this.view.setInt32(this.at, v);
    this.at += 4;
  }
  int64(v: number): void {
    this.reserve(8);
    writeInt64(this.buf, this.at, v);
    this.at += 8;
  }
  string(s: string): void {
    const bytes = utf8Encoder.encode(s);
    // Callers bound every string far below this (limits.ts); reaching it is our bug.
    assert(bytes.length <= STRING_BYTES_MAX, `string of ${bytes.length} bytes exceeds the int16 length prefix`);
    this.int16(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }
  nullableString(s: string | undefined): void {
    if (s === undefined) this.int16(-1);
    else this.string(s);
  }
  partitions(tp: TopicPartitions): void {
    this.int32(tp.size);
    for (const [topic, partitions] of tp) {
      this.string(topic);
      this.int32(partitions.length);
      for (const p of partitions) this.int32(p);
    }
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

class Reader {
  private readonly view: DataView;
  position = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: "key" | "value",
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.position + n > this.buf.byteLength) {
      throw new CorruptRecordError(`truncated ${this.what}: need ${n} bytes, have ${this.buf.byteLength - this.position}`, this.position);
    }
  }
  int8(): number {
    this.need(1);
    const v = this.view.getInt8(this.position);
    this.position += 1;
    return v;
  }
  int16(): number {
    this.need(2);
    const v = this.view.getInt16(this.position);
    this.position += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.view.getInt32(this.position);
    this.position += 4;
    return v;
  }
  int64(): number {
    this.need(8);
    const v = readInt64(this.buf, this.position);
    this.position += 8;
    return v;
  }
  /** A non-negative int32 element count that cannot exceed the bytes left (each element is >= 1 byte). */
  count(): number {
    const at = this.position;
    const n = this.int32();
    if (n < 0 || n > this.buf.byteLength - this.position) throw new CorruptRecordError(`bad element count ${n}`, at);
    return n;
  }
  string(): string {
    const s = this.nullableString();
    if (s === undefined) throw new CorruptRecordError(`null string in ${this.what}`, this.position - 2);
    return s;
  }
  nullableString(): string | undefined {
    const at = this.position;
    const len = this.int16();
    if (len === -1) return undefined;
    if (len < 0) throw new CorruptRecordError(`bad string length ${len}`, at);
    this.need(len);
    try {
      return utf8Decoder.decode(this.buf.subarray(this.position, this.position + len));
    } catch (cause) {
      throw new CorruptRecordError("string is not valid UTF-8", this.position, { cause });
    } finally {
      this.position += len;
    }
  }
  partitions(): TopicPartitions {
    const topics = this.count();
    const pairs: Array<[string, number]> = [];
    for (let i = 0; i < topics; i++) {
      const topic = this.string();
      const n = this.count();
      for (let j = 0; j < n; j++) {
        const at = this.position;
        const p = this.int32();
        if (p < 0) throw new CorruptRecordError(`negative partition ${p}`, at);
        pairs.push([topic, p]);
      }
    }
    return topicPartitionsOf(pairs);
  }
  end(): void {
    if (this.position !== this.buf.byteLength) {
      throw new CorruptRecordError(`${this.buf.byteLength - this.position} trailing bytes in ${this.what}`, this.position);
    }
  }
}
