// Proves consume's output templates: every kcat directive and escape renders the record's raw
// bytes and fields, null keys/values print as nothing, and malformed templates are errors.
import { describe, expect, it } from "vitest";
import { compileFormat, DEFAULT_FORMAT, FormatError, recordJson, renderRecord, type FormattableRecord } from "./format.js";

const record: FormattableRecord = {
  topic: "orders",
  partition: 3,
  offset: 42,
  timestamp: 1_700_000_000_123,
  key: Buffer.from("user-1"),
  value: Buffer.from([0x68, 0x69, 0x00, 0xff]),
  headers: [
    { key: "source", value: Buffer.from("import") },
    { key: "empty", value: null },
  ],
};

function render(template: string, r: FormattableRecord = record): Buffer {
  const out: Buffer[] = [];
  renderRecord(compileFormat(template), r, out);
  return Buffer.concat(out);
}

describe("consume format templates", () => {
  it("renders every directive", () => {
    expect(render("%t %p %o %T %k %K %S %h").toString()).toBe("orders 3 42 1700000000123 user-1 6 4 source=import,empty=");
  });

  it("writes values as raw bytes, with %v and kcat's %s", () => {
    expect(render("%v")).toEqual(record.value);
    expect(render("%s|%v")).toEqual(Buffer.concat([record.value!, Buffer.from("|"), record.value!]));
  });

  it("understands \\n \\t \\r \\\\ \\xHH and %%", () => {
    expect(render("a\\tb\\nc\\r\\\\\\x41%%").toString("latin1")).toBe("a\tb\nc\r\\A%");
    expect(render(DEFAULT_FORMAT)).toEqual(Buffer.concat([record.value!, Buffer.from("\n")]));
  });

  it("prints null keys and values as nothing and their lengths as -1", () => {
    const nulls = { ...record, key: null, value: null, headers: [] };
    expect(render("[%k][%v][%K][%S][%h]", nulls).toString()).toBe("[][][-1][-1][]");
  });

  it("keeps multi-byte text intact", () => {
    expect(render("→%k←", { ...record, key: Buffer.from("ключ") }).toString()).toBe("→ключ←");
  });

  it("rejects unknown directives, lone % or \\ and bad hex escapes", () => {
    expect(() => compileFormat("%q")).toThrow(FormatError);
    expect(() => compileFormat("value %")).toThrow(FormatError);
    expect(() => compileFormat("oops \\")).toThrow(FormatError);
    expect(() => compileFormat("\\xZZ")).toThrow(FormatError);
    expect(() => compileFormat("\\q")).toThrow(FormatError);
  });

  it("renders a record as one JSON line for --output json", () => {
    expect(JSON.parse(recordJson({ ...record, value: Buffer.from("v") }))).toEqual({
      topic: "orders",
      partition: 3,
      offset: 42,
      timestamp: 1_700_000_000_123,
      key: "user-1",
      value: "v",
      headers: { source: "import", empty: null },
    });
  });
});
