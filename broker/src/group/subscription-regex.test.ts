// Proves the linear-time subscription regex accepts exactly the names JavaScript's RegExp accepts
// under whole-name matching (for the supported syntax), rejects unsupported syntax with a typed
// error, and finishes on patterns that make a backtracking engine run for exponential time.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { compileTopicRegex, REGEX_NFA_STATES_MAX } from "./subscription-regex.js";

const ALPHABET = ["a", "b", "c", "-", ".", "_", "1", "Z"];

/** Random patterns in the supported subset, built from a small grammar. */
const patternArb: fc.Arbitrary<string> = fc.letrec<{ node: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("a", "b", "c", "-", "_", "1", "Z"),
    fc.constantFrom(".", "\\.", "\\d", "\\w", "\\W", "\\s", "\\D", "[a-c]", "[^a.]", "[-_]", "[\\d.]", "[\\w-]"),
    tie("node").map((n) => `(${n})`),
    tie("node").map((n) => `(?:${n})`),
  ),
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("atom"),
    fc.tuple(tie("atom"), fc.constantFrom("*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?")).map(([a, q]) => a + q),
    fc.array(tie("atom"), { minLength: 2, maxLength: 4 }).map((xs) => xs.join("")),
    fc.tuple(tie("node"), tie("node")).map(([a, b]) => `${a}|${b}`),
  ),
})).node;

const nameArb = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 8 }).map((cs) => cs.join(""));

describe("compileTopicRegex", () => {
  it("agrees with RegExp whole-name matching on random patterns and names", () => {
    fc.assert(
      fc.property(patternArb, fc.boolean(), fc.boolean(), fc.array(nameArb, { minLength: 1, maxLength: 12 }), (body, caret, dollar, names) => {
        const source = `${caret ? "^" : ""}${body}${dollar ? "$" : ""}`;
        const ours = compileTopicRegex(source);
        const native = new RegExp(`^(?:${body})$`);
        for (const name of names) expect(ours.matches(name), `/${source}/ on "${name}"`).toBe(native.test(name));
      }),
      { numRuns: 500 },
    );
  });

  it("matches whole names only", () => {
    const re = compileTopicRegex("orders\\..*");
    expect(re.matches("orders.eu")).toBe(true);
    expect(re.matches("orders.")).toBe(true);
    expect(re.matches("xorders.eu")).toBe(false);
    expect(re.matches("orders")).toBe(false);
    expect(compileTopicRegex("a|b").matches("ab")).toBe(false);
    expect(compileTopicRegex("").matches("")).toBe(true);
    expect(compileTopicRegex("").matches("a")).toBe(false);
  });

  it("rejects unsupported or malformed syntax with INVALID_REGULAR_EXPRESSION", () => {
    const bad = ["(a", "a)", "[a", "[]", "*a", "a**", "a{2}{3}", "(?=a)", "(?<n>a)", "\\1", "\\b", "a^b", "a$b", "(a$)", "x{3,2}", "a{1001}", "[z-a]", "\\", "[\\d-z]", "x".repeat(1001)];
    for (const source of bad) {
      let error: unknown;
      try {
        compileTopicRegex(source);
      } catch (e) {
        error = e;
      }
      expect(error, source).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).errorName, source).toBe("INVALID_REGULAR_EXPRESSION");
    }
  });

  it(`refuses automata above ${REGEX_NFA_STATES_MAX} states instead of allocating them`, () => {
    expect(() => compileTopicRegex("((a{100}){100}){100}")).toThrow(/states/);
  });

  it("finishes on catastrophic-backtracking patterns against a maximal 249-character name", () => {
    const name = "a".repeat(249);
    expect(compileTopicRegex("(a+)+b").matches(name)).toBe(false);
    expect(compileTopicRegex("(a|a)*b").matches(name)).toBe(false);
    expect(compileTopicRegex("a*a*a*a*a*a*a*a*a*a*b").matches(name)).toBe(false);
    expect(compileTopicRegex("(a*)*").matches(name)).toBe(true);
  });
});
