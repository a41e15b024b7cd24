/**
 * XXH32 (seed 0 by default), written from the xxHash specification. The LZ4 frame format uses
 * it for its header checksum byte and its optional block and content checksums; nothing else
 * in Sluice does, so a pure-JS version (~1-2 GB/s) is enough.
 *
 * Invariant: all arithmetic is modulo 2^32 (Math.imul, >>> 0), results are unsigned.
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function readU32LE(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** XXH32 of `buf[start, end)`. */
export function xxhash32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  const length = end - start;
  let pos = start;
  let acc: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const limit = end - 16;
    while (pos <= limit) {
      v1 = round(v1, readU32LE(buf, pos));
      v2 = round(v2, readU32LE(buf, pos + 4));
      v3 = round(v3, readU32LE(buf, pos + 8));
      v4 = round(v4, readU32LE(buf, pos + 12));
      pos += 16;
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = (seed + PRIME5) | 0;
  }
  acc = (acc + length) | 0;
  while (pos + 4 <= end) {
    acc = Math.imul(rotl((acc + Math.imul(readU32LE(buf, pos), PRIME3)) | 0, 17), PRIME4);
    pos += 4;
  }
  while (pos < end) {
    acc = Math.imul(rotl((acc + Math.imul(buf[pos]!, PRIME5)) | 0, 11), PRIME1);
    pos++;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, PRIME2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, PRIME3);
  acc ^= acc >>> 16;
  return acc >>> 0;
}
