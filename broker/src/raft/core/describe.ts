/**
 * One-line, stable text renderings of entries, messages and Ready contents: used by the
 * transcript tests (their expected output is this text) and by the simulator's failure
 * reports. Changing a format here means regenerating transcripts (UPDATE_TRANSCRIPTS=1).
 */
import { describeConfigChange, describeConfiguration } from "./configuration.js";
import type { Message } from "./messages.js";
import type { Ready } from "./raft.js";
import type { Entry, HardState, Snapshot } from "./types.js";

const printable = /^[\x20-\x7e]*$/;
const utf8 = new TextDecoder();

function describeData(data: Uint8Array): string {
  if (data.byteLength <= 32) {
    const text = utf8.decode(data);
    if (printable.test(text)) return JSON.stringify(text);
  }
  return `(${data.byteLength}B)`;
}

function describeRange(entry: Entry): string {
  return entry.baseOffset === entry.lastOffset ? `${entry.baseOffset}` : `${entry.baseOffset}..${entry.lastOffset}`;
}

export function describeEntry(entry: Entry): string {
  switch (entry.kind) {
    case "data":
      return `t${entry.term}@${describeRange(entry)} ${describeData(entry.data)}`;
    case "noop":
      return `t${entry.term}@${describeRange(entry)} noop`;
    case "config":
      return `t${entry.term}@${describeRange(entry)} config ${describeConfigChange(entry.change)} => ${describeConfiguration(entry.config)}`;
  }
}

export function describeEntries(entries: readonly Entry[]): string {
  return `[${entries.map(describeEntry).join(", ")}]`;
}

export function describeSnapshot(snapshot: Snapshot): string {
  const { offset, term, config } = snapshot.meta;
  return `snapshot offset=${offset} term=${term} ${describeConfiguration(config)} data=${describeData(snapshot.data)}`;
}

export function describeHardState(hs: HardState): string {
  return `term=${hs.term} vote=${hs.vote < 0 ? "-" : hs.vote} commit=${hs.commit}`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case "append":
      return `${head} prev=${m.prevOffset}@t${m.prevTerm} commit=${m.commit}${m.entries.length > 0 ? ` entries=${describeEntries(m.entries)}` : ""}`;
    case "append-resp":
      return m.reject
        ? `${head} reject prev=${m.matchOffset} hint=${m.rejectHint}@t${m.hintTerm}`
        : `${head} match=${m.matchOffset}`;
    case "vote":
    case "pre-vote":
      return `${head} last=${m.lastOffset}@t${m.lastTerm}${m.transfer ? " transfer" : ""}`;
    case "vote-resp":
    case "pre-vote-resp":
      return `${head}${m.reject ? " reject" : " grant"}`;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.readSeq > 0 ? ` read=${m.readSeq}` : ""}`;
    case "heartbeat-resp":
      return `${head}${m.readSeq > 0 ? ` read=${m.readSeq}` : ""}`;
    case "snapshot":
      return `${head} ${describeSnapshot(m.snapshot)}`;
    case "timeout-now":
      return head;
    case "read-index":
      return `${head} ctx=${m.ctx}`;
    case "read-index-resp":
      return `${head} ctx=${m.ctx} index=${m.index}`;
  }
}

/** The Ready as indented lines (empty sections omitted). */
export function describeReady(rd: Ready): string[] {
  const lines: string[] = [];
  if (rd.softState !== null) lines.push(`  lead=${rd.softState.lead < 0 ? "-" : rd.softState.lead} role=${rd.softState.role}`);
  if (rd.hardState !== null) lines.push(`  hard state: ${describeHardState(rd.hardState)}${rd.mustSync ? " (sync)" : ""}`);
  if (rd.snapshot !== null) lines.push(`  install ${describeSnapshot(rd.snapshot)}`);
  if (rd.entries.length > 0) lines.push(`  persist ${describeEntries(rd.entries)}`);
  if (rd.committedEntries.length > 0) lines.push(`  apply ${describeEntries(rd.committedEntries)}`);
  for (const rs of rd.readStates) lines.push(`  read ctx=${rs.ctx} index=${rs.index}`);
  for (const m of rd.messages) lines.push(`  send ${describeMessage(m)}`);
  return lines;
}
