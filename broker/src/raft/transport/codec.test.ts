// Proves the Raft wire codec is lossless for every message the core can produce (through any
// chunking of the byte stream), passes payloads without copying, and turns garbage,
// corruption and structurally invalid messages into FrameDecodeError - never another error.
import { crc32c } from "@node-rs/crc32";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Offset } from "@sluice/protocol";
import type { BrokerEnvelope, GroupId, GroupMessage } from "../core/multi-group.js";
import type { Message } from "../core/messages.js";
import type { ConfigChange, Configuration, Entry, NodeId, Snapshot, Term } from "../core/types.js";
import { decodeFrameBody, encodeEnvelopeFrames, encodeHelloFrame, FRAME_HEADER_BYTES, type Frame } from "./codec.js";
import { FrameDecodeError } from "./errors.js";
import { FrameReader } from "./frame-reader.js";
import { ChunkWriter } from "./wire.js";

const FROM = 1 as NodeId;
const TO = 2 as NodeId;

const termArb = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.maxSafeNat());
const offsetArb = fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }));
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1024, maxLength: 5000 }), // above the zero-copy threshold
).map((a) => Buffer.from(a));
const nodeListArb = fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 5 }).map((a) => a.sort((x, y) => x - y) as NodeId[]);
const configArb: fc.Arbitrary<Configuration> = fc
  .tuple(nodeListArb, nodeListArb)
  .map(([voters, learners]) => ({ voters, learners: learners.filter((id) => !voters.includes(id)) }));
const changeArb: fc.Arbitrary<ConfigChange> = fc.record({
  type: fc.constantFrom("add-learner", "promote-learner", "add-voter", "demote-voter", "remove-node"),
  node: fc.integer({ min: 0, max: 1000 }).map((n) => n as NodeId),
});
const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({
  meta: fc.record({ offset: offsetArb.map((o) => o as Offset), term: termArb.map((t) => t as Term), config: configArb }),
  data: bytesArb,
});

/** Entries contiguous after prevOffset, terms non-decreasing in [prevTerm, term]. */
function appendArb(): fc.Arbitrary<Message> {
  return fc
    .record({
      term: fc.integer({ min: 0, max: 1000 }),
      prevOffset: fc.integer({ min: -1, max: 1_000_000 }),
      commit: offsetArb,
      kinds: fc.array(
        fc.record({
          kind: fc.constantFrom("data", "noop", "config"),
          records: fc.integer({ min: 1, max: 500 }),
          termStep: fc.nat(3),
          data: bytesArb,
          sizeBytes: fc.nat(),
          change: changeArb,
          config: configArb.filter((c) => c.voters.length > 0),
        }),
        { maxLength: 6 },
      ),
    })
    .chain((a) => fc.integer({ min: 0, max: a.term }).map((prevTerm) => ({ ...a, prevTerm })))
    .map(({ term, prevOffset, prevTerm, commit, kinds }) => {
      const entries: Entry[] = [];
      let base = prevOffset + 1;
      let entryTerm = prevTerm;
      for (const k of kinds) {
        entryTerm = Math.min(term, entryTerm + k.termStep);
        const common = { term: entryTerm as Term, baseOffset: base as Offset, sizeBytes: k.sizeBytes };
        if (k.kind === "data") entries.push({ ...common, kind: "data", lastOffset: (base + k.records - 1) as Offset, data: k.data });
        else if (k.kind === "noop") entries.push({ ...common, kind: "noop", lastOffset: base as Offset });
        else entries.push({ ...common, kind: "config", lastOffset: base as Offset, change: k.change, config: k.config });
        base = entries[entries.length - 1]!.lastOffset + 1;
      }
      return {
        type: "append",
        from: FROM,
        to: TO,
        term: term as Term,
        prevOffset: prevOffset as Offset,
        prevTerm: prevTerm as Term,
        entries,
        commit: commit as Offset,
      } satisfies Message;
    });
}

const envelopeCommon = { from: FROM, to: TO };
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  appendArb(),
  fc.record({
    type: fc.constant("append-resp" as const),
    term: termArb,
    reject: fc.boolean(),
    matchOffset: offsetArb,
    rejectHint: offsetArb,
    hintTerm: termArb,
  }).map((m) => ({ ...envelopeCommon, ...m }) as Message),
  fc.record({
    type: fc.constantFrom("vote" as const, "pre-vote" as const),
    term: termArb,
    lastOffset: offsetArb,
    lastTerm: termArb,
    transfer: fc.boolean(),
  }).map((m) => ({ ...envelopeCommon, ...m }) as Message),
  fc.record({ type: fc.constantFrom("vote-resp" as const, "pre-vote-resp" as const), term: termArb, reject: fc.boolean() }).map(
    (m) => ({ ...envelopeCommon, ...m }) as Message,
  ),
  fc.record({ type: fc.constant("heartbeat" as const), term: termArb, commit: offsetArb, readSeq: fc.maxSafeNat() }).map(
    (m) => ({ ...envelopeCommon, ...m }) as Message,
  ),
  fc.record({ type: fc.constant("heartbeat-resp" as const), term: termArb, readSeq: fc.maxSafeNat() }).map(
    (m) => ({ ...envelopeCommon, ...m }) as Message,
  ),
  fc.record({ type: fc.constant("snapshot" as const), term: termArb, snapshot: snapshotArb }).map((m) => ({ ...envelopeCommon, ...m }) as Message),
  fc.record({ type: fc.constant("timeout-now" as const), term: termArb }).map((m) => ({ ...envelopeCommon, ...m }) as Message),
  fc.record({ type: fc.constant("read-index" as const), term: termArb, ctx: fc.maxSafeInteger() }).map(
    (m) => ({ ...envelopeCommon, ...m }) as Message,
  ),
  fc.record({ type: fc.constant("read-index-resp" as const), term: termArb, ctx: fc.maxSafeInteger(), index: offsetArb }).map(
    (m) => ({ ...envelopeCommon, ...m }) as Message,
  ),
);

const groupArb = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })).map((g) => g as GroupId);

const envelopeArb: fc.Arbitrary<BrokerEnvelope> = fc.record({
  from: fc.constant(FROM),
  to: fc.constant(TO),
  heartbeats: fc.array(
    fc.record({ group: groupArb, term: termArb.map((t) => t as Term), commit: offsetArb.map((o) => o as Offset), readSeq: fc.maxSafeNat() }),
    { maxLength: 20 },
  ),
  heartbeatResponses: fc.array(fc.record({ group: groupArb, term: termArb.map((t) => t as Term), readSeq: fc.maxSafeNat() }), { maxLength: 20 }),
  messages: fc.array(fc.record({ group: groupArb, message: messageArb }) as fc.Arbitrary<GroupMessage>, { maxLength: 12 }),
});

function concatFrames(frames: Buffer[][]): Buffer {
  return Buffer.concat(frames.flat());
}

/** Splits `stream` at `cuts` (fractions) and feeds the pieces to a FrameReader. */
function readAll(stream: Buffer, cuts: readonly number[]): Frame[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * stream.length)))].sort((a, b) => a - b);
  const reader = new FrameReader();
  const frames: Frame[] = [];
  let at = 0;
  for (const p of [...points, stream.length]) {
    for (const body of reader.push(stream.subarray(at, p))) frames.push(decodeFrameBody(body));
    at = p;
  }
  expect(reader.bufferedBytes).toBe(0);
  return frames;
}

function mergeEnvelopes(frames: readonly Frame[]): BrokerEnvelope {
  const merged = { from: FROM, to: TO, heartbeats: [] as unknown[], heartbeatResponses: [] as unknown[], messages: [] as unknown[] };
  for (const frame of frames) {
    if (frame.kind !== "envelope") throw new Error("expected envelope frames");
    expect(frame.envelope.from).toBe(FROM);
    expect(frame.envelope.to).toBe(TO);
    merged.heartbeats.push(...frame.envelope.heartbeats);
    merged.heartbeatResponses.push(...frame.envelope.heartbeatResponses);
    merged.messages.push(...frame.envelope.messages);
  }
  return merged as unknown as BrokerEnvelope;
}

/** A frame around a hand-written body (valid header and CRC), for structural checks. */
function frameAround(write: (w: ChunkWriter) => void): Buffer {
  const w = new ChunkWriter();
  write(w);
  const body = Buffer.concat(w.finish());
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32c(body) >>> 0, 4);
  return Buffer.concat([header, body]);
}

function decodeOne(frame: Buffer): Frame {
  const bodies = new FrameReader().push(frame);
  expect(bodies).toHaveLength(1);
  return decodeFrameBody(bodies[0]!);
}

describe("raft wire codec", () => {
  it("round-trips every envelope through any chunking of the stream and any frame size", () => {
    fc.assert(
      fc.property(envelopeArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), fc.integer({ min: 1, max: 4096 }), (env, cuts, target) => {
        const frames = encodeEnvelopeFrames(env, target);
        const decoded = readAll(concatFrames(frames), cuts);
        expect(decoded).toHaveLength(frames.length);
        expect(mergeEnvelopes(decoded)).toEqual(env);
      }),
      { numRuns: 400 },
    );
  });

  it("splits a large envelope into frames near the target size, each a valid envelope", () => {
    const heartbeats = Array.from({ length: 1000 }, (_, g) => ({ group: g as GroupId, term: 3 as Term, commit: 10 as Offset, readSeq: 0 }));
    const env: BrokerEnvelope = { from: FROM, to: TO, heartbeats, heartbeatResponses: [], messages: [] };
    const frames = encodeEnvelopeFrames(env, 4096);
    expect(frames.length).toBeGreaterThan(5);
    for (const chunks of frames) {
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      expect(bytes).toBeLessThanOrEqual(4096 + FRAME_HEADER_BYTES + 64);
    }
    expect(mergeEnvelopes(readAll(concatFrames(frames), [])).heartbeats).toEqual(heartbeats);
    // Unsplit, the same envelope is one frame: heartbeats of 1000 groups are one transport message.
    expect(encodeEnvelopeFrames(env)).toHaveLength(1);
  });

  it("passes large payloads by reference when encoding and decodes them as views of the frame", () => {
    const payload = Buffer.alloc(64 * 1024, 7);
    const entry: Entry = { kind: "data", term: 1 as Term, baseOffset: 0 as Offset, lastOffset: 0 as Offset, sizeBytes: payload.length, data: payload };
    const append: Message = { type: "append", from: FROM, to: TO, term: 1 as Term, prevOffset: -1 as Offset, prevTerm: 0 as Term, entries: [entry], commit: -1 as Offset };
    const frames = encodeEnvelopeFrames({ from: FROM, to: TO, heartbeats: [], heartbeatResponses: [], messages: [{ group: 0 as GroupId, message: append }] });
    expect(frames).toHaveLength(1);
    expect(frames[0]!.some((chunk) => chunk.buffer === payload.buffer && chunk.byteOffset === payload.byteOffset)).toBe(true);
    const stream = concatFrames(frames);
    const body = new FrameReader().push(stream)[0]!;
    const frame = decodeFrameBody(body);
    const decoded = frame.kind === "envelope" ? frame.envelope.messages[0]!.message : null;
    if (decoded?.type !== "append") throw new Error("expected an append");
    const data = (decoded.entries[0] as { data: Uint8Array }).data;
    expect(data.buffer).toBe(body.buffer);
    expect(Buffer.compare(Buffer.from(data), payload)).toBe(0);
  });

  it("round-trips the hello frame", () => {
    expect(decodeOne(encodeHelloFrame(3 as NodeId, 9 as NodeId))).toEqual({ kind: "hello", version: 1, from: 3, to: 9 });
  });

  it("answers random bytes with frames or FrameDecodeError, never another error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          new FrameReader(1 << 20).push(Buffer.from(bytes)).forEach((b) => decodeFrameBody(b));
        } catch (error) {
          expect(error).toBeInstanceOf(FrameDecodeError);
        }
        try {
          decodeFrameBody(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(FrameDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("never returns a frame whose bytes were corrupted (CRC), and poisons the reader after an error", () => {
    fc.assert(
      fc.property(envelopeArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (env, where, flip) => {
        const stream = concatFrames(encodeEnvelopeFrames(env));
        const at = where % stream.length;
        const corrupted = Buffer.from(stream);
        corrupted[at] = (corrupted[at] as number) ^ flip;
        const reader = new FrameReader();
        let frames: Buffer[] = [];
        try {
          frames = reader.push(corrupted);
        } catch (error) {
          expect(error).toBeInstanceOf(FrameDecodeError);
          expect(() => reader.push(stream)).toThrow(FrameDecodeError);
          return;
        }
        // Only a length field grown past the data can go undetected for now: the reader waits for more bytes.
        expect(frames).toHaveLength(0);
        expect(at).toBeLessThan(4);
      }),
      { numRuns: 500 },
    );
  });

  it("rejects a length prefix above frameBytesMax before buffering the body", () => {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(1025, 0);
    expect(() => new FrameReader(1024).push(header)).toThrow(/outside \[1, 1024\]/);
    expect(() => new FrameReader(1024).push(Buffer.alloc(FRAME_HEADER_BYTES))).toThrow(FrameDecodeError);
  });

  describe("structural checks on CRC-valid frames", () => {
    const envelopeHead = (w: ChunkWriter): void => {
      w.u8(2);
      w.i32(FROM);
      w.i32(TO);
    };
    const appendHead = (w: ChunkWriter, prevOffset: number): void => {
      w.u8(1); // append
      w.u32(0); // group
      w.i64(5); // term
      w.i64(prevOffset);
      w.i64(4); // prevTerm
      w.i64(-1); // commit
    };
    const entry = (w: ChunkWriter, kind: number, term: number, base: number, last: number): void => {
      w.u8(kind);
      w.i64(term);
      w.i64(base);
      w.i64(last);
      w.i64(80);
      if (kind === 1) w.u32(0);
    };
    const cases: Array<[string, (w: ChunkWriter) => void, RegExp]> = [
      ["unknown frame type", (w) => w.u8(9), /unknown frame type 9/],
      ["bad hello magic", (w) => { w.u8(1); w.u32(0xdeadbeef); w.u16(1); w.i32(1); w.i32(2); }, /bad magic/],
      ["unknown message tag", (w) => { envelopeHead(w); w.u8(77); w.u32(0); w.i64(1); }, /unknown message tag 77/],
      ["negative term", (w) => { envelopeHead(w); w.u8(10); w.u32(0); w.i64(-2); }, /term -2 < 0/],
      ["offset below -1", (w) => { envelopeHead(w); w.u8(7); w.u32(0); w.i64(1); w.i64(-5); w.i64(0); }, /commit -5 < -1/],
      ["non-boolean flag", (w) => { envelopeHead(w); w.u8(5); w.u32(0); w.i64(1); w.u8(2); }, /must be 0 or 1/],
      ["unsafe int64", (w) => { envelopeHead(w); w.u8(10); w.u32(0); w.u32(0x7fffffff); w.u32(0xffffffff); }, /not a safe integer/],
      ["truncated message", (w) => { envelopeHead(w); w.u8(7); w.u32(0); w.i64(1); }, /truncated/],
      ["entries with a gap", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(2); entry(w, 2, 5, 10, 10); entry(w, 2, 5, 12, 12); }, /starts at 12, expected 11/],
      ["first entry not after prevOffset", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(1); entry(w, 2, 5, 11, 11); }, /expected 10/],
      ["entry term above the message term", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(1); entry(w, 2, 6, 10, 10); }, /term 6 outside/],
      ["entry term below prevTerm", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(1); entry(w, 2, 3, 10, 10); }, /term 3 outside/],
      ["noop spanning two offsets", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(1); entry(w, 2, 5, 10, 11); }, /noop entry spans/],
      ["entry count beyond the frame", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(1_000_000); }, /exceeds the frame/],
      ["data length beyond the frame", (w) => { envelopeHead(w); appendHead(w, 9); w.u32(1); w.u8(1); w.i64(5); w.i64(10); w.i64(10); w.i64(1); w.u32(500); }, /truncated entry data/],
      ["unsorted voters", (w) => { envelopeHead(w); w.u8(9); w.u32(0); w.i64(1); w.i64(3); w.i64(1); w.u16(2); w.i32(2); w.i32(1); }, /ascending/],
      ["voter also a learner", (w) => { envelopeHead(w); w.u8(9); w.u32(0); w.i64(1); w.i64(3); w.i64(1); w.u16(1); w.i32(2); w.u16(1); w.i32(2); }, /both voter and learner/],
    ];
    for (const [name, write, expected] of cases) {
      it(`rejects ${name}`, () => {
        const frame = frameAround(write);
        let error: unknown;
        try {
          decodeOne(frame);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(FrameDecodeError);
        expect((error as Error).message).toMatch(expected);
      });
    }
  });
});
