// Proves log configs are validated in one place: fsync policies parse and print, out-of-range values get INVALID_CONFIG.
import { SluiceError } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { defaultLogConfig, formatFsyncPolicy, logConfig, parseFsyncPolicy } from "./config.js";

describe("log config", () => {
  it("parses and prints fsync policies", () => {
    expect(parseFsyncPolicy("always")).toEqual({ kind: "always" });
    expect(parseFsyncPolicy("never")).toEqual({ kind: "never" });
    expect(parseFsyncPolicy("interval:250")).toEqual({ kind: "interval", intervalMs: 250 });
    expect(formatFsyncPolicy(parseFsyncPolicy("interval:250"))).toBe("interval:250");
    for (const bad of ["sometimes", "interval:", "interval:0", "interval:-5", "interval:1.5", ""]) {
      expect(() => parseFsyncPolicy(bad)).toThrow(SluiceError);
    }
  });

  it("defaults to Kafka's values with fsync always", () => {
    expect(defaultLogConfig).toMatchObject({ segmentBytes: 1 << 30, indexIntervalBytes: 4096, maxMessageBytes: 1048588, fsync: { kind: "always" } });
    expect(logConfig()).toEqual(defaultLogConfig);
  });

  it("rejects out-of-range values with INVALID_CONFIG", () => {
    for (const bad of [{ segmentBytes: 10 }, { segmentBytes: 2 ** 31 }, { maxMessageBytes: 10 }, { retentionMs: -2 }, { indexIntervalBytes: 1.5 }, { segmentMs: 0 }]) {
      const error = (() => {
        try {
          logConfig(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).errorName).toBe("INVALID_CONFIG");
    }
  });
});
