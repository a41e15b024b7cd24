// Proves snappy output uses snappy-java's xerial framing in 32 KiB chunks (what Kafka's Java
// client writes), that a xerial stream built by hand from that format's description and raw
// snappy both decode, and that broken framing is a CorruptRecordError.
import { compressSync, uncompressSync } from "snappy";
import { describe, expect, it } from "vitest";
import { CorruptRecordError, DecompressionLimitError } from "../errors.js";
import { XERIAL_CHUNK_BYTES, isXerialFramed, rawSnappyLength, snappyCompress, snappyDecompress } from "./snappy.js";

const XERIAL_HEADER_HEX = "82534e41505059000000000100000001";

function xerial(...chunks: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(XERIAL_HEADER_HEX, "hex")];
  for (const chunk of chunks) {
    const length = Buffer.alloc(4);
    length.writeInt32BE(chunk.length);
    parts.push(length, chunk);
  }
  return Buffer.concat(parts);
}

describe("snappy xerial framing", () => {
  it("writes the xerial header and raw snappy chunks of at most 32 KiB input each", () => {
    const javaBlockBytes = 32 * 1024; // snappy-java's default block size
    expect(XERIAL_CHUNK_BYTES).toBe(javaBlockBytes);
    const data = Buffer.alloc(javaBlockBytes * 2 + 100, 0x61);
    const out = snappyCompress(data);
    expect(out.subarray(0, 16).toString("hex")).toBe(XERIAL_HEADER_HEX);
    const sizes: number[] = [];
    for (let pos = 16; pos < out.length; ) {
      const length = out.readInt32BE(pos);
      const chunk = uncompressSync(out.subarray(pos + 4, pos + 4 + length)) as Buffer;
      sizes.push(chunk.length);
      pos += 4 + length;
    }
    expect(sizes).toEqual([javaBlockBytes, javaBlockBytes, 100]);
  });

  it("reads a hand-built xerial stream and raw snappy alike", () => {
    const stream = xerial(compressSync(Buffer.from("Kafka ")), compressSync(Buffer.from("snappy")));
    expect(isXerialFramed(stream)).toBe(true);
    expect(snappyDecompress(stream, 100).toString()).toBe("Kafka snappy");
    const raw = compressSync(Buffer.from("raw block"));
    expect(isXerialFramed(raw)).toBe(false);
    expect(snappyDecompress(raw, 100).toString()).toBe("raw block");
  });

  it("writes only the header for empty input, which reads back empty", () => {
    const out = snappyCompress(Buffer.alloc(0));
    expect(out.toString("hex")).toBe(XERIAL_HEADER_HEX);
    expect(snappyDecompress(out, 0).length).toBe(0);
  });

  it("refuses broken framing", () => {
    const chunk = compressSync(Buffer.from("abc"));
    const good = xerial(chunk);
    expect(() => snappyDecompress(good.subarray(0, 12), 100)).toThrow(/xerial header/);
    expect(() => snappyDecompress(good.subarray(0, 18), 100)).toThrow(/chunk length/);
    const overrun = Buffer.from(good);
    overrun.writeInt32BE(1000, 16);
    expect(() => snappyDecompress(overrun, 100)).toThrow(/overruns/);
    const negative = Buffer.from(good);
    negative.writeInt32BE(-5, 16);
    expect(() => snappyDecompress(negative, 100)).toThrow(/overruns/);
  });

  it("refuses a block whose content disagrees with its declared length", () => {
    const block = Buffer.from(compressSync(Buffer.from("abcdef")));
    block[0] = 9; // declares 9 bytes, holds 6
    expect(() => snappyDecompress(block, 100)).toThrow(CorruptRecordError);
  });

  it("refuses a block declaring more than its size can expand to, before decoding", () => {
    const block = Buffer.from([0x80, 0x80, 0x04, 0x00, 0x41]); // declares 64 KiB from 2 bytes
    expect(() => snappyDecompress(block, 1 << 20)).toThrow(/more than it can hold/);
    const densest = compressSync(Buffer.alloc(1 << 20)); // zeros: snappy's best ratio
    expect(snappyDecompress(densest, 1 << 20).length).toBe(1 << 20);
  });

  it("counts the budget across chunks", () => {
    const stream = xerial(compressSync(Buffer.alloc(60)), compressSync(Buffer.alloc(60)));
    expect(snappyDecompress(stream, 120).length).toBe(120);
    expect(() => snappyDecompress(stream, 119)).toThrow(DecompressionLimitError);
  });

  it("reads length preambles up to 32 bits", () => {
    expect(rawSnappyLength(Buffer.from([0x00]))).toBe(0);
    expect(rawSnappyLength(Buffer.from([0xac, 0x02]))).toBe(300);
    expect(rawSnappyLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toBe(0xffff_ffff);
    expect(() => rawSnappyLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]))).toThrow(CorruptRecordError);
    expect(() => rawSnappyLength(Buffer.from([0x80]))).toThrow(CorruptRecordError);
  });
});
