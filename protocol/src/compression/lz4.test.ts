// Proves the LZ4 frame codec writes the frame Kafka's Java client writes (version 01,
// independent 64 KiB blocks, header checksum as lz4_flex computes it), decodes linked blocks
// per the LZ4 spec, and refuses every malformed frame field with a CorruptRecordError.
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { describe, expect, it } from "vitest";
import { CorruptRecordError, DecompressionLimitError } from "../errors.js";
import { LZ4_BLOCK_BYTES, lz4Compress, lz4Decompress } from "./lz4.js";
import { xxhash32 } from "./xxhash32.js";

/** A frame from its descriptor bytes (FLG, BD, optional content size) and raw block words/bytes. */
function frame(descriptor: readonly number[], body: readonly number[]): Buffer {
  const desc = Buffer.from(descriptor);
  const hc = (xxhash32(desc) >>> 8) & 0xff;
  return Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), desc, Buffer.from([hc]), Buffer.from(body)]);
}

const u32le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const ascii = (s: string): number[] => Array.from(Buffer.from(s, "latin1"));

describe("lz4 frame encoding", () => {
  it("writes Kafka's frame descriptor: version 01, independent blocks, 64 KiB, HC 0x82", () => {
    const out = lz4Compress(Buffer.from("hello hello hello hello hello"));
    // lz4_flex writes the same descriptor and HC for these flags (an independent HC check).
    expect(out.subarray(0, 7).toString("hex")).toBe("04224d18604082");
    expect(compressFrameSync(Buffer.from("x".repeat(100))).subarray(0, 7).toString("hex")).toBe("04224d18604082");
    expect(out.subarray(out.length - 4).readUInt32LE(0)).toBe(0); // EndMark
  });

  it("splits input into 64 KiB blocks and stores incompressible blocks uncompressed", () => {
    const kafkaBlockBytes = 64 * 1024; // Kafka's Java client's block size, BD code 4
    expect(LZ4_BLOCK_BYTES).toBe(kafkaBlockBytes);
    const random = Buffer.alloc(kafkaBlockBytes + 10);
    let state = 12345;
    for (let i = 0; i < random.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0; // an LCG: incompressible enough
      random[i] = state >>> 24;
    }
    const out = lz4Compress(random);
    const first = out.readUInt32LE(7);
    expect(first).toBe(0x8000_0000 + kafkaBlockBytes);
    const second = out.readUInt32LE(7 + 4 + kafkaBlockBytes);
    expect(second & 0x7fff_ffff).toBeLessThanOrEqual(10);
    expect(lz4Decompress(out, random.length).equals(random)).toBe(true);
    expect(decompressFrameSync(out).equals(random)).toBe(true);
  });
});

describe("lz4 frame decoding", () => {
  // Block 1 stored: 16 literal bytes. Block 2 compressed and linked: a 16-byte match 16 bytes
  // back (into block 1), then 5 literals "XYZWV". token 0x0C = 0 literals, match length 4+12.
  const linkedBody = [
    ...u32le(0x8000_0000 + 16),
    ...ascii("abcdefghijklmnop"),
    ...u32le(9),
    0x0c, 0x10, 0x00,
    0x50, ...ascii("XYZWV"),
    ...u32le(0),
  ];

  it("decodes linked blocks with the previous output as dictionary, as lz4_flex does", () => {
    const linked = frame([0x40, 0x40], linkedBody);
    const expected = "abcdefghijklmnopabcdefghijklmnopXYZWV";
    expect(lz4Decompress(linked, 100).toString("latin1")).toBe(expected);
    expect(decompressFrameSync(linked).toString("latin1")).toBe(expected);
  });

  it("fails the same block when it is declared independent (no dictionary)", () => {
    expect(() => lz4Decompress(frame([0x60, 0x40], linkedBody), 100)).toThrow(CorruptRecordError);
  });

  it("checks the header checksum byte", () => {
    const good = lz4Compress(Buffer.from("abc"));
    const bad = Buffer.from(good);
    bad[6] = bad[6]! ^ 1;
    expect(() => lz4Decompress(bad, 100)).toThrow(/header checksum/);
  });

  it("refuses unsupported or reserved descriptor bits", () => {
    const end = u32le(0);
    expect(() => lz4Decompress(frame([0x80, 0x40], end), 10)).toThrow(/version/);
    expect(() => lz4Decompress(frame([0x62, 0x40], end), 10)).toThrow(/reserved/);
    expect(() => lz4Decompress(frame([0x60, 0x41], end), 10)).toThrow(/reserved/);
    expect(() => lz4Decompress(frame([0x61, 0x40, 1, 0, 0, 0], end), 10)).toThrow(/dictionary/);
    expect(() => lz4Decompress(frame([0x60, 0x30], end), 10)).toThrow(/block max size/);
  });

  it("refuses skippable frames and other magics", () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, ...u32le(0)]);
    expect(() => lz4Decompress(skippable, 10)).toThrow(/magic/);
  });

  it("refuses blocks over the frame's maximum, truncation, and trailing bytes", () => {
    expect(() => lz4Decompress(frame([0x60, 0x40], [...u32le(0x8000_0000 + 65537)]), 1e6)).toThrow(/exceeds/);
    expect(() => lz4Decompress(frame([0x60, 0x40], [...u32le(0x8000_0000 + 5), 1, 2]), 100)).toThrow(/truncated block/);
    expect(() => lz4Decompress(frame([0x60, 0x40], [1, 0]), 100)).toThrow(/truncated block size/);
    expect(() => lz4Decompress(frame([0x60, 0x40], [...u32le(0), 7]), 100)).toThrow(/after the end/);
  });

  it("uses a declared content size to refuse early, and checks it", () => {
    const declared = (n: number): number[] => [...u32le(n), 0, 0, 0, 0];
    const body = [...u32le(0x8000_0000 + 3), ...ascii("abc"), ...u32le(0)];
    expect(lz4Decompress(frame([0x68, 0x40, ...declared(3)], body), 3).toString()).toBe("abc");
    expect(() => lz4Decompress(frame([0x68, 0x40, ...declared(1 << 30)], body), 1000)).toThrow(DecompressionLimitError);
    expect(() => lz4Decompress(frame([0x68, 0x40, ...declared(4)], body), 1000)).toThrow(/declares 4 bytes/);
    expect(() => lz4Decompress(frame([0x68, 0x40, ...declared(2)], body), 1000)).toThrow(/passes the declared 2 bytes/);
  });

  it("verifies block and content checksums written by lz4_flex", () => {
    const data = Buffer.from("checksummed ".repeat(1000));
    const withBlockSums = Buffer.from(compressFrameSync(data, { blockChecksums: true }));
    // Flip the last byte of the first block's checksum (just before the second block word).
    const firstSize = withBlockSums.readUInt32LE(7) & 0x7fff_ffff;
    withBlockSums[7 + 4 + firstSize + 3] = withBlockSums[7 + 4 + firstSize + 3]! ^ 0xff;
    expect(() => lz4Decompress(withBlockSums, data.length)).toThrow(/block checksum/);

    const withContentSum = Buffer.from(compressFrameSync(data, { contentChecksum: true }));
    withContentSum[withContentSum.length - 1] = withContentSum[withContentSum.length - 1]! ^ 0xff;
    expect(() => lz4Decompress(withContentSum, data.length)).toThrow(/content checksum/);
  });

  it("decodes a frame of many tiny blocks under a 4 MiB block maximum without 4 MiB per block", () => {
    // 50,000 compressed blocks of 2 bytes (token: 1 literal, then the literal), BD code 7.
    const body: number[] = [];
    for (let i = 0; i < 50_000; i++) body.push(...u32le(2), 0x10, 0x61);
    body.push(...u32le(0));
    const out = lz4Decompress(frame([0x60, 0x70], body), 1 << 20);
    expect(out.length).toBe(50_000);
    expect(out.every((b) => b === 0x61)).toBe(true);
  });

  it("refuses a bomb at the limit, and still calls a corrupt block corrupt under a small limit", () => {
    const bomb = lz4Compress(Buffer.alloc(16 * LZ4_BLOCK_BYTES));
    expect(() => lz4Decompress(bomb, LZ4_BLOCK_BYTES * 2 + 1)).toThrow(DecompressionLimitError);
    const broken = Buffer.from(bomb);
    broken[7 + 4] = 0xff; // first block's first token: 15 literals that are not there
    expect(() => lz4Decompress(broken, 1000)).toThrow(CorruptRecordError);
  });
});
