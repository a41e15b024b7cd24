/**
 * Assertions catch our own bugs and stay on in production (TigerBeetle's habit). Never use
 * them for bad input from the world: that gets a typed SluiceError.
 */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = "AssertionError";
  }
}

export function assert(condition: unknown, message = "invariant violated"): asserts condition {
  if (!condition) throw new AssertionError(message);
}
