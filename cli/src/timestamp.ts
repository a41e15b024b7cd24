/** Parses a time given on the command line: milliseconds since the epoch, or an ISO 8601 date. */

export function parseTimestamp(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  // Date-only or date-time ISO forms; Date.parse alone accepts too many loose formats.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed.replace(" ", "T"));
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
