// Proves topic names follow Kafka's rules (1–249 of [a-zA-Z0-9._-], not "." or "..") with
// INVALID_TOPIC_EXCEPTION saying why, and that '.'/'_' collisions are detected.
import { describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { collisionKey, isInternalTopic, TOPIC_NAME_LENGTH_MAX, validateTopicName } from "./topic-name.js";

function reason(name: string): string {
  try {
    validateTopicName(name);
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).errorName).toBe("INVALID_TOPIC_EXCEPTION");
    return (error as SluiceError).message;
  }
  return "valid";
}

describe("validateTopicName", () => {
  it("accepts legal names", () => {
    for (const name of ["orders", "a", "A.b_c-9", "__consumer_offsets", "x".repeat(TOPIC_NAME_LENGTH_MAX)]) expect(reason(name)).toBe("valid");
  });

  it("refuses illegal names with a reason", () => {
    expect(reason("")).toContain("empty");
    expect(reason(".")).toContain('cannot be "."');
    expect(reason("..")).toContain('cannot be ".."');
    expect(reason("x".repeat(TOPIC_NAME_LENGTH_MAX + 1))).toContain("250 characters, the limit is 249");
    expect(reason("a b")).toContain("outside [a-zA-Z0-9._-]");
    expect(reason("../etc")).toContain("outside");
    expect(reason("tópico")).toContain("outside");
    expect(reason("a/b")).toContain("outside");
  });
});

describe("collisions and internal topics", () => {
  it("treats '.' and '_' alike", () => {
    expect(collisionKey("a.b")).toBe(collisionKey("a_b"));
    expect(collisionKey("a.b")).not.toBe(collisionKey("a-b"));
  });

  it("marks double-underscore names internal", () => {
    expect(isInternalTopic("__consumer_offsets")).toBe(true);
    expect(isInternalTopic("_x")).toBe(false);
  });
});
