/**
 * Membership changes, one server at a time (Ongaro's dissertation, section 4.1), with the
 * known safety fix. Rules, all enforced by the leader in raft.ts:
 *
 * 1. A change adds or removes at most one voter, so any majority of the old voters and any
 *    majority of the new voters intersect.
 * 2. A configuration takes effect on each replica as soon as its entry is in the replica's
 *    log (committed or not); truncating the entry reverts to the previous configuration.
 * 3. At most one change is uncommitted: the leader proposes a change only when the latest
 *    configuration entry in its log is committed.
 * 4. The fix (raft-dev, 2015): a leader proposes a change only after it has committed an
 *    entry of its own term. Without it, two leaders of different terms can each append a
 *    one-server change to the same base configuration, producing disjoint majorities.
 *
 * Learners receive the log but neither vote nor count toward commit; `promote-learner` is a
 * one-voter change like any other.
 *
 * Invariants: node ids in a configuration are unique and sorted; a configuration produced
 * by applyConfigChange has at least one voter.
 */
import { InvalidConfigChangeError } from "./errors.js";
import type { ConfigChange, Configuration, NodeId } from "./types.js";

function sorted(ids: readonly NodeId[]): NodeId[] {
  return ids.slice().sort((a, b) => a - b);
}

function without(ids: readonly NodeId[], id: NodeId): NodeId[] {
  return ids.filter((x) => x !== id);
}

/** The configuration after `change`, or InvalidConfigChangeError when the change does not apply. */
export function applyConfigChange(config: Configuration, change: ConfigChange): Configuration {
  const { node } = change;
  if (!Number.isSafeInteger(node) || node < 0) throw new InvalidConfigChangeError(`node id must be an integer >= 0, got ${node}`);
  const voter = config.voters.includes(node);
  const learner = config.learners.includes(node);
  switch (change.type) {
    case "add-learner":
      if (voter || learner) throw new InvalidConfigChangeError(`node ${node} is already a member`);
      return { voters: config.voters, learners: sorted([...config.learners, node]) };
    case "add-voter":
      if (voter || learner) throw new InvalidConfigChangeError(`node ${node} is already a member (promote learners instead)`);
      return { voters: sorted([...config.voters, node]), learners: config.learners };
    case "promote-learner":
      if (!learner) throw new InvalidConfigChangeError(`node ${node} is not a learner`);
      return { voters: sorted([...config.voters, node]), learners: without(config.learners, node) };
    case "demote-voter":
      if (!voter) throw new InvalidConfigChangeError(`node ${node} is not a voter`);
      if (config.voters.length === 1) throw new InvalidConfigChangeError(`node ${node} is the last voter`);
      return { voters: without(config.voters, node), learners: sorted([...config.learners, node]) };
    case "remove-node":
      if (!voter && !learner) throw new InvalidConfigChangeError(`node ${node} is not a member`);
      if (voter && config.voters.length === 1) throw new InvalidConfigChangeError(`node ${node} is the last voter`);
      return { voters: without(config.voters, node), learners: without(config.learners, node) };
  }
}

export function describeConfiguration(config: Configuration): string {
  const learners = config.learners.length === 0 ? "" : ` learners=(${config.learners.join(",")})`;
  return `voters=(${config.voters.join(",")})${learners}`;
}

export function describeConfigChange(change: ConfigChange): string {
  return `${change.type} ${change.node}`;
}

interface ConfigAt {
  readonly offset: number;
  readonly config: Configuration;
}

/**
 * The configurations in a replica's log, newest last: the one in force is the newest. Kept
 * so that truncating a configuration entry restores the previous configuration without
 * rereading the log. Entries at or before the commit point are folded into one base item.
 */
export class ConfigHistory {
  private items: ConfigAt[];

  constructor(offset: number, config: Configuration) {
    this.items = [{ offset, config }];
  }

  current(): Configuration {
    return (this.items[this.items.length - 1] as ConfigAt).config;
  }

  /** The configuration before the newest one (null when only one is known). */
  previous(): Configuration | null {
    const item = this.items[this.items.length - 2];
    return item === undefined ? null : item.config;
  }

  /** Offset of the newest configuration entry (or of the snapshot that carries the base configuration). */
  latestOffset(): number {
    return (this.items[this.items.length - 1] as ConfigAt).offset;
  }

  push(offset: number, config: Configuration): void {
    this.items.push({ offset, config });
  }

  /** The log was truncated at `offset`: forget configurations appended at or after it. True when current() changed. */
  truncateFrom(offset: number): boolean {
    let changed = false;
    while (this.items.length > 1 && (this.items[this.items.length - 1] as ConfigAt).offset >= offset) {
      this.items.pop();
      changed = true;
    }
    return changed;
  }

  reset(offset: number, config: Configuration): void {
    this.items = [{ offset, config }];
  }

  /** Drops configurations superseded by one at or before `committed` (they can never come back). */
  compactTo(committed: number): void {
    let keepFrom = 0;
    for (let i = 1; i < this.items.length; i++) if ((this.items[i] as ConfigAt).offset <= committed) keepFrom = i;
    if (keepFrom > 0) this.items = this.items.slice(keepFrom);
  }
}
