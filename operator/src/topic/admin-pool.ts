/**
 * One Admin client (@sluice/client) per broker address, shared by every Topic of a Cluster and
 * closed after ADMIN_IDLE_MS unused (its Cluster may be gone).
 *
 * The clients never retry on their own (attemptsMax 1) and time out after ADMIN_TIMEOUT_MS: the
 * work queue owns retries, with per-Topic backoff, so a dead cluster never holds a worker long.
 */
import { Admin } from "@sluice/client";
import { ADMIN_IDLE_MS, ADMIN_TIMEOUT_MS } from "../limits.js";

interface Entry {
  readonly admin: Admin;
  lastUsedMs: number;
}

export class AdminPool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly nowMs: () => number = () => Date.now()) {}

  get(bootstrap: string): Admin {
    const now = this.nowMs();
    this.closeIdle(now);
    let entry = this.entries.get(bootstrap);
    if (entry === undefined) {
      entry = {
        admin: new Admin({ bootstrap, adminTimeoutMs: ADMIN_TIMEOUT_MS, requestTimeoutMs: ADMIN_TIMEOUT_MS, retry: { attemptsMax: 1 } }),
        lastUsedMs: now,
      };
      this.entries.set(bootstrap, entry);
    }
    entry.lastUsedMs = now;
    return entry.admin;
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.admin.close()));
  }

  private closeIdle(now: number): void {
    for (const [bootstrap, entry] of this.entries) {
      if (now - entry.lastUsedMs > ADMIN_IDLE_MS) {
        this.entries.delete(bootstrap);
        void entry.admin.close();
      }
    }
  }
}
