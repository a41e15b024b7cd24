/**
 * The core's only source of randomness (election timeout jitter), injected so that a seeded
 * simulator replays a run exactly. `SeededRandom` is xoshiro128** (Blackman & Vigna) seeded
 * through splitmix32: tiny, fast, 2^128 - 1 period, good enough statistics for jitter and
 * fault schedules. Not for cryptography.
 *
 * Invariants: the same seed yields the same sequence on every platform (only 32-bit integer
 * arithmetic via Math.imul and >>> is used).
 */

export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** A uniformly distributed integer in [0, maxExclusive); maxExclusive in [1, 2^32]. */
  nextInt(maxExclusive: number): number;
  /** A uniformly distributed float in [0, 1). */
  nextFloat(): number;
}

export class SeededRandom implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32: spreads any seed (including 0) over the whole state.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  nextInt(maxExclusive: number): number {
    // Multiply-shift maps 32 random bits onto [0, max) with bias below 2^-32 * max: fine for jitter.
    return Math.floor((this.nextUint32() / 4294967296) * maxExclusive);
  }

  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A new generator whose sequence is independent of (but determined by) this one. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
