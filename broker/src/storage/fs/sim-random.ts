/**
 * A small seeded pseudo-random generator (sfc32) for the simulated disk and the tests that drive
 * it: the same seed replays the same crash. Not for anything that needs real randomness.
 */

export interface SimRandom {
  /** A uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

export function seededRandom(seed: number): SimRandom {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let c = 0xb7e15162;
  let d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 0x1_0000_0000;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    nextInt(maxExclusive: number): number {
      return Math.floor(next() * maxExclusive);
    },
  };
}
