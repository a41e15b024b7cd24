/**
 * The binary codec for Raft traffic between brokers: frames carrying a hello (the handshake) or
 * a `BrokerEnvelope` (everything one broker sends another in one driver pass, heartbeats
 * coalesced per group). Entries, snapshots and configurations are also encoded here; the
 * driver's write-ahead log reuses them.
 *
 * Frame (all integers big-endian; i64 = safe integer as signed high word + unsigned low word):
 *
 *     u32 bodyLength                 bytes after this 8-byte header, <= frameBytesMax
 *     u32 crc32c(body)
 *     body:
 *       u8  frameType                1 = hello, 2 = envelope
 *       hello:    u32 magic 0x534c5254 ("SLRT"), u16 version (1), i32 from, i32 to
 *       envelope: i32 from, i32 to, then items until the end of the body:
 *         u8 tag, u32 group, fields by tag:
 *           1  append            i64 term, i64 prevOffset, i64 prevTerm, i64 commit, u32 n, n x entry
 *           2  append-resp       i64 term, u8 reject, i64 matchOffset, i64 rejectHint, i64 hintTerm
 *           3  vote / 4 pre-vote i64 term, i64 lastOffset, i64 lastTerm, u8 transfer
 *           5  vote-resp / 6 pre-vote-resp   i64 term, u8 reject
 *           7  heartbeat         i64 term, i64 commit, i64 readSeq
 *           8  heartbeat-resp    i64 term, i64 readSeq
 *           9  snapshot          i64 term, snapshot
 *           10 timeout-now       i64 term
 *           11 read-index        i64 term, i64 ctx
 *           12 read-index-resp   i64 term, i64 ctx, i64 index
 *           13 coalesced heartbeat       i64 term, i64 commit, i64 readSeq
 *           14 coalesced heartbeat-resp  i64 term, i64 readSeq
 *
 *     entry:    u8 kind (1 data, 2 noop, 3 config), i64 term, i64 baseOffset, i64 lastOffset,
 *               i64 sizeBytes, then data: u32 length + bytes | config: change, configuration
 *     change:   u8 type (1 add-learner, 2 promote-learner, 3 add-voter, 4 demote-voter, 5 remove-node), i32 node
 *     configuration: u16 voters, voters x i32, u16 learners, learners x i32   (ascending, disjoint)
 *     snapshot: i64 offset, i64 term, configuration, u32 length + data
 *
 * Inner messages carry no from/to: they are the envelope's (the core's coalescing guarantees
 * it). Items keep the envelope's order; a receiver rebuilds the three lists of BrokerEnvelope.
 *
 * Decoding is zero-copy for payloads (entry and snapshot data are views of the frame) and
 * validates everything the core would otherwise assert on: contiguous entries following
 * prevOffset, non-decreasing terms no newer than the message, control entries one offset wide,
 * well-formed configurations, booleans 0/1. Any violation is a FrameDecodeError.
 */
import { crc32c } from "@node-rs/crc32";
import { assert, type Offset } from "@sluice/protocol";
import type { BrokerEnvelope, CoalescedHeartbeat, CoalescedHeartbeatResponse, GroupId, GroupMessage } from "../core/multi-group.js";
import type { Message } from "../core/messages.js";
import type { ConfigChange, Configuration, Entry, NodeId, Snapshot, Term } from "../core/types.js";
import { FrameDecodeError } from "./errors.js";
import { transportLimits } from "./limits.js";
import { ChunkWriter, WireReader } from "./wire.js";

export const FRAME_HEADER_BYTES = 8;
export const FRAME_HELLO = 1;
export const FRAME_ENVELOPE = 2;
export const HELLO_MAGIC = 0x534c5254;
export const WIRE_VERSION = 1;

const TAG = {
  append: 1,
  "append-resp": 2,
  vote: 3,
  "pre-vote": 4,
  "vote-resp": 5,
  "pre-vote-resp": 6,
  heartbeat: 7,
  "heartbeat-resp": 8,
  snapshot: 9,
  "timeout-now": 10,
  "read-index": 11,
  "read-index-resp": 12,
} as const satisfies Record<Message["type"], number>;
const TAG_COALESCED_HEARTBEAT = 13;
const TAG_COALESCED_HEARTBEAT_RESP = 14;

const ENTRY_DATA = 1;
const ENTRY_NOOP = 2;
const ENTRY_CONFIG = 3;

const CHANGE_TYPES = ["add-learner", "promote-learner", "add-voter", "demote-voter", "remove-node"] as const;

/** Smallest encodings, used to reject counts that cannot fit before allocating anything. */
const ENTRY_BYTES_MIN = 1 + 8 * 4; // a noop: kind + term, baseOffset, lastOffset, sizeBytes
const NODE_ID_BYTES = 4;

export interface HelloFrame {
  readonly kind: "hello";
  readonly version: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

export interface EnvelopeFrame {
  readonly kind: "envelope";
  readonly envelope: BrokerEnvelope;
}

export type Frame = HelloFrame | EnvelopeFrame;

// ---------------------------------------------------------------- entries, configurations, snapshots

export function encodeConfiguration(w: ChunkWriter, config: Configuration): void {
  w.u16(config.voters.length);
  for (const id of config.voters) w.i32(id);
  w.u16(config.learners.length);
  for (const id of config.learners) w.i32(id);
}

function readNodeList(r: WireReader, what: string): NodeId[] {
  const n = r.u16(`${what} count`);
  if (n * NODE_ID_BYTES > r.remaining) r.fail(`${what} count ${n} exceeds the frame`);
  const ids: NodeId[] = [];
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const id = r.i32(what);
    if (id <= previous) r.fail(`${what} must be ascending, unique node ids >= 0 (got ${id} after ${previous})`);
    previous = id;
    ids.push(id as NodeId);
  }
  return ids;
}

export function decodeConfiguration(r: WireReader): Configuration {
  const voters = readNodeList(r, "voters");
  const learners = readNodeList(r, "learners");
  for (const id of learners) if (voters.includes(id)) r.fail(`node ${id} is both voter and learner`);
  return { voters, learners };
}

export function encodeEntry(w: ChunkWriter, entry: Entry): void {
  w.u8(entry.kind === "data" ? ENTRY_DATA : entry.kind === "noop" ? ENTRY_NOOP : ENTRY_CONFIG);
  w.i64(entry.term);
  w.i64(entry.baseOffset);
  w.i64(entry.lastOffset);
  w.i64(entry.sizeBytes);
  if (entry.kind === "data") {
    w.u32(entry.data.byteLength);
    w.bytes(entry.data);
  } else if (entry.kind === "config") {
    w.u8(CHANGE_TYPES.indexOf(entry.change.type) + 1);
    w.i32(entry.change.node);
    encodeConfiguration(w, entry.config);
  }
}

export function decodeEntry(r: WireReader): Entry {
  const kind = r.u8("entry kind");
  const term = r.i64("entry term") as Term;
  const baseOffset = r.i64("entry baseOffset") as Offset;
  const lastOffset = r.i64("entry lastOffset") as Offset;
  const sizeBytes = r.i64("entry sizeBytes");
  if (term < 0) r.fail(`entry term ${term} < 0`);
  if (baseOffset < 0 || lastOffset < baseOffset) r.fail(`entry offsets [${baseOffset}, ${lastOffset}] are invalid`);
  if (sizeBytes < 0) r.fail(`entry sizeBytes ${sizeBytes} < 0`);
  switch (kind) {
    case ENTRY_DATA: {
      const length = r.u32("entry data length");
      const data = r.bytes(length, "entry data");
      return { kind: "data", term, baseOffset, lastOffset, sizeBytes, data };
    }
    case ENTRY_NOOP:
      if (lastOffset !== baseOffset) r.fail(`noop entry spans [${baseOffset}, ${lastOffset}]`);
      return { kind: "noop", term, baseOffset, lastOffset, sizeBytes };
    case ENTRY_CONFIG: {
      if (lastOffset !== baseOffset) r.fail(`config entry spans [${baseOffset}, ${lastOffset}]`);
      const changeType = CHANGE_TYPES[r.u8("config change type") - 1];
      if (changeType === undefined) r.fail("unknown config change type");
      const node = r.i32("config change node");
      if (node < 0) r.fail(`config change node ${node} < 0`);
      const change: ConfigChange = { type: changeType, node: node as NodeId };
      const config = decodeConfiguration(r);
      if (config.voters.length === 0) r.fail("config entry leaves no voters");
      return { kind: "config", term, baseOffset, lastOffset, sizeBytes, change, config };
    }
    default:
      return r.fail(`unknown entry kind ${kind}`);
  }
}

export function encodeSnapshot(w: ChunkWriter, snapshot: Snapshot): void {
  w.i64(snapshot.meta.offset);
  w.i64(snapshot.meta.term);
  encodeConfiguration(w, snapshot.meta.config);
  w.u32(snapshot.data.byteLength);
  w.bytes(snapshot.data);
}

export function decodeSnapshot(r: WireReader): Snapshot {
  const offset = r.i64("snapshot offset");
  const term = r.i64("snapshot term");
  if (offset < -1 || term < 0) r.fail(`snapshot meta (offset ${offset}, term ${term}) is invalid`);
  const config = decodeConfiguration(r);
  const length = r.u32("snapshot data length");
  const data = r.bytes(length, "snapshot data");
  return { meta: { offset: offset as Offset, term: term as Term, config }, data };
}

// ---------------------------------------------------------------- messages

function encodeMessage(w: ChunkWriter, group: GroupId, m: Message): void {
  w.u8(TAG[m.type]);
  w.u32(group);
  w.i64(m.term);
  switch (m.type) {
    case "append":
      w.i64(m.prevOffset);
      w.i64(m.prevTerm);
      w.i64(m.commit);
      w.u32(m.entries.length);
      for (const entry of m.entries) encodeEntry(w, entry);
      break;
    case "append-resp":
      w.u8(m.reject ? 1 : 0);
      w.i64(m.matchOffset);
      w.i64(m.rejectHint);
      w.i64(m.hintTerm);
      break;
    case "vote":
    case "pre-vote":
      w.i64(m.lastOffset);
      w.i64(m.lastTerm);
      w.u8(m.transfer ? 1 : 0);
      break;
    case "vote-resp":
    case "pre-vote-resp":
      w.u8(m.reject ? 1 : 0);
      break;
    case "heartbeat":
      w.i64(m.commit);
      w.i64(m.readSeq);
      break;
    case "heartbeat-resp":
      w.i64(m.readSeq);
      break;
    case "snapshot":
      encodeSnapshot(w, m.snapshot);
      break;
    case "timeout-now":
      break;
    case "read-index":
      w.i64(m.ctx);
      break;
    case "read-index-resp":
      w.i64(m.ctx);
      w.i64(m.index);
      break;
  }
}

function readBool(r: WireReader, what: string): boolean {
  const v = r.u8(what);
  if (v > 1) r.fail(`${what} must be 0 or 1, got ${v}`);
  return v === 1;
}

function readOffset(r: WireReader, what: string): Offset {
  const v = r.i64(what);
  if (v < -1) r.fail(`${what} ${v} < -1`);
  return v as Offset;
}

function readTerm(r: WireReader, what: string): Term {
  const v = r.i64(what);
  if (v < 0) r.fail(`${what} ${v} < 0`);
  return v as Term;
}

function readSeq(r: WireReader): number {
  const v = r.i64("readSeq");
  if (v < 0) r.fail(`readSeq ${v} < 0`);
  return v;
}

function decodeAppendEntries(r: WireReader, term: Term, prevOffset: Offset, prevTerm: Term): Entry[] {
  const n = r.u32("entry count");
  if (n * ENTRY_BYTES_MIN > r.remaining) r.fail(`entry count ${n} exceeds the frame`);
  const entries: Entry[] = [];
  let expectedBase = prevOffset + 1;
  let previousTerm: number = prevTerm;
  for (let i = 0; i < n; i++) {
    const entry = decodeEntry(r);
    if (entry.baseOffset !== expectedBase) r.fail(`entry ${i} starts at ${entry.baseOffset}, expected ${expectedBase}`);
    if (entry.term < previousTerm || entry.term > term) r.fail(`entry ${i} term ${entry.term} outside [${previousTerm}, ${term}]`);
    expectedBase = entry.lastOffset + 1;
    previousTerm = entry.term;
    entries.push(entry);
  }
  return entries;
}

function decodeMessage(r: WireReader, tag: number, from: NodeId, to: NodeId): Message {
  const term = readTerm(r, "term");
  switch (tag) {
    case TAG.append: {
      const prevOffset = readOffset(r, "prevOffset");
      const prevTerm = readTerm(r, "prevTerm");
      const commit = readOffset(r, "commit");
      if (prevTerm > term) r.fail(`prevTerm ${prevTerm} > term ${term}`);
      const entries = decodeAppendEntries(r, term, prevOffset, prevTerm);
      return { type: "append", from, to, term, prevOffset, prevTerm, entries, commit };
    }
    case TAG["append-resp"]: {
      const reject = readBool(r, "reject");
      const matchOffset = readOffset(r, "matchOffset");
      const rejectHint = readOffset(r, "rejectHint");
      const hintTerm = readTerm(r, "hintTerm");
      return { type: "append-resp", from, to, term, reject, matchOffset, rejectHint, hintTerm };
    }
    case TAG.vote:
    case TAG["pre-vote"]: {
      const lastOffset = readOffset(r, "lastOffset");
      const lastTerm = readTerm(r, "lastTerm");
      const transfer = readBool(r, "transfer");
      return { type: tag === TAG.vote ? "vote" : "pre-vote", from, to, term, lastOffset, lastTerm, transfer };
    }
    case TAG["vote-resp"]:
    case TAG["pre-vote-resp"]:
      return { type: tag === TAG["vote-resp"] ? "vote-resp" : "pre-vote-resp", from, to, term, reject: readBool(r, "reject") };
    case TAG.heartbeat: {
      const commit = readOffset(r, "commit");
      return { type: "heartbeat", from, to, term, commit, readSeq: readSeq(r) };
    }
    case TAG["heartbeat-resp"]:
      return { type: "heartbeat-resp", from, to, term, readSeq: readSeq(r) };
    case TAG.snapshot:
      return { type: "snapshot", from, to, term, snapshot: decodeSnapshot(r) };
    case TAG["timeout-now"]:
      return { type: "timeout-now", from, to, term };
    case TAG["read-index"]:
      return { type: "read-index", from, to, term, ctx: r.i64("ctx") };
    case TAG["read-index-resp"]: {
      const ctx = r.i64("ctx");
      return { type: "read-index-resp", from, to, term, ctx, index: readOffset(r, "index") };
    }
    default:
      return r.fail(`unknown message tag ${tag}`);
  }
}

// ---------------------------------------------------------------- frames

/**
 * Starts a length-prefixed, CRC-checked frame whose body begins with `frameType`. The same
 * framing holds the driver's write-ahead log records.
 */
export function startFrame(frameType: number): ChunkWriter {
  const w = new ChunkWriter();
  w.reserveU32(); // body length
  w.reserveU32(); // crc32c
  w.u8(frameType);
  return w;
}

/** Fills in the header of a frame started by startFrame and returns its chunks. */
export function finishFrame(w: ChunkWriter): Buffer[] {
  const chunks = w.finish();
  const first = chunks[0];
  assert(first !== undefined && first.length >= FRAME_HEADER_BYTES + 1, "frame header must sit in its first chunk");
  let bodyLength = 0;
  let crc = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as Buffer;
    const body = i === 0 ? chunk.subarray(FRAME_HEADER_BYTES) : chunk;
    bodyLength += body.length;
    crc = crc32c(body, crc);
  }
  first.writeUInt32BE(bodyLength, 0);
  first.writeUInt32BE(crc >>> 0, 4);
  return chunks;
}

export function encodeHelloFrame(from: NodeId, to: NodeId): Buffer {
  const w = startFrame(FRAME_HELLO);
  w.u32(HELLO_MAGIC);
  w.u16(WIRE_VERSION);
  w.i32(from);
  w.i32(to);
  return Buffer.concat(finishFrame(w));
}

/**
 * Encodes `envelope` as one or more frames (a frame closes once it reaches `frameTargetBytes`;
 * a single item larger than that gets a frame of its own). Each frame is its list of chunks.
 */
export function encodeEnvelopeFrames(envelope: BrokerEnvelope, frameTargetBytes: number = transportLimits.frameTargetBytes): Buffer[][] {
  const frames: Buffer[][] = [];
  let w = startEnvelopeFrame(envelope);
  let items = 0;
  const nextItem = (): void => {
    if (items > 0 && w.length >= frameTargetBytes) {
      frames.push(finishFrame(w));
      w = startEnvelopeFrame(envelope);
      items = 0;
    }
    items++;
  };
  for (const hb of envelope.heartbeats) {
    nextItem();
    w.u8(TAG_COALESCED_HEARTBEAT);
    w.u32(hb.group);
    w.i64(hb.term);
    w.i64(hb.commit);
    w.i64(hb.readSeq);
  }
  for (const hr of envelope.heartbeatResponses) {
    nextItem();
    w.u8(TAG_COALESCED_HEARTBEAT_RESP);
    w.u32(hr.group);
    w.i64(hr.term);
    w.i64(hr.readSeq);
  }
  for (const { group, message } of envelope.messages) {
    assert(message.from === envelope.from && message.to === envelope.to, "envelope carries a message of another broker pair");
    nextItem();
    encodeMessage(w, group, message);
  }
  frames.push(finishFrame(w));
  return frames;
}

function startEnvelopeFrame(envelope: BrokerEnvelope): ChunkWriter {
  assert(envelope.from >= 0 && envelope.to >= 0, "envelope between real brokers");
  const w = startFrame(FRAME_ENVELOPE);
  w.i32(envelope.from);
  w.i32(envelope.to);
  return w;
}

/** Checks a frame body's CRC (the reader calls this) and decodes it. */
export function verifyFrameCrc(body: Buffer, expectedCrc: number): void {
  const actual = crc32c(body) >>> 0;
  if (actual !== expectedCrc) throw new FrameDecodeError(`crc32c ${actual.toString(16)} != header ${expectedCrc.toString(16)}`);
}

/** Decodes a frame body (after its 8-byte header). Payload bytes in the result are views of `body`. */
export function decodeFrameBody(body: Buffer): Frame {
  const r = new WireReader(body);
  const frameType = r.u8("frame type");
  if (frameType === FRAME_HELLO) {
    const magic = r.u32("magic");
    if (magic !== HELLO_MAGIC) r.fail(`bad magic 0x${magic.toString(16)}`);
    const version = r.u16("version");
    const from = r.i32("from");
    const to = r.i32("to");
    if (from < 0 || to < 0) r.fail(`hello between ${from} and ${to}: node ids must be >= 0`);
    if (r.remaining !== 0) r.fail(`${r.remaining} trailing bytes after hello`);
    return { kind: "hello", version, from: from as NodeId, to: to as NodeId };
  }
  if (frameType !== FRAME_ENVELOPE) r.fail(`unknown frame type ${frameType}`);
  const from = r.i32("from") as NodeId;
  const to = r.i32("to") as NodeId;
  if (from < 0 || to < 0) r.fail(`envelope between ${from} and ${to}: node ids must be >= 0`);
  const heartbeats: CoalescedHeartbeat[] = [];
  const heartbeatResponses: CoalescedHeartbeatResponse[] = [];
  const messages: GroupMessage[] = [];
  while (r.remaining > 0) {
    const tag = r.u8("item tag");
    const group = r.u32("group") as GroupId;
    if (tag === TAG_COALESCED_HEARTBEAT) {
      const term = readTerm(r, "term");
      const commit = readOffset(r, "commit");
      heartbeats.push({ group, term, commit, readSeq: readSeq(r) });
    } else if (tag === TAG_COALESCED_HEARTBEAT_RESP) {
      const term = readTerm(r, "term");
      heartbeatResponses.push({ group, term, readSeq: readSeq(r) });
    } else {
      messages.push({ group, message: decodeMessage(r, tag, from, to) });
    }
  }
  return { kind: "envelope", envelope: { from, to, heartbeats, heartbeatResponses, messages } };
}
