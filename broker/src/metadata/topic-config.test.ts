// Proves topic config overrides are validated key by key (unknown key or bad value → INVALID_CONFIG
// naming the key and why), stored in one canonical spelling, and resolved with the right precedence.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RECORD_BATCH_BYTES_MAX, SluiceError } from "@sluice/protocol";
import {
  builtInTopicDefaults,
  describeTopicConfig,
  normalizeTopicConfigValue,
  resolveTopicConfig,
  topicConfigDefinitions,
  validateTopicConfigs,
} from "./topic-config.js";

function invalid(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).errorName).toBe("INVALID_CONFIG");
    return error as SluiceError;
  }
  throw new Error("expected INVALID_CONFIG");
}

describe("validation", () => {
  it("accepts every key's default", () => {
    for (const def of topicConfigDefinitions) expect(normalizeTopicConfigValue(def.name, def.defaultValue)).toBe(def.defaultValue);
  });

  it("names an unknown key and lists the known ones", () => {
    const error = invalid(() => validateTopicConfigs({ "retention.hours": "5" }));
    expect(error.message).toContain('unknown topic config "retention.hours"');
    expect(error.message).toContain("retention.ms");
  });

  it("says why a number is refused: not an integer, or out of range", () => {
    expect(invalid(() => normalizeTopicConfigValue("retention.ms", "1.5")).message).toContain('"retention.ms" must be an integer, got "1.5"');
    expect(invalid(() => normalizeTopicConfigValue("retention.ms", "12abc")).message).toContain("must be an integer");
    expect(invalid(() => normalizeTopicConfigValue("retention.ms", "-2")).message).toContain('"retention.ms" must be in [-1,');
    expect(invalid(() => normalizeTopicConfigValue("segment.bytes", "10")).message).toContain('"segment.bytes" must be in [1024,');
    expect(invalid(() => normalizeTopicConfigValue("min.insync.replicas", "0")).message).toContain("[1,");
    expect(invalid(() => normalizeTopicConfigValue("retention.ms", "99999999999999999999")).message).toContain("must be an integer");
  });

  it("caps max.message.bytes at the largest batch a gRPC message carries", () => {
    expect(normalizeTopicConfigValue("max.message.bytes", String(RECORD_BATCH_BYTES_MAX))).toBe(String(RECORD_BATCH_BYTES_MAX));
    expect(invalid(() => normalizeTopicConfigValue("max.message.bytes", String(RECORD_BATCH_BYTES_MAX + 1))).message).toContain(String(RECORD_BATCH_BYTES_MAX));
  });

  it("checks enums and lists the allowed values", () => {
    expect(invalid(() => normalizeTopicConfigValue("compression.type", "brotli")).message).toContain("producer | uncompressed | gzip | snappy | lz4 | zstd");
    expect(invalid(() => normalizeTopicConfigValue("message.timestamp.type", "createtime")).message).toContain("CreateTime | LogAppendTime");
    expect(invalid(() => normalizeTopicConfigValue("cleanup.policy", "delete,shred")).message).toContain("cleanup.policy");
  });

  it("stores one spelling of cleanup.policy and of numbers", () => {
    expect(normalizeTopicConfigValue("cleanup.policy", "delete,compact")).toBe("compact,delete");
    expect(normalizeTopicConfigValue("cleanup.policy", " compact , delete ")).toBe("compact,delete");
    expect(normalizeTopicConfigValue("retention.ms", " 007 ")).toBe("7");
  });

  it("is all or nothing over a map", () => {
    expect(() => validateTopicConfigs({ "retention.ms": "1000", "segment.bytes": "x" })).toThrow(/segment.bytes/);
    expect(validateTopicConfigs({ "retention.ms": "1000", "cleanup.policy": "compact" })).toEqual({ "retention.ms": "1000", "cleanup.policy": "compact" });
  });

  it("accepts exactly the integers in range (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 10_000 }), (n) => {
        const ok = n >= 1024;
        try {
          expect(normalizeTopicConfigValue("segment.bytes", String(n))).toBe(String(n));
          return ok;
        } catch {
          return !ok;
        }
      }),
    );
  });
});

describe("resolution", () => {
  it("layers built-in defaults, broker defaults and topic overrides", () => {
    const config = resolveTopicConfig({ "retention.ms": "1000" }, { "retention.ms": "2000", "segment.bytes": "4096" });
    expect(config.retentionMs).toBe(1000);
    expect(config.segmentBytes).toBe(4096);
    expect(config.maxMessageBytes).toBe(1048588);
    expect(config.cleanupPolicy).toBe("delete");
    expect(config.messageTimestampType).toBe("CreateTime");
  });

  it("describes each key's value and source", () => {
    const entries = describeTopicConfig({ "retention.ms": "1000" }, { "segment.bytes": "4096" });
    expect(entries).toHaveLength(topicConfigDefinitions.length);
    expect(entries.find((e) => e.name === "retention.ms")).toMatchObject({ value: "1000", source: "TOPIC_OVERRIDE" });
    expect(entries.find((e) => e.name === "segment.bytes")).toMatchObject({ value: "4096", source: "BROKER_OVERRIDE" });
    expect(entries.find((e) => e.name === "cleanup.policy")).toMatchObject({ value: "delete", source: "DEFAULT" });
    for (const e of entries) expect(e.doc.length).toBeGreaterThan(10);
  });

  it("has a default for every key", () => {
    expect(Object.keys(builtInTopicDefaults()).sort()).toEqual(topicConfigDefinitions.map((d) => d.name).sort());
  });
});
