/**
 * Regular expressions for topic subscriptions, matched in linear time.
 *
 * Why not `RegExp`: a member sends its regex over the wire, and JavaScript's backtracking engine
 * takes exponential time on patterns like `(a+)+b` against a 249-character topic name, which
 * would stall the coordinator for every group it serves. Kafka uses RE2J for the same reason.
 * This is a Thompson NFA: compile once, then simulate the set of live states, so matching costs
 * O(name length x pattern states) whatever the pattern.
 *
 * Semantics: the pattern must match the WHOLE topic name (Java's `Matcher.matches()`, which
 * Kafka's regex subscriptions use). Supported syntax, a common subset of RE2 and JavaScript:
 * literals, `.`, classes `[a-z_]` / `[^...]`, escapes `\d \D \w \W \s \S \t \n \r \f \v` and any
 * escaped punctuation, groups `(...)` and `(?:...)`, alternation `|`, quantifiers `* + ? {n}
 * {n,} {n,m}` (a trailing `?` makes them lazy, which does not change what matches), and `^` /
 * `$` at the very start / end (no-ops under whole-name matching). Everything else (backreferences,
 * lookaround, word boundaries, named groups, anchors elsewhere) is INVALID_REGULAR_EXPRESSION,
 * as is a pattern whose expanded automaton exceeds REGEX_NFA_STATES_MAX.
 *
 * Pure: no clock, randomness or I/O.
 */
import { SluiceError } from "@sluice/protocol";

/** Longest pattern accepted. Real subscriptions are a few dozen characters; this bounds parse work. */
export const SUBSCRIPTION_REGEX_LENGTH_MAX = 1_000;
/** Largest counted repetition `{n,m}` (RE2's limit too): `a{1000}` already costs 1000 states. */
export const REGEX_REPEAT_MAX = 1_000;
/** Automaton size cap: bounds memory and the per-character cost of a match (each step touches every state at most once). */
export const REGEX_NFA_STATES_MAX = 20_000;

export interface TopicRegex {
  readonly source: string;
  /** True when the whole name matches. */
  matches(name: string): boolean;
}

/** Throws SluiceError INVALID_REGULAR_EXPRESSION for unsupported or malformed patterns. */
export function compileTopicRegex(source: string): TopicRegex {
  if (source.length > SUBSCRIPTION_REGEX_LENGTH_MAX) {
    throw invalid(source, `longer than ${SUBSCRIPTION_REGEX_LENGTH_MAX} characters`);
  }
  const ast = new Parser(source).parse();
  const nfa = compile(ast, source);
  return { source, matches: (name) => simulate(nfa, name) };
}

// ---- syntax tree ----

/** Inclusive code-unit ranges; `negated` flips membership. */
interface CharSet {
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  readonly negated: boolean;
}

type Node =
  | { readonly kind: "empty" }
  | { readonly kind: "char"; readonly set: CharSet }
  | { readonly kind: "concat"; readonly items: readonly Node[] }
  | { readonly kind: "alt"; readonly options: readonly Node[] }
  | { readonly kind: "repeat"; readonly node: Node; readonly min: number; readonly max: number };

const DIGIT: ReadonlyArray<readonly [number, number]> = [[0x30, 0x39]];
const WORD: ReadonlyArray<readonly [number, number]> = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// JavaScript's \s: ASCII whitespace plus the Unicode space separators and line terminators.
const SPACE: ReadonlyArray<readonly [number, number]> = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: ReadonlyArray<readonly [number, number]> = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { t: 0x09, n: 0x0a, r: 0x0d, f: 0x0c, v: 0x0b };

function inSet(set: CharSet, c: number): boolean {
  let hit = false;
  for (const [lo, hi] of set.ranges) {
    if (c >= lo && c <= hi) {
      hit = true;
      break;
    }
  }
  return hit !== set.negated;
}

function invalid(source: string, why: string, at?: number): SluiceError {
  return new SluiceError("INVALID_REGULAR_EXPRESSION", `/${source}/: ${why}${at === undefined ? "" : ` at index ${at}`}`);
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    if (this.src.startsWith("^")) this.pos = 1;
    const node = this.alternation(0);
    if (this.pos < this.src.length) throw invalid(this.src, `unexpected "${this.src[this.pos]}"`, this.pos);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private alternation(depth: number): Node {
    const options = [this.concatenation(depth)];
    while (this.peek() === "|") {
      this.pos++;
      options.push(this.concatenation(depth));
    }
    return options.length === 1 ? (options[0] as Node) : { kind: "alt", options };
  }

  private concatenation(depth: number): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") break;
      if (c === "$") {
        // Only a top-level `$` that ends the pattern is accepted (a no-op under whole-name matching).
        if (depth === 0 && this.pos === this.src.length - 1) {
          this.pos++;
          break;
        }
        throw invalid(this.src, "`$` is only supported at the end", this.pos);
      }
      items.push(this.quantified(this.atom(depth)));
    }
    return items.length === 0 ? { kind: "empty" } : items.length === 1 ? (items[0] as Node) : { kind: "concat", items };
  }

  private quantified(node: Node): Node {
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const counted = this.countedAt(this.pos);
      if (counted === undefined) return node; // a literal "{", as in JavaScript and RE2
      [min, max] = [counted.min, counted.max];
      this.pos = counted.end - 1;
    } else return node;
    this.pos++;
    if (this.peek() === "?") this.pos++; // lazy: same language
    const after = this.peek();
    if (after === "*" || after === "+" || after === "?" || (after === "{" && this.countedAt(this.pos) !== undefined)) {
      throw invalid(this.src, "nothing to repeat", this.pos);
    }
    return { kind: "repeat", node, min, max };
  }

  /** Parses `{n}`, `{n,}`, `{n,m}` at `at`; undefined when it is not a quantifier. */
  private countedAt(at: number): { min: number; max: number; end: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(at, at + 24));
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (min > REGEX_REPEAT_MAX || (max !== Infinity && max > REGEX_REPEAT_MAX)) {
      throw invalid(this.src, `repetition count above ${REGEX_REPEAT_MAX}`, at);
    }
    if (max < min) throw invalid(this.src, "repetition {n,m} with m < n", at);
    return { min, max, end: at + m[0].length };
  }

  private atom(depth: number): Node {
    const at = this.pos;
    const c = this.src[this.pos++] as string;
    switch (c) {
      case "(": {
        if (this.peek() === "?") {
          if (this.src[this.pos + 1] !== ":") throw invalid(this.src, "only (?:...) groups are supported", at);
          this.pos += 2;
        }
        const inner = this.alternation(depth + 1);
        if (this.peek() !== ")") throw invalid(this.src, "unclosed group", at);
        this.pos++;
        return inner;
      }
      case ".":
        return { kind: "char", set: { ranges: LINE_TERMINATORS, negated: true } };
      case "[":
        return { kind: "char", set: this.charClass(at) };
      case "\\":
        return { kind: "char", set: this.escape(at) };
      case "*":
      case "+":
      case "?":
        throw invalid(this.src, "nothing to repeat", at);
      case "^":
        throw invalid(this.src, "`^` is only supported at the start", at);
      case "{":
        if (this.countedAt(at) !== undefined) throw invalid(this.src, "nothing to repeat", at);
        return literal(c);
      default:
        return literal(c);
    }
  }

  private escape(at: number): CharSet {
    const e = this.src[this.pos++];
    if (e === undefined) throw invalid(this.src, "trailing backslash", at);
    switch (e) {
      case "d":
        return { ranges: DIGIT, negated: false };
      case "D":
        return { ranges: DIGIT, negated: true };
      case "w":
        return { ranges: WORD, negated: false };
      case "W":
        return { ranges: WORD, negated: true };
      case "s":
        return { ranges: SPACE, negated: false };
      case "S":
        return { ranges: SPACE, negated: true };
    }
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) return { ranges: [[simple, simple]], negated: false };
    if (/[A-Za-z0-9]/.test(e)) throw invalid(this.src, `unsupported escape \\${e}`, at);
    const code = e.charCodeAt(0);
    return { ranges: [[code, code]], negated: false };
  }

  private charClass(at: number): CharSet {
    let negated = false;
    if (this.peek() === "^") {
      negated = true;
      this.pos++;
    }
    if (this.peek() === "]") throw invalid(this.src, "empty character class", at);
    const ranges: Array<readonly [number, number]> = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw invalid(this.src, "unclosed character class", at);
      if (c === "]") {
        this.pos++;
        return { ranges, negated };
      }
      const lo = this.classAtom(at);
      if (this.peek() === "-" && this.src[this.pos + 1] !== "]" && this.src[this.pos + 1] !== undefined) {
        this.pos++;
        const hi = this.classAtom(at);
        if (lo.single === undefined || hi.single === undefined) throw invalid(this.src, "range with a class shorthand", at);
        if (hi.single < lo.single) throw invalid(this.src, "range out of order", at);
        ranges.push([lo.single, hi.single]);
      } else if (lo.single !== undefined) {
        ranges.push([lo.single, lo.single]);
      } else {
        if (lo.set.negated) throw invalid(this.src, "negated shorthand (\\D \\W \\S) inside a class", at);
        ranges.push(...lo.set.ranges);
      }
    }
  }

  private classAtom(at: number): { single: number | undefined; set: CharSet } {
    const c = this.src[this.pos++] as string;
    if (c !== "\\") return { single: c.charCodeAt(0), set: { ranges: [], negated: false } };
    const e = this.peek();
    if (e === "b") throw invalid(this.src, "unsupported escape \\b", at);
    const set = this.escape(at);
    const only = set.ranges[0];
    const single = !set.negated && set.ranges.length === 1 && only !== undefined && only[0] === only[1] ? only[0] : undefined;
    return { single, set };
  }
}

function literal(c: string): Node {
  const code = c.charCodeAt(0);
  return { kind: "char", set: { ranges: [[code, code]], negated: false } };
}

// ---- automaton ----

/** A state either consumes one character (`set`, then goes to `out`) or is an epsilon split to `out` and `alt`. */
interface NfaState {
  set: CharSet | undefined;
  out: number;
  alt: number;
}

interface Nfa {
  readonly states: readonly NfaState[];
  readonly start: number;
  /** The accepting state's index (it has no transitions). */
  readonly accept: number;
}

/** A partly built automaton: `start`, plus dangling exits to patch (state index, which field). */
interface Fragment {
  readonly start: number;
  readonly exits: Array<readonly [number, "out" | "alt"]>;
}

function compile(ast: Node, source: string): Nfa {
  const states: NfaState[] = [];
  const add = (s: NfaState): number => {
    if (states.length >= REGEX_NFA_STATES_MAX) {
      throw invalid(source, `automaton larger than ${REGEX_NFA_STATES_MAX} states`);
    }
    states.push(s);
    return states.length - 1;
  };
  const patch = (exits: Fragment["exits"], to: number): void => {
    for (const [i, field] of exits) (states[i] as NfaState)[field] = to;
  };
  const epsilon = (): Fragment => {
    const s = add({ set: undefined, out: -1, alt: -1 });
    return { start: s, exits: [[s, "out"]] };
  };
  const build = (node: Node): Fragment => {
    switch (node.kind) {
      case "empty":
        return epsilon();
      case "char": {
        const s = add({ set: node.set, out: -1, alt: -1 });
        return { start: s, exits: [[s, "out"]] };
      }
      case "concat": {
        const parts = node.items.map(build);
        for (let i = 0; i + 1 < parts.length; i++) patch((parts[i] as Fragment).exits, (parts[i + 1] as Fragment).start);
        return { start: (parts[0] as Fragment).start, exits: (parts[parts.length - 1] as Fragment).exits };
      }
      case "alt": {
        const parts = node.options.map(build);
        // A chain of splits: s0 -> (opt0 | s1 -> (opt1 | ...)).
        let start = (parts[parts.length - 1] as Fragment).start;
        for (let i = parts.length - 2; i >= 0; i--) start = add({ set: undefined, out: (parts[i] as Fragment).start, alt: start });
        return { start, exits: parts.flatMap((p) => p.exits) };
      }
      case "repeat": {
        const chain: Fragment[] = [];
        for (let i = 0; i < node.min; i++) chain.push(build(node.node));
        if (node.max === Infinity) {
          const body = build(node.node);
          const loop = add({ set: undefined, out: body.start, alt: -1 });
          patch(body.exits, loop);
          chain.push({ start: loop, exits: [[loop, "alt"]] });
        } else {
          // Optional copies nest, so stopping early skips every later copy: x(x(x)?)?.
          const optional: Fragment[] = [];
          for (let i = node.min; i < node.max; i++) optional.push(build(node.node));
          let tail: Fragment | undefined;
          for (let i = optional.length - 1; i >= 0; i--) {
            const body = optional[i] as Fragment;
            const split = add({ set: undefined, out: body.start, alt: -1 });
            const exits: Fragment["exits"] = [[split, "alt"]];
            if (tail === undefined) exits.push(...body.exits);
            else {
              patch(body.exits, tail.start);
              exits.push(...tail.exits);
            }
            tail = { start: split, exits };
          }
          if (tail !== undefined) chain.push(tail);
        }
        if (chain.length === 0) return epsilon();
        for (let i = 0; i + 1 < chain.length; i++) patch((chain[i] as Fragment).exits, (chain[i + 1] as Fragment).start);
        return { start: (chain[0] as Fragment).start, exits: (chain[chain.length - 1] as Fragment).exits };
      }
    }
  };
  const whole = build(ast);
  const accept = add({ set: undefined, out: -1, alt: -1 });
  patch(whole.exits, accept);
  return { states, start: whole.start, accept };
}

/** Thompson simulation: each state enters the live set at most once per character. */
function simulate(nfa: Nfa, name: string): boolean {
  const { states } = nfa;
  const mark = new Int32Array(states.length).fill(-1);
  let current: number[] = [];
  let next: number[] = [];
  const stack: number[] = [];
  const addClosure = (list: number[], from: number, generation: number): void => {
    stack.push(from);
    while (stack.length > 0) {
      const s = stack.pop() as number;
      if (s < 0 || mark[s] === generation) continue;
      mark[s] = generation;
      const state = states[s] as NfaState;
      if (state.set !== undefined || s === nfa.accept) list.push(s);
      else {
        stack.push(state.alt);
        stack.push(state.out);
      }
    }
  };
  addClosure(current, nfa.start, 0);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    next.length = 0;
    for (const s of current) {
      const state = states[s] as NfaState;
      if (state.set !== undefined && inSet(state.set, c)) addClosure(next, state.out, i + 1);
    }
    if (next.length === 0) return false;
    [current, next] = [next, current];
  }
  return current.includes(nfa.accept);
}
