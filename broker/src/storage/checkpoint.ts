/**
 * Small checkpoint files of a partition directory, replaced atomically (write `name.tmp`,
 * fdatasync, rename over `name`, fsync the directory; see `writeFileAtomic`).
 *
 * Text format (Kafka's checkpoint layout, plus a checksum line):
 *
 *   <version>            "0"
 *   <entry count>
 *   <entry line>...      space-separated integers
 *   crc32c <8 hex>       CRC-32C of every byte above, newline included
 *
 * Files: `recovery-point-checkpoint` (one entry: the offset below which the log and its indexes
 * are known durable), `log-start-offset-checkpoint` (one entry), `leader-epoch-checkpoint`
 * (entries `<epoch> <startOffset>`). A file that fails to parse or checksum reads as missing,
 * and every reader has a safe fallback for missing (see partition-log.ts).
 */
import { crc32c } from "@node-rs/crc32";
import { CHECKPOINT_BYTES_MAX } from "./limits.js";
import { readWholeFile, writeFileAtomic, type Opener, type StorageFs } from "./fs/storage-fs.js";

export const CHECKPOINT_VERSION = 0;
export const RECOVERY_POINT_FILE = "recovery-point-checkpoint";
export const LOG_START_OFFSET_FILE = "log-start-offset-checkpoint";
export const LEADER_EPOCH_FILE = "leader-epoch-checkpoint";

export type CheckpointEntry = readonly number[];

export function formatCheckpoint(entries: readonly CheckpointEntry[]): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length), ...entries.map((e) => e.join(" "))];
  const body = `${lines.join("\n")}\n`;
  const crc = (crc32c(Buffer.from(body, "utf8")) >>> 0).toString(16).padStart(8, "0");
  return Buffer.from(`${body}crc32c ${crc}\n`, "utf8");
}

/** Parses a checkpoint whose entries have `width` integers each; `undefined` if malformed. */
export function parseCheckpoint(bytes: Buffer, width: number): CheckpointEntry[] | undefined {
  const text = bytes.toString("utf8");
  const crcAt = text.lastIndexOf("crc32c ");
  if (crcAt < 0) return undefined;
  const body = text.slice(0, crcAt);
  const crcLine = text.slice(crcAt).trim();
  const expected = (crc32c(Buffer.from(body, "utf8")) >>> 0).toString(16).padStart(8, "0");
  if (crcLine !== `crc32c ${expected}`) return undefined;
  const lines = body.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines[0] !== String(CHECKPOINT_VERSION)) return undefined;
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== count + 2) return undefined;
  const entries: CheckpointEntry[] = [];
  for (const line of lines.slice(2)) {
    const parts = line.split(" ");
    if (parts.length !== width) return undefined;
    const values = parts.map(Number);
    if (!values.every((v) => Number.isSafeInteger(v))) return undefined;
    entries.push(values);
  }
  return entries;
}

export async function readCheckpoint(fs: StorageFs, path: string, width: number, open?: Opener): Promise<CheckpointEntry[] | undefined> {
  const bytes = await readWholeFile(fs, path, CHECKPOINT_BYTES_MAX, open);
  return bytes === undefined ? undefined : parseCheckpoint(bytes, width);
}

export async function writeCheckpoint(fs: StorageFs, dir: string, name: string, entries: readonly CheckpointEntry[], open?: Opener): Promise<void> {
  await writeFileAtomic(fs, dir, name, formatCheckpoint(entries), open);
}

/** Reads a one-offset checkpoint; `undefined` when missing or damaged. */
export async function readOffsetCheckpoint(fs: StorageFs, path: string, open?: Opener): Promise<number | undefined> {
  const entries = await readCheckpoint(fs, path, 1, open);
  const value = entries?.[0]?.[0];
  return entries?.length === 1 && value !== undefined && value >= 0 ? value : undefined;
}
