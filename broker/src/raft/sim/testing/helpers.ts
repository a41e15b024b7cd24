/**
 * Small builders for Raft unit tests: a lone core over MemoryStorage whose Readies are
 * handled synchronously (`drain`), crafted messages, and a bootstrapped InteractionEnv.
 * Test support only (excluded from the build).
 */
import { asOffset, type Offset } from "@sluice/protocol";
import type { AppendMessage, Message } from "../../core/messages.js";
import { Raft, type Ready } from "../../core/raft.js";
import { SeededRandom } from "../../core/random.js";
import { MemoryStorage } from "../../core/storage.js";
import { asNodeId, asTerm, type DataEntry, type Entry, type NodeId, type Term } from "../../core/types.js";
import { InteractionEnv, type NodeOptions } from "../interaction.js";

export const n = (id: number): NodeId => asNodeId(id);
export const t = (term: number): Term => asTerm(term);
export const o = (offset: number): Offset => asOffset(offset);
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export interface Lone {
  readonly raft: Raft;
  readonly storage: MemoryStorage;
}

/** One core bootstrapped with `voters` (and `learners`), default options for tests. */
export function lone(id: number, voters: readonly number[], options: NodeOptions = {}, learners: readonly number[] = []): Lone {
  const storage = new MemoryStorage({ voters: voters.map(n), learners: learners.map(n) });
  const raft = new Raft({ electionTimeoutTicks: 10, heartbeatTicks: 1, ...options, id: n(id), storage, random: new SeededRandom(id) });
  return { raft, storage };
}

/** Handles every pending Ready synchronously (persist, apply, advance); returns the messages sent. */
export function drain(node: Lone, applied: Entry[] = []): Message[] {
  const out: Message[] = [];
  while (node.raft.hasReady()) {
    const rd: Ready = node.raft.ready();
    if (rd.snapshot !== null) node.storage.applySnapshot(rd.snapshot);
    node.storage.append(rd.entries);
    if (rd.hardState !== null) node.storage.setHardState(rd.hardState);
    out.push(...rd.messages);
    applied.push(...rd.committedEntries);
    node.raft.advance();
  }
  return out;
}

export function dataEntry(term: number, base: number, last = base, text = `e${base}`): DataEntry {
  return { kind: "data", term: t(term), baseOffset: o(base), lastOffset: o(last), sizeBytes: 10, data: bytes(text) };
}

export function append(from: number, to: number, term: number, prevOffset: number, prevTerm: number, entries: Entry[], commit = -1): AppendMessage {
  return { type: "append", from: n(from), to: n(to), term: t(term), prevOffset: o(prevOffset), prevTerm: t(prevTerm), entries, commit: o(commit) };
}

/** A bootstrapped env of voters 1..count. */
export function cluster(count: number, options: NodeOptions = {}): InteractionEnv {
  const env = new InteractionEnv(options);
  const ids = Array.from({ length: count }, (_, i) => n(i + 1));
  env.addNodes(ids, { voters: ids, learners: [] });
  return env;
}

/** Makes `id` leader of a fresh env (campaign + stabilize). */
export function elect(env: InteractionEnv, id: number): void {
  env.raft(n(id)).campaign();
  env.stabilize();
  if (env.raft(n(id)).role !== "leader") throw new Error(`node ${id} did not become leader`);
}

/** The message variant(s) whose `type` can be T (some variants share a shape, e.g. vote / pre-vote). */
export type MessageOf<T extends Message["type"]> = Message extends infer M ? (M extends { type: infer K } ? (T extends K ? M : never) : never) : never;

export function ofType<T extends Message["type"]>(messages: readonly Message[], type: T): Array<MessageOf<T>> {
  return messages.filter((m): m is MessageOf<T> => m.type === type);
}
