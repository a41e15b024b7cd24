/**
 * Splits a byte stream into lines for `sluice produce`: one record per "\n"-terminated line,
 * bytes kept exactly (no decoding, "\r" kept), a last line without "\n" still counts, and a
 * final "\n" does not make an extra empty record. A line longer than `maxLineBytes` is an
 * error instead of unbounded buffering.
 */

export class LineTooLongError extends Error {
  constructor(readonly maxLineBytes: number) {
    super(`a line is longer than ${maxLineBytes} bytes`);
    this.name = "LineTooLongError";
  }
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Lines completed by `chunk`. */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.pending.length > 0) {
        this.check(this.pendingBytes + piece.length);
        lines.push(Buffer.concat([...this.pending, piece]));
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        this.check(piece.length);
        lines.push(piece);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pending.push(rest);
      this.pendingBytes += rest.length;
      this.check(this.pendingBytes);
    }
    return lines;
  }

  /** The last line, if the input did not end with "\n". */
  end(): Buffer | undefined {
    if (this.pending.length === 0) return undefined;
    const last = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return last;
  }

  private check(bytes: number): void {
    if (bytes > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
  }
}

/** Splits a line into key and value at the first `separator` (no separator: null key). */
export function splitKey(line: Buffer, separator: Buffer | undefined): { key: Buffer | null; value: Buffer } {
  if (separator === undefined || separator.length === 0) return { key: null, value: line };
  const at = line.indexOf(separator);
  if (at < 0) return { key: null, value: line };
  return { key: line.subarray(0, at), value: line.subarray(at + separator.length) };
}
