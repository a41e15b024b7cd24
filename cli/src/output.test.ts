// Proves the CLI's pure output helpers: aligned tables, byte sizes, the progress bar and its
// redraw throttle, line splitting for produce (exact bytes, chunk boundaries, bounded lines),
// key splitting, and timestamp parsing.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LineSplitter, LineTooLongError, splitKey } from "./lines.js";
import { PROGRESS_BAR_CELLS, ProgressReporter, renderProgress } from "./progress.js";
import { formatBytes, renderFields, renderTable } from "./table.js";
import { parseTimestamp } from "./timestamp.js";
import { devBanner } from "./commands/dev.js";

describe("renderTable", () => {
  it("pads columns, right-aligns numeric columns and shows missing cells as -", () => {
    const text = renderTable(["NAME", "PARTITIONS", "RACK"], [
      ["orders", 12, null],
      ["a", 3, "r1"],
    ]);
    expect(text.split("\n")).toEqual(["NAME    PARTITIONS  RACK", "orders          12  -", "a                3  r1"]);
  });

  it("aligns key: value fields and formats sizes", () => {
    expect(renderFields([["topic", "t"], ["replication factor", 1]])).toBe("topic:               t\nreplication factor:  1");
    expect([0, 1023, 1024, 1536, 5 * 1024 * 1024].map(formatBytes)).toEqual(["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB"]);
  });
});

describe("progress bar", () => {
  it("shows the fraction done, sizes, records and rate", () => {
    const line = renderProgress(512 * 1024, 1024 * 1024, 1000, 500);
    expect(line).toContain(`[${"#".repeat(PROGRESS_BAR_CELLS / 2)}${"-".repeat(PROGRESS_BAR_CELLS / 2)}]`);
    expect(line).toContain(" 50%");
    expect(line).toContain("512.0 KiB / 1.0 MiB");
    expect(line).toContain("500 records");
    expect(line).toContain("512.0 KiB/s");
    expect(renderProgress(10, 0, 0, 0)).toContain("100%");
  });

  it("redraws at most every 100 ms and ends with a newline", () => {
    const writes: string[] = [];
    const reporter = new ProgressReporter({ write: (t) => writes.push(t) }, 1000, 0);
    for (let now = 0; now < 1000; now += 10) reporter.update(now, now, now);
    expect(writes).toHaveLength(10);
    reporter.finish(1000, 1000, 1000);
    expect(writes.at(-1)?.endsWith("\n")).toBe(true);
    expect(writes.at(-1)).toContain("100%");
  });
});

describe("LineSplitter", () => {
  it("returns the same lines however the input is chunked", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString("latin1").replace(/\n/g, "")), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }), fc.boolean(), (lines, cuts, trailingNewline) => {
        const input = Buffer.from(lines.join("\n") + (trailingNewline && lines.length > 0 ? "\n" : ""), "latin1");
        const splitter = new LineSplitter(1000);
        const out: string[] = [];
        let at = 0;
        for (let i = 0; at < input.length; i++) {
          const size = cuts[i % cuts.length]!;
          for (const line of splitter.push(input.subarray(at, at + size))) out.push(line.toString("latin1"));
          at += size;
        }
        const last = splitter.end();
        if (last !== undefined) out.push(last.toString("latin1"));
        const expected = lines.length === 0 ? [] : lines;
        expect(out).toEqual(trailingNewline || lines.length === 0 || lines.at(-1) !== "" ? expected : expected.slice(0, -1));
      }),
    );
  });

  it("keeps \\r and empty lines, and refuses lines over the limit", () => {
    const splitter = new LineSplitter(5);
    expect(splitter.push(Buffer.from("a\r\n\nbc\n")).map(String)).toEqual(["a\r", "", "bc"]);
    expect(() => splitter.push(Buffer.from("123456"))).toThrow(LineTooLongError);
  });
});

describe("splitKey", () => {
  it("splits at the first separator; no separator means a null key", () => {
    expect(splitKey(Buffer.from("k:v:w"), Buffer.from(":"))).toEqual({ key: Buffer.from("k"), value: Buffer.from("v:w") });
    expect(splitKey(Buffer.from("plain"), Buffer.from(":"))).toEqual({ key: null, value: Buffer.from("plain") });
    expect(splitKey(Buffer.from("a::b"), Buffer.from("::"))).toEqual({ key: Buffer.from("a"), value: Buffer.from("b") });
    expect(splitKey(Buffer.from("k:v"), undefined)).toEqual({ key: null, value: Buffer.from("k:v") });
  });
});

describe("parseTimestamp", () => {
  it("accepts milliseconds and ISO dates, rejects anything else", () => {
    expect(parseTimestamp("1700000000000")).toBe(1_700_000_000_000);
    expect(parseTimestamp("2024-05-01T00:00:00Z")).toBe(Date.UTC(2024, 4, 1));
    expect(parseTimestamp("2024-05-01T02:00:00+02:00")).toBe(Date.UTC(2024, 4, 1));
    expect(parseTimestamp("2024-05-01")).toBe(Date.UTC(2024, 4, 1));
    for (const bad of ["yesterday", "-5", "1.5", "2024-13-45T99:00:00Z", "May 1 2024"]) expect(parseTimestamp(bad)).toBeUndefined();
  });
});

describe("sluice dev banner", () => {
  it("tells how to connect: bootstrap, data dir, metrics URL and working commands", () => {
    const text = devBanner({ bootstrap: "127.0.0.1:9092", dataAddress: "127.0.0.1:9093", dataDir: "/data", metricsUrl: "http://127.0.0.1:9644/metrics", defaultBootstrap: true });
    expect(text).toContain("bootstrap   127.0.0.1:9092");
    expect(text).toContain("data        127.0.0.1:9093");
    expect(text).toContain("http://127.0.0.1:9644/metrics");
    expect(text).toContain("sluice consume demo --from-beginning");
    expect(text).not.toContain("--bootstrap");
    const other = devBanner({ bootstrap: "127.0.0.1:4000", dataAddress: undefined, dataDir: "/data", metricsUrl: undefined, defaultBootstrap: false });
    expect(other).toContain("--bootstrap 127.0.0.1:4000");
    expect(other).toContain("metrics     off");
    expect(other).toContain("data        off");
  });
});
