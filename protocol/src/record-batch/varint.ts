/**
 * Kafka's variable-length integers (the protobuf encoding): zig-zag, then base-128 groups of
 * 7 bits, least significant group first, high bit set on every byte but the last.
 *
 *   varint   32-bit signed, 1..5 bytes: record length, offsetDelta, key/value/header lengths
 *   varlong  64-bit signed, 1..10 bytes: timestampDelta
 *
 * Invariants: a reader never looks at more than VARINT_BYTES_MAX / VARLONG_BYTES_MAX bytes and
 * never past `cursor.end`; anything longer, truncated, or outside the value range (32 bits for
 * a varint, a JS safe integer for a varlong) is a CorruptRecordError. Writers take values the
 * encoder has already checked, so a value out of range there is our bug (an assertion).
 */
import { assert } from "../assert.js";
import { CorruptRecordError } from "../errors.js";

/** 32 bits in groups of 7: four full groups and 4 bits of a fifth. */
export const VARINT_BYTES_MAX = 5;
/** 64 bits in groups of 7: nine full groups and 1 bit of a tenth. */
export const VARLONG_BYTES_MAX = 10;

/** A read position over `buf[pos, end)`. Readers advance `pos`; `end` must be <= buf.length. */
export interface Cursor {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
}

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/** Reads a zig-zag varint (a signed 32-bit value). */
export function readVarint(cursor: Cursor): number {
  const { buf, end } = cursor;
  let pos = cursor.pos;
  let raw = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new CorruptRecordError("truncated varint", pos);
    const byte = buf[pos++]!;
    // The fifth byte may carry only the top 4 bits of 32 and no continuation.
    if (shift === 28 && byte > 0x0f) throw new CorruptRecordError("varint longer than 32 bits", pos - 1);
    raw |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor.pos = pos;
      return (raw >>> 1) ^ -(raw & 1);
    }
  }
  // Unreachable: the fifth byte either ends the varint or fails the check above.
  throw new CorruptRecordError("varint longer than 5 bytes", pos);
}

/**
 * Reads a zig-zag varlong. Values whose magnitude exceeds Number.MAX_SAFE_INTEGER (2^53 - 1)
 * cannot be represented exactly and are refused, as are encodings longer than 64 bits.
 */
export function readVarlong(cursor: Cursor): number {
  const { buf, end } = cursor;
  let pos = cursor.pos;
  if (pos >= end) throw new CorruptRecordError("truncated varlong", pos);
  const first = buf[pos++]!;
  const negative = (first & 1) === 1;
  // `half` accumulates the zig-zag value shifted right by one (its sign bit removed); every
  // term is a 7-bit number times a power of two, so the sum is exact while it stays safe.
  let half = (first & 0x7f) >>> 1;
  if (first >= 0x80) {
    let scale = 64; // 2^6: the first byte contributed 6 bits to `half`
    for (let index = 1; ; index++) {
      if (pos >= end) throw new CorruptRecordError("truncated varlong", pos);
      const byte = buf[pos++]!;
      if (index === VARLONG_BYTES_MAX - 1 && byte > 0x01) {
        throw new CorruptRecordError("varlong longer than 64 bits", pos - 1);
      }
      half += (byte & 0x7f) * scale;
      if (half > Number.MAX_SAFE_INTEGER) {
        throw new CorruptRecordError("varlong outside the safe integer range", pos - 1);
      }
      if (byte < 0x80) break;
      scale *= 128;
    }
  }
  const value = negative ? -half - 1 : half;
  if (!Number.isSafeInteger(value)) throw new CorruptRecordError("varlong outside the safe integer range", pos - 1);
  cursor.pos = pos;
  return value;
}

/** Bytes `writeVarint` uses for `value` (a signed 32-bit integer). */
export function sizeOfVarint(value: number): number {
  const raw = ((value << 1) ^ (value >> 31)) >>> 0;
  if (raw < 0x80) return 1;
  if (raw < 0x4000) return 2;
  if (raw < 0x20_0000) return 3;
  if (raw < 0x1000_0000) return 4;
  return 5;
}

/** Writes `value` (a signed 32-bit integer) at `at`; returns the position after it. */
export function writeVarint(buf: Uint8Array, at: number, value: number): number {
  // The message is built only on failure: this runs for every field of every record encoded.
  if (!(Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX)) assert(false, `varint ${value} is not an int32`);
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  let pos = at;
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[pos++] = raw;
  return pos;
}

/** Bytes `writeVarlong` uses for `value` (a safe integer). */
export function sizeOfVarlong(value: number): number {
  // Zig-zag of v is 2*half + sign; the first byte holds 6 bits of `half`, later bytes 7.
  let half = value >= 0 ? value : -value - 1;
  if (half < 64) return 1;
  half = Math.floor(half / 64);
  let bytes = 1;
  while (half > 0) {
    bytes++;
    half = Math.floor(half / 128);
  }
  return bytes;
}

/**
 * Writes `value` (a safe integer) at `at`; returns the position after it. Works on `half` and
 * the sign bit separately because the zig-zag value of a large negative safe integer is odd and
 * above 2^53, which a double cannot hold.
 */
export function writeVarlong(buf: Uint8Array, at: number, value: number): number {
  if (!Number.isSafeInteger(value)) assert(false, `varlong ${value} is not a safe integer`);
  const negative = value < 0;
  let half = negative ? -value - 1 : value;
  let pos = at;
  const first = (half % 64) * 2 + (negative ? 1 : 0);
  half = Math.floor(half / 64);
  if (half === 0) {
    buf[pos++] = first;
    return pos;
  }
  buf[pos++] = first | 0x80;
  while (half >= 128) {
    buf[pos++] = (half % 128) | 0x80;
    half = Math.floor(half / 128);
  }
  buf[pos++] = half;
  return pos;
}
