/**
 * The cleaner checkpoint of one log (Kafka's `cleaner-offset-checkpoint`, kept per partition
 * directory here so it goes wherever the partition goes and is removed with it): how far the
 * log has been cleaned, and the earliest delete horizon among the tombstones the clean kept, so
 * a restarted broker neither redoes work nor forgets a tombstone that is due.
 *
 * File `cleaner-offset-checkpoint`, in checkpoint.ts's format (atomic replace, CRC line), one
 * entry of two integers: `<cleanedThroughOffset> <earliestHorizonMs or -1>`.
 *
 * Invariants: the file is written only after every swap of a clean succeeded, so it never claims
 * more than was cleaned (a crash before it is written means the next clean redoes that work,
 * which is idempotent). A missing or damaged file reads as "never cleaned" (a full clean:
 * always correct).
 */
import { readCheckpoint, writeCheckpoint } from "../checkpoint.js";
import { joinPath, type Opener, type StorageFs } from "../fs/storage-fs.js";

export const CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint";

export interface CleanerCheckpoint {
  /** Offsets below this have been cleaned. */
  readonly cleanedThroughOffset: number;
  /** The earliest delete horizon of a tombstone kept in the clean section; undefined when none. */
  readonly earliestHorizonMs: number | undefined;
}

export async function readCleanerCheckpoint(fs: StorageFs, dir: string, open?: Opener): Promise<CleanerCheckpoint | undefined> {
  const entries = await readCheckpoint(fs, joinPath(dir, CLEANER_CHECKPOINT_FILE), 2, open);
  const entry = entries?.length === 1 ? entries[0] : undefined;
  const offset = entry?.[0];
  const horizon = entry?.[1];
  if (offset === undefined || horizon === undefined || offset < 0 || horizon < -1) return undefined;
  return { cleanedThroughOffset: offset, earliestHorizonMs: horizon < 0 ? undefined : horizon };
}

export async function writeCleanerCheckpoint(fs: StorageFs, dir: string, checkpoint: CleanerCheckpoint, open?: Opener): Promise<void> {
  await writeCheckpoint(fs, dir, CLEANER_CHECKPOINT_FILE, [[checkpoint.cleanedThroughOffset, checkpoint.earliestHorizonMs ?? -1]], open);
}
