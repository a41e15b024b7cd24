/**
 * Group commit: many appends, few fdatasyncs. Each completed write gets a sequence number;
 * `waitDurable(seq)` resolves once a sync round that started after write `seq` completed has
 * finished. One round runs at a time; appends that finish writing while a round is in flight
 * wait for the next round, which covers all of them with one pass over the dirty files.
 *
 * Before picking its target a round awaits `beforeRound` (the log uses it to let a write that is
 * landing finish, so the round covers it as well).
 *
 * Invariants: a waiter resolves only after a sync that began after its write completed (so the
 * sync covers its bytes); rounds never overlap; after a failed sync every waiter and every
 * later call is rejected with that failure (Linux may drop dirty pages after a failed fsync, so
 * retrying could report bytes durable that are not — the log must go offline and recover).
 */
import { assert } from "@sluice/protocol";

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit {
  private writtenSeq = 0;
  private durableSeq = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private failure: unknown;
  private failed = false;
  /** Sync rounds completed. */
  rounds = 0;

  /** `sync(target)` must make durable every write with sequence <= target. */
  constructor(
    private readonly sync: (target: number) => Promise<void>,
    /** Awaited before each round picks its target (lets a write in flight land in the round). */
    private readonly beforeRound: () => Promise<void> = () => Promise.resolve(),
  ) {}

  get written(): number {
    return this.writtenSeq;
  }

  get durable(): number {
    return this.durableSeq;
  }

  /** True when some completed write is not yet covered by a sync. */
  get dirty(): boolean {
    return this.writtenSeq > this.durableSeq;
  }

  /** Records that write `seq` completed (sequences only grow). */
  noteWritten(seq: number): void {
    assert(seq > this.writtenSeq, `write sequence ${seq} after ${this.writtenSeq}`);
    this.writtenSeq = seq;
  }

  /** Resolves when write `seq` is durable. */
  waitDurable(seq: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failure);
    assert(seq <= this.writtenSeq, `waiting for write ${seq} that has not happened (written ${this.writtenSeq})`);
    if (seq <= this.durableSeq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  /** Resolves when every write so far is durable. */
  flush(): Promise<void> {
    return this.waitDurable(this.writtenSeq);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.length > 0 && !this.failed) {
        await this.beforeRound();
        const target = this.writtenSeq;
        try {
          await this.sync(target);
        } catch (error) {
          this.fail(error);
          return;
        }
        this.rounds++;
        this.durableSeq = Math.max(this.durableSeq, target);
        const ready = this.waiters.filter((w) => w.seq <= target);
        this.waiters = this.waiters.filter((w) => w.seq > target);
        for (const waiter of ready) waiter.resolve();
      }
    } finally {
      this.running = false;
    }
  }

  /** Rejects every waiter and every later wait with `error`. */
  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = error;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}
