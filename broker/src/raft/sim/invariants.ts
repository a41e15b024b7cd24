/**
 * The safety properties the simulator checks continuously, each incremental (cheap per
 * event) so that thousands of seeds run in CI:
 *
 * - election safety: at most one leader per term;
 * - log matching: two logs holding an entry with the same (term, lastOffset) hold the same
 *   entry and agree on its predecessor (checked on every persisted entry against a global
 *   registry; by induction the logs are identical up to it);
 * - leader completeness: a leader of term T holds every entry committed by a leader of a term
 *   < T (checked when a leader is elected and whenever a commit is observed);
 * - state-machine safety: no two replicas apply different entries at one offset (every
 *   offset an applied entry covers is registered; the state hash after each entry too, which
 *   also checks installed snapshots);
 * - commit monotonicity: a replica's commit offset never moves backwards, and an offset once
 *   committed with a term is never committed with another;
 * - no acknowledged entry is lost: acknowledged entries stay in every later leader's log, and
 *   at the end of a run that healed, the leader still holds every one of them;
 * - read linearizability: a read-index point is >= every offset acknowledged before the read
 *   was requested.
 * Liveness (a leader commits new proposals within a bound after faults heal) is checked by
 * the simulation loop, which knows when faults heal.
 *
 * Invariants of this module: the first violation is kept (later ones are consequences).
 */
import type { Entry } from "../core/types.js";

export type InvariantName =
  | "election-safety"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "commit-monotonic"
  | "acknowledged-entry-lost"
  | "read-linearizability"
  | "liveness"
  | "core-assertion";

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
  readonly timeMs: number;
  readonly step: number;
}

/** Reads the proposal id the workload stores in the first 4 bytes of a data entry. */
export function payloadId(data: Uint8Array): number {
  return ((data[0] ?? 0) | ((data[1] ?? 0) << 8) | ((data[2] ?? 0) << 16) | ((data[3] ?? 0) << 24)) >>> 0;
}

/** A number identifying an entry's content: the proposal id for data, (kind, term) for control entries. */
export function entryIdent(entry: Entry): number {
  switch (entry.kind) {
    case "data":
      return payloadId(entry.data);
    case "noop":
      return -(entry.term * 4 + 1);
    case "config":
      return -(entry.term * 4 + 2) - 1_000_000_000 * (entry.change.node + 1);
  }
}

function mix(h: number, v: number): number {
  const x = Math.imul(h ^ v, 0x9e3779b1);
  return (x ^ (x >>> 15)) >>> 0;
}

/** State-machine state: a 53-bit chained hash of every applied entry. */
export interface MachineState {
  lane1: number;
  lane2: number;
}

export const initialMachineState = (): MachineState => ({ lane1: 0x12345678, lane2: 0x9abcdef0 });

export function applyToMachine(state: MachineState, entry: Entry): void {
  const ident = entryIdent(entry) | 0;
  state.lane1 = mix(mix(mix(state.lane1, entry.term), entry.lastOffset), ident);
  state.lane2 = mix(mix(mix(state.lane2 ^ 0x5bd1e995, ident), entry.baseOffset), entry.term);
}

export function machineDigest(state: MachineState): number {
  return state.lane1 * 2097152 + (state.lane2 >>> 11);
}

export function encodeMachine(state: MachineState): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, state.lane1, true);
  view.setUint32(4, state.lane2, true);
  return out;
}

export function decodeMachine(data: Uint8Array): MachineState {
  if (data.byteLength < 8) return initialMachineState();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { lane1: view.getUint32(0, true), lane2: view.getUint32(4, true) };
}

interface RegisteredEntry {
  readonly base: number;
  readonly ident: number;
  readonly prevTerm: number;
}

export interface AckedEntry {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly term: number;
  readonly id: number;
  /** Term of the leader that acknowledged it. */
  readonly ackTerm: number;
}

/** Something that can say which term its log holds at an offset boundary (a Raft core). */
export interface LogView {
  termAtBoundary(offset: number): number;
  readonly snapshotOffset: number;
}

export class InvariantChecker {
  violation: Violation | null = null;
  now = 0;
  step = 0;

  private readonly leaderOfTerm = new Map<number, number>();
  private readonly entries = new Map<number, RegisteredEntry>();
  private readonly committedTermAt = new Map<number, number>();
  /** observer term -> highest (offset, entry term) committed as seen by a replica in that term. */
  private readonly highestCommitByObserverTerm = new Map<number, { offset: number; term: number }>();
  private readonly appliedIdentAt = new Map<number, number>();
  private readonly digestAt = new Map<number, number>();
  readonly acked: AckedEntry[] = [];
  private maxAckedOffset = -1;

  fail(invariant: InvariantName, detail: string): void {
    if (this.violation === null) this.violation = { invariant, detail, timeMs: this.now, step: this.step };
  }

  get ok(): boolean {
    return this.violation === null;
  }

  /** Highest offset acknowledged to a client so far (-1: none). */
  get highestAcknowledged(): number {
    return this.maxAckedOffset;
  }

  // ---------------------------------------------------------------- election safety + completeness

  onLeaderElected(node: number, term: number, log: LogView): void {
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== node) {
      this.fail("election-safety", `nodes ${other} and ${node} both lead term ${term}`);
      return;
    }
    this.leaderOfTerm.set(term, node);
    // Every commit observed in an earlier term must be in the new leader's log.
    let best: { offset: number; term: number } | null = null;
    for (const [observerTerm, commit] of this.highestCommitByObserverTerm) {
      if (observerTerm < term && (best === null || commit.offset > best.offset)) best = commit;
    }
    if (best !== null && !this.holds(log, best.offset, best.term)) {
      this.fail("leader-completeness", `leader ${node} of term ${term} lacks committed offset ${best.offset}@t${best.term}`);
      return;
    }
    for (const ack of this.acked) {
      if (ack.ackTerm < term && !this.holds(log, ack.lastOffset, ack.term)) {
        this.fail("acknowledged-entry-lost", `leader ${node} of term ${term} lacks acknowledged entry ${ack.baseOffset}..${ack.lastOffset}@t${ack.term} (id ${ack.id})`);
        return;
      }
    }
  }

  private holds(log: LogView, offset: number, term: number): boolean {
    if (offset < log.snapshotOffset) return true; // compacted into a snapshot: the digest check covers it
    return log.termAtBoundary(offset) === term;
  }

  // ---------------------------------------------------------------- log matching

  /** `entries` were appended to `node`'s log right after an entry (or snapshot) of term `prevTerm`. */
  onPersisted(node: number, entries: readonly Entry[], prevTermOfFirst: number): void {
    let prevTerm = prevTermOfFirst;
    for (const entry of entries) {
      const key = entry.term * 4294967296 + entry.lastOffset;
      const ident = entryIdent(entry);
      const known = this.entries.get(key);
      if (known === undefined) {
        this.entries.set(key, { base: entry.baseOffset, ident, prevTerm });
      } else if (known.base !== entry.baseOffset || known.ident !== ident || known.prevTerm !== prevTerm) {
        this.fail(
          "log-matching",
          `node ${node} holds ${entry.baseOffset}..${entry.lastOffset}@t${entry.term} (ident ${ident}, prev term ${prevTerm}) ` +
            `but another log holds ${known.base}..${entry.lastOffset}@t${entry.term} (ident ${known.ident}, prev term ${known.prevTerm})`,
        );
        return;
      }
      prevTerm = entry.term;
    }
  }

  // ---------------------------------------------------------------- commits

  /** `node`, in term `observerTerm`, moved its commit from `previous` to `offset` (entry term `term`). */
  onCommit(node: number, observerTerm: number, previous: number, offset: number, term: number, leaders: readonly { node: number; term: number; log: LogView }[]): void {
    if (offset < previous) {
      this.fail("commit-monotonic", `node ${node} commit moved back from ${previous} to ${offset}`);
      return;
    }
    const known = this.committedTermAt.get(offset);
    if (known !== undefined && known !== term) {
      this.fail("state-machine-safety", `offset ${offset} committed with term ${known} and later with term ${term} (node ${node})`);
      return;
    }
    this.committedTermAt.set(offset, term);
    const best = this.highestCommitByObserverTerm.get(observerTerm);
    if (best === undefined || best.offset < offset) this.highestCommitByObserverTerm.set(observerTerm, { offset, term });
    for (const leader of leaders) {
      if (leader.term > observerTerm && !this.holds(leader.log, offset, term)) {
        this.fail("leader-completeness", `leader ${leader.node} of term ${leader.term} lacks offset ${offset}@t${term} committed in term <= ${observerTerm}`);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- state machine

  onApplied(node: number, entry: Entry, state: MachineState): void {
    const ident = entryIdent(entry);
    for (let offset = entry.baseOffset as number; offset <= entry.lastOffset; offset++) {
      const known = this.appliedIdentAt.get(offset);
      if (known === undefined) this.appliedIdentAt.set(offset, ident);
      else if (known !== ident) {
        this.fail("state-machine-safety", `node ${node} applied ident ${ident} at offset ${offset} where another replica applied ident ${known}`);
        return;
      }
    }
    this.checkDigest(node, entry.lastOffset, machineDigest(state), "applying");
  }

  onSnapshotInstalled(node: number, offset: number, state: MachineState): void {
    this.checkDigest(node, offset, machineDigest(state), "installing a snapshot");
  }

  private checkDigest(node: number, offset: number, digest: number, what: string): void {
    const known = this.digestAt.get(offset);
    if (known === undefined) this.digestAt.set(offset, digest);
    else if (known !== digest) this.fail("state-machine-safety", `node ${node} state after ${what} at ${offset} differs from another replica's`);
  }

  // ---------------------------------------------------------------- acknowledgements and reads

  onAcknowledged(ack: AckedEntry): void {
    this.acked.push(ack);
    if (ack.lastOffset > this.maxAckedOffset) this.maxAckedOffset = ack.lastOffset;
  }

  /** A read requested when `highestAcknowledgedAtRequest` was acknowledged got read point `index`. */
  onReadState(node: number, ctx: number, index: number, highestAcknowledgedAtRequest: number): void {
    if (index < highestAcknowledgedAtRequest) {
      this.fail("read-linearizability", `node ${node} read ${ctx} got index ${index} < acknowledged offset ${highestAcknowledgedAtRequest}`);
    }
  }

  /** End of a healed run: the leader must still hold every acknowledged entry. */
  checkAllAcknowledgedHeldBy(node: number, log: LogView, commit: number): void {
    for (const ack of this.acked) {
      if (ack.lastOffset > commit) {
        this.fail("acknowledged-entry-lost", `leader ${node} commit ${commit} is below acknowledged offset ${ack.lastOffset}`);
        return;
      }
      if (!this.holds(log, ack.lastOffset, ack.term)) {
        this.fail("acknowledged-entry-lost", `leader ${node} lacks acknowledged entry ${ack.baseOffset}..${ack.lastOffset}@t${ack.term} (id ${ack.id})`);
        return;
      }
    }
  }
}
