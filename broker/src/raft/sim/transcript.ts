/**
 * Scenario transcripts in the style of etcd's raft `testdata/*.txt` (datadriven): a file is
 * a sequence of blocks
 *
 *     # comments
 *     command arg arg key=value
 *     ----
 *     expected output lines
 *     <blank line>
 *
 * run against one InteractionEnv. `runTranscript` executes every command and returns the
 * file as it should read (same commands, actual output); a test compares it with the file
 * and `UPDATE_TRANSCRIPTS=1` rewrites the file instead.
 *
 * Commands:
 *   add-nodes 1 2 3 [voters=1,2,3] [learners=4] [empty] [pre-vote=false] [check-quorum=false]
 *                                                         bootstrap nodes (empty: waiting to join)
 *   campaign 1 | tick 1 [n] | tick-election 1 | tick-heartbeat 1
 *   propose 1 <text> [records=n] | propose-conf 1 <add-learner|promote-learner|add-voter|demote-voter|remove-node> <node>
 *   transfer-leadership <from> <to> | read-index 1 ctx=<n> | compact 1 <offset>
 *   process-ready 1 [2 ...] | deliver-msgs [from=1] [to=2] [drop] | stabilize [1 2 ...]
 *   partition 1 / 2 3 | block 1 2 (one way) | isolate 1 | heal | crash 1 | restart 1
 *   status [1 2 ...] | log 1 | applied 1 | read-states 1
 *
 * An operation that throws prints `error: <name>: <message>` (errors are part of the
 * expected behaviour, e.g. proposing on a follower).
 */
import { asOffset } from "@sluice/protocol";
import { SluiceError } from "@sluice/protocol";
import { describeEntries } from "../core/describe.js";
import { asNodeId, type ConfigChange, type NodeId } from "../core/types.js";
import { InteractionEnv, type NodeOptions } from "./interaction.js";

export interface TranscriptBlock {
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: readonly string[];
}

export function parseTranscript(text: string): TranscriptBlock[] {
  const lines = text.split("\n");
  const blocks: TranscriptBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && ((lines[i] as string).startsWith("#") || (lines[i] as string).trim() === "")) {
      if ((lines[i] as string).startsWith("#")) comments.push(lines[i] as string);
      i++;
    }
    if (i >= lines.length) break;
    const command = (lines[i] as string).trim();
    i++;
    if (lines[i] !== "----") throw new Error(`transcript line ${i + 1}: expected ---- after "${command}"`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && (lines[i] as string) !== "") {
      expected.push(lines[i] as string);
      i++;
    }
    blocks.push({ comments, command, expected });
  }
  return blocks;
}

export function formatTranscript(blocks: readonly TranscriptBlock[]): string {
  const parts: string[] = [];
  for (const block of blocks) {
    const lines = [...block.comments, block.command, "----", ...(block.expected.length === 0 ? ["ok"] : block.expected)];
    parts.push(lines.join("\n"));
  }
  return `${parts.join("\n\n")}\n`;
}

interface ParsedArgs {
  readonly positional: string[];
  readonly named: Map<string, string>;
  readonly flags: Set<string>;
}

function parseArgs(words: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const named = new Map<string, string>();
  const flags = new Set<string>();
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq > 0) named.set(word.slice(0, eq), word.slice(eq + 1));
    else if (/^[a-z-]+$/.test(word) && ["drop", "empty"].includes(word)) flags.add(word);
    else positional.push(word);
  }
  return { positional, named, flags };
}

function nodeArg(value: string | undefined): NodeId {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n)) throw new Error(`expected a node id, got ${value}`);
  return asNodeId(n);
}

function idList(value: string | undefined): NodeId[] {
  if (value === undefined || value === "") return [];
  return value.split(",").map((v) => nodeArg(v));
}

function execute(env: InteractionEnv, command: string): string[] {
  const [name, ...rest] = command.split(/\s+/);
  const args = parseArgs(rest);
  const ids = (): NodeId[] => args.positional.map((p) => nodeArg(p));
  switch (name) {
    case "add-nodes": {
      const nodes = ids();
      const overrides: NodeOptions = {
        ...(args.named.has("pre-vote") ? { preVote: args.named.get("pre-vote") === "true" } : {}),
        ...(args.named.has("check-quorum") ? { checkQuorum: args.named.get("check-quorum") === "true" } : {}),
      };
      if (args.flags.has("empty")) return env.addNodes(nodes, null, overrides);
      const voters = args.named.has("voters") ? idList(args.named.get("voters")) : nodes;
      return env.addNodes(nodes, { voters, learners: idList(args.named.get("learners")) }, overrides);
    }
    case "campaign":
      env.raft(nodeArg(args.positional[0])).campaign();
      return [];
    case "tick":
      return env.tick(nodeArg(args.positional[0]), Number(args.positional[1] ?? "1"));
    case "tick-election":
      return env.tickElection(nodeArg(args.positional[0]));
    case "tick-heartbeat":
      return env.tick(nodeArg(args.positional[0]), 1);
    case "propose":
      return env.propose(nodeArg(args.positional[0]), args.positional[1] ?? "", Number(args.named.get("records") ?? "1"));
    case "propose-conf": {
      const type = args.positional[1] as ConfigChange["type"];
      return env.proposeConfigChange(nodeArg(args.positional[0]), { type, node: nodeArg(args.positional[2]) } as ConfigChange);
    }
    case "transfer-leadership":
      return env.transferLeadership(nodeArg(args.positional[0]), nodeArg(args.positional[1]));
    case "read-index":
      return env.readIndex(nodeArg(args.positional[0]), Number(args.named.get("ctx") ?? "1"));
    case "compact":
      return env.compact(nodeArg(args.positional[0]), asOffset(Number(args.positional[1])));
    case "process-ready":
      return ids().flatMap((id) => env.processReady(id));
    case "deliver-msgs": {
      const from = args.named.get("from");
      const to = args.named.get("to");
      return env.deliver({
        ...(from === undefined ? {} : { from: nodeArg(from) }),
        ...(to === undefined ? {} : { to: nodeArg(to) }),
        drop: args.flags.has("drop"),
      });
    }
    case "stabilize":
      return env.stabilize(args.positional.length > 0 ? ids() : undefined);
    case "partition": {
      const groups: NodeId[][] = [[]];
      for (const word of args.positional) {
        if (word === "/") groups.push([]);
        else (groups[groups.length - 1] as NodeId[]).push(nodeArg(word));
      }
      return env.partition(groups);
    }
    case "isolate": {
      const id = nodeArg(args.positional[0]);
      return env.partition([[id], [...env.nodes.keys()].filter((n) => n !== id)]);
    }
    case "block":
      return env.blockOneWay(nodeArg(args.positional[0]), nodeArg(args.positional[1]));
    case "heal":
      return env.heal();
    case "crash":
      return env.crash(nodeArg(args.positional[0]));
    case "restart":
      return env.restart(nodeArg(args.positional[0]));
    case "status":
      return env.status(args.positional.length > 0 ? ids() : undefined);
    case "log":
      return ids().flatMap((id) => env.describeLog(id));
    case "applied":
      return ids().map((id) => `${id}: ${describeEntries(env.node(id).applied)}`);
    case "read-states":
      return ids().map((id) => `${id}: ${env.node(id).readStates.map((r) => `ctx=${r.ctx} index=${r.index}`).join(", ")}`);
    default:
      throw new Error(`unknown transcript command "${name}"`);
  }
}

/** Runs every block against a fresh env; returns the blocks with actual output. */
export function runTranscript(blocks: readonly TranscriptBlock[], options: NodeOptions = {}): TranscriptBlock[] {
  const env = new InteractionEnv(options);
  return blocks.map((block) => {
    let output: string[];
    try {
      output = execute(env, block.command);
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
      output = [`error: ${err.name}: ${err.message}`];
    }
    return { ...block, expected: output.length === 0 ? ["ok"] : output };
  });
}
