/**
 * `sluice consume --format`: kcat-style output templates, compiled once and rendered per
 * record into byte chunks (values are written as raw bytes, never re-encoded).
 *
 *   %k key          %K key length (-1 for null)
 *   %v, %s value    %S value length (-1 for null)
 *   %o offset       %p partition      %t topic
 *   %T timestamp (ms since the epoch)  %h headers as k=v,k=v
 *   %% a percent sign
 *   \n \r \t \\ and \xHH escapes
 *
 * A null key or value prints as nothing (like kcat). Unknown directives and broken escapes
 * are errors at compile time, never garbage in the output.
 */

export interface FormattableRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { readonly key: string; readonly value: Buffer | null }[];
}

type Field = "key" | "keyLength" | "value" | "valueLength" | "offset" | "partition" | "topic" | "timestamp" | "headers";
type Token = { readonly kind: "text"; readonly bytes: Buffer } | { readonly kind: "field"; readonly field: Field };

export interface CompiledFormat {
  readonly template: string;
  readonly tokens: readonly Token[];
}

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FormatError";
  }
}

const directives: Readonly<Record<string, Field>> = {
  k: "key",
  K: "keyLength",
  v: "value",
  s: "value",
  S: "valueLength",
  o: "offset",
  p: "partition",
  t: "topic",
  T: "timestamp",
  h: "headers",
};

const escapes: Readonly<Record<string, string>> = { n: "\n", r: "\r", t: "\t", "\\": "\\" };

export const DEFAULT_FORMAT = "%v\\n";

export function compileFormat(template: string): CompiledFormat {
  const tokens: Token[] = [];
  let text: number[] = [];
  const flushText = (): void => {
    if (text.length > 0) tokens.push({ kind: "text", bytes: Buffer.from(text) });
    text = [];
  };
  const pushString = (s: string): void => {
    for (const byte of Buffer.from(s, "utf8")) text.push(byte);
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === "%") {
      const d = template[i + 1];
      if (d === undefined) throw new FormatError(`format ends with a lone "%" (use %% for a percent sign)`);
      i++;
      if (d === "%") {
        pushString("%");
        continue;
      }
      const field = directives[d];
      if (field === undefined) throw new FormatError(`unknown format directive %${d} (known: %k %K %v %s %S %o %p %t %T %h %%)`);
      flushText();
      tokens.push({ kind: "field", field });
    } else if (c === "\\") {
      const e = template[i + 1];
      if (e === undefined) throw new FormatError(`format ends with a lone "\\"`);
      i++;
      if (e === "x") {
        const hex = template.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new FormatError(`\\x needs two hex digits, got "\\x${hex}"`);
        text.push(Number.parseInt(hex, 16));
        i += 2;
        continue;
      }
      const escaped = escapes[e];
      if (escaped === undefined) throw new FormatError(`unknown escape \\${e} (known: \\n \\r \\t \\\\ \\xHH)`);
      pushString(escaped);
    } else {
      pushString(c);
    }
  }
  flushText();
  return { template, tokens };
}

function headersText(headers: FormattableRecord["headers"]): string {
  return headers.map((h) => `${h.key}=${h.value === null ? "" : h.value.toString("utf8")}`).join(",");
}

/** Appends the rendered record to `out` (chunks, to be concatenated or written in order). */
export function renderRecord(format: CompiledFormat, record: FormattableRecord, out: Buffer[]): void {
  for (const token of format.tokens) {
    if (token.kind === "text") {
      out.push(token.bytes);
      continue;
    }
    switch (token.field) {
      case "key":
        if (record.key !== null) out.push(record.key);
        break;
      case "value":
        if (record.value !== null) out.push(record.value);
        break;
      case "keyLength":
        out.push(Buffer.from(String(record.key === null ? -1 : record.key.length)));
        break;
      case "valueLength":
        out.push(Buffer.from(String(record.value === null ? -1 : record.value.length)));
        break;
      case "offset":
        out.push(Buffer.from(String(record.offset)));
        break;
      case "partition":
        out.push(Buffer.from(String(record.partition)));
        break;
      case "topic":
        out.push(Buffer.from(record.topic, "utf8"));
        break;
      case "timestamp":
        out.push(Buffer.from(String(record.timestamp)));
        break;
      case "headers":
        out.push(Buffer.from(headersText(record.headers), "utf8"));
        break;
    }
  }
}

/** One record as a JSON line (`--output json`): key, value and header values as UTF-8 text. */
export function recordJson(record: FormattableRecord): string {
  return JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : record.key.toString("utf8"),
    value: record.value === null ? null : record.value.toString("utf8"),
    headers: Object.fromEntries(record.headers.map((h) => [h.key, h.value === null ? null : h.value.toString("utf8")])),
  });
}
