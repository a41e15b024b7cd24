/**
 * Deliberately broken Raft cores. The simulator must catch each of them within the CI seed
 * budget; mutants.test.ts keeps that proven, so a weakened simulator (a dropped invariant,
 * a fault that no longer fires) fails CI instead of silently passing everything.
 *
 * - commit-prior-term: the bug of the Raft paper's Figure 8. The leader commits entries of
 *   earlier terms by counting replicas, and (to expose it) appends no leader no-op, so its
 *   first commits are of earlier-term entries that a later leader may overwrite.
 * - vote-ignores-log: voters grant votes without the "candidate's log is at least as up to
 *   date" check (section 5.4.1): a leader may lack committed entries.
 * - early-commit-on-append: followers are told to commit up to the leader's commit even past
 *   what they hold from this leader (Figure 2's min(leaderCommit, index of last new entry)
 *   dropped): a follower may apply an entry of its own divergent tail.
 */
import type { AppendMessage, Message } from "../core/messages.js";
import { Raft, type RaftOptions } from "../core/raft.js";

export class CommitPriorTermMutant extends Raft {
  protected override mayCommitByQuorum(_offset: number): boolean {
    return true;
  }

  protected override appendLeaderNoop(): void {
    // The no-op would commit earlier entries safely in the new term; the mutant skips it.
  }
}

export class VoteIgnoresLogMutant extends Raft {
  protected override candidateLogIsUpToDate(_lastOffset: number, _lastTerm: number): boolean {
    return true;
  }
}

export class EarlyCommitMutant extends Raft {
  override step(m: Message): void {
    super.step(m);
    if (m.type === "append" && m.term === this.term && this.role === "follower") {
      const append = m as AppendMessage;
      if (append.commit > this.log.committed) {
        const target = this.log.boundaryAtOrBefore(append.commit);
        if (target > this.log.committed) this.log.commitTo(target);
      }
    }
  }
}

export type MutantName = "commit-prior-term" | "vote-ignores-log" | "early-commit-on-append";

export const mutants: Record<MutantName, (options: RaftOptions) => Raft> = {
  "commit-prior-term": (options) => new CommitPriorTermMutant(options),
  "vote-ignores-log": (options) => new VoteIgnoresLogMutant(options),
  "early-commit-on-append": (options) => new EarlyCommitMutant(options),
};
