import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DATA_FRAME_HEADER_BYTES,
  DATA_PROTOCOL_VERSION,
  decodeHello,
  encodeFrameHeader,
  encodeHello,
  FrameKind,
  CopyingFrameReader,
  FrameReader,
  type DataFrame,
  type FrameReaderOptions,
  type FrameSource,
} from "./data-frame.js";
import { SluiceError } from "./errors.js";

function frame(kind: FrameKind, correlationId: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeFrameHeader(kind, correlationId, payload.length), payload]);
}

function drain(reader: FrameSource): DataFrame[] {
  const out: DataFrame[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) out.push(f);
  return out;
}

function thrown(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error("expected a SluiceError");
}

describe("data frames", () => {
  it("HELLO round-trips and anything else is refused", () => {
    expect(decodeHello(encodeHello())).toBe(DATA_PROTOCOL_VERSION);
    expect(decodeHello(encodeHello(7))).toBe(7);
    expect(thrown(() => decodeHello(Buffer.from("GET / HT"))).errorName).toBe("INVALID_REQUEST");
    expect(thrown(() => decodeHello(Buffer.from("SLDP"))).errorName).toBe("INVALID_REQUEST");
  });

});

/** Pushes copies of chunks and scribbles over them afterwards, as a reused socket read buffer would. */
function transient(reader: FrameSource): FrameSource {
  return {
    get bufferedBytes() {
      return reader.bufferedBytes;
    },
    push(chunk) {
      const copy = Buffer.from(chunk);
      reader.push(copy);
      copy.fill(0xee);
    },
    next: () => reader.next(),
  };
}

describe.each([
  ["FrameReader", (o?: FrameReaderOptions): FrameSource => new FrameReader(o)],
  ["CopyingFrameReader", (o?: FrameReaderOptions): FrameSource => transient(new CopyingFrameReader(o))],
])("%s", (_name, makeReader) => {
  it("parses frames split at every possible byte boundary, HELLO first", () => {
    const payloads = [Buffer.from("first"), Buffer.alloc(0), Buffer.alloc(300, 7)];
    const bytes = Buffer.concat([
      encodeHello(),
      frame(FrameKind.PRODUCE, 1, payloads[0]!),
      frame(FrameKind.FETCH, 0xffff_ffff, payloads[1]!),
      frame(FrameKind.ERROR, 3, payloads[2]!),
    ]);
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      const hellos: number[] = [];
      const reader = makeReader({ onHello: (h) => hellos.push(decodeHello(h)) });
      reader.push(bytes.subarray(0, cut));
      const frames = drain(reader);
      reader.push(bytes.subarray(cut));
      frames.push(...drain(reader));
      expect(hellos).toEqual([DATA_PROTOCOL_VERSION]);
      expect(frames.map((f) => [f.kind, f.correlationId])).toEqual([
        [FrameKind.PRODUCE, 1],
        [FrameKind.FETCH, 0xffff_ffff],
        [FrameKind.ERROR, 3],
      ]);
      expect(frames.map((f) => Buffer.from(f.payload))).toEqual(payloads);
      expect(reader.bufferedBytes).toBe(0);
    }
  });

  it("any chunking gives the same frames (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(FrameKind.PRODUCE, FrameKind.FETCH_RESPONSE), fc.nat(), fc.uint8Array({ maxLength: 200 })), { maxLength: 8 }),
        fc.array(fc.nat({ max: 50 }), { maxLength: 20 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map(([k, c, p]) => frame(k, c, Buffer.from(p))));
          const reader = makeReader();
          const got: DataFrame[] = [];
          let at = 0;
          for (const cut of cuts) {
            reader.push(bytes.subarray(at, at + cut));
            at = Math.min(bytes.length, at + cut);
            got.push(...drain(reader));
          }
          reader.push(bytes.subarray(at));
          got.push(...drain(reader));
          expect(got.map((f) => [f.kind, f.correlationId, [...f.payload]])).toEqual(frames.map(([k, c, p]) => [k, c, [...p]]));
        },
      ),
    );
  });

  it("refuses oversized, short and unknown frames with typed errors, and stays failed", () => {
    const big = Buffer.alloc(DATA_FRAME_HEADER_BYTES);
    big.writeUInt32BE(1025, 0);
    big[4] = FrameKind.PRODUCE;
    const reader = makeReader({ maxFrameBytes: 1024 });
    expect(thrown(() => {
      reader.push(big);
      reader.next();
    }).errorName).toBe("MESSAGE_TOO_LARGE");
    expect(thrown(() => reader.next()).errorName).toBe("MESSAGE_TOO_LARGE");
    expect(thrown(() => reader.push(Buffer.from("x"))).errorName).toBe("MESSAGE_TOO_LARGE");

    const unknown = makeReader();
    expect(thrown(() => {
      unknown.push(Buffer.from([0, 0, 0, 5, 0x42, 0, 0, 0, 1]));
      unknown.next();
    }).errorName).toBe("INVALID_REQUEST");

    const short = makeReader();
    expect(thrown(() => {
      short.push(Buffer.from([0, 0, 0, 2, FrameKind.FETCH, 0, 0, 0, 1]));
      short.next();
    }).errorName).toBe("INVALID_REQUEST");

    const garbage = makeReader({ onHello: (h) => decodeHello(h) });
    expect(thrown(() => {
      garbage.push(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
      garbage.next();
    }).errorName).toBe("INVALID_REQUEST");
  });

});

describe("CopyingFrameReader direct reads", () => {
  it("lets reads land straight in a large frame's payload, never past it", () => {
    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const bytes = Buffer.concat([frame(FrameKind.FETCH_RESPONSE, 5, payload), frame(FrameKind.PRODUCE_RESPONSE, 6, Buffer.from("next"))]);
    const reader = new CopyingFrameReader();
    expect(reader.directTarget(1)).toBeUndefined(); // no header yet: reads go through a buffer
    reader.push(bytes.subarray(0, 1000));
    let at = 1000;
    const frameEnd = DATA_FRAME_HEADER_BYTES + payload.length;
    for (let target = reader.directTarget(64 * 1024); target !== undefined; target = reader.directTarget(64 * 1024)) {
      expect(target.length).toBe(frameEnd - at); // exactly the rest of this frame
      const n = Math.min(target.length, 70_000);
      bytes.copy(target, 0, at, at + n); // what a socket read would do
      reader.receivedDirect(n);
      at += n;
    }
    expect(frameEnd - at).toBeLessThan(64 * 1024);
    reader.push(bytes.subarray(at));
    const frames = [reader.next(), reader.next()];
    expect(reader.next()).toBeUndefined();
    expect(frames.map((f) => f?.correlationId)).toEqual([5, 6]);
    expect(frames[0]?.payload.equals(payload)).toBe(true);
    expect(frames[1]?.payload.toString()).toBe("next");
    expect(thrown(() => reader.receivedDirect(1)).errorName).toBe("INVALID_REQUEST");
  });
});

describe("frame headers and views", () => {
  it("a frame inside one chunk is a view of it, a split frame is copied once", () => {
    // Large enough that Buffer.from gives each half its own ArrayBuffer (not Node's shared pool).
    const bytes = frame(FrameKind.FETCH_RESPONSE, 9, Buffer.alloc(20_000, 1));
    const whole = new FrameReader();
    whole.push(bytes);
    expect(whole.next()?.payload.buffer).toBe(bytes.buffer);
    const split = new FrameReader();
    const halves = [Buffer.from(bytes.subarray(0, 10_000)), Buffer.from(bytes.subarray(10_000))];
    for (const half of halves) split.push(half);
    const payload = split.next()?.payload;
    expect(payload?.length).toBe(20_000);
    expect(payload?.equals(Buffer.alloc(20_000, 1))).toBe(true);
    expect(halves.map((h) => h.buffer)).not.toContain(payload?.buffer);
  });

  it("a header never claims a correlation id outside u32", () => {
    expect(thrown(() => encodeFrameHeader(FrameKind.FETCH, -1, 0)).errorName).toBe("INVALID_REQUEST");
    expect(thrown(() => encodeFrameHeader(FrameKind.FETCH, 2 ** 32, 0)).errorName).toBe("INVALID_REQUEST");
  });
});
