/**
 * Storage engine benchmark: `npm run bench -- storage [--mb 512] [--appenders 8] [--batch-kib 64]
 * [--record-bytes 1024] [--read-kib 1024] [--segment-mib 128] [--repeats 3]`.
 *
 * On the real file system, in a temp dir:
 * - append_durable_mb_s: 1 KiB records in 64 KiB batches, `appenders` concurrent appenders,
 *   fsync `always` with group commit;
 * - baseline_durable_mb_s: plain writeSync of the same bytes with fdatasyncSync at the same
 *   cadence (the bytes per fdatasync the Sluice run achieved, counting every fdatasync it issued
 *   through a counting StorageFs), run right after each Sluice run; `repeats` such pairs, the
 *   figures are medians, append_ratio is the median of the per-pair ratios (min and max too);
 * - append_nofsync_mb_s: the same appends with fsync `never`;
 * - read_mb_s: the whole log read sequentially from a freshly opened log with the budgeted read
 *   API (every batch CRC-checked), as a consumer would, handing the read its scratch buffer
 *   back each time (ReadOptions.buffer); read_alloc_mb_s: the same with a new buffer per read;
 * - recovery_mb_s: opening the log after an unclean shutdown with no recovery checkpoint, which
 *   forces a full rescan (structure + CRC of every batch, indexes rebuilt).
 * The data sits in the page cache for the read and recovery runs (it was just written); the
 * durable runs pay for the disk.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  NodeStorageFs,
  PartitionLog,
  formatFsyncPolicy,
  logConfig,
  type FileStat,
  type FsyncPolicy,
  type OpenMode,
  type StorageFile,
  type StorageFs,
} from "../broker/src/storage/index.js";
import { buildTestBatch } from "../broker/src/storage/testing/batch-builder.js";
import { numberOption, printTable, type BenchOptions, type BenchResult } from "./report.js";

const MiB = 1024 * 1024;

/** The real file system, counting every fdatasync and directory fsync the log issues. */
class CountingFs implements StorageFs {
  private readonly inner = new NodeStorageFs();
  datasyncs = 0;
  dirSyncs = 0;

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    const file = await this.inner.open(path, mode);
    const datasync = file.datasync.bind(file);
    file.datasync = async () => {
      this.datasyncs++;
      await datasync();
    };
    return file;
  }
  stat(path: string): Promise<FileStat | undefined> {
    return this.inner.stat(path);
  }
  readdir(dir: string): Promise<string[]> {
    return this.inner.readdir(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  rmdir(dir: string): Promise<void> {
    return this.inner.rmdir(dir);
  }
  fsyncDir(dir: string): Promise<void> {
    this.dirSyncs++;
    return this.inner.fsyncDir(dir);
  }
}

interface AppendRun {
  readonly seconds: number;
  readonly bytes: number;
  readonly batches: number;
  /** Every fdatasync during the appends (segment, index and checkpoint files). */
  readonly fsyncs: number;
  readonly dirSyncs: number;
  readonly groupCommitRounds: number;
}

function makeBatch(recordBytes: number, batchBytes: number, seed: number): Buffer {
  // A record of `recordBytes` on the wire carries ~10 bytes of varint framing.
  const valueBytes = Math.max(1, recordBytes - 10);
  const records = Math.max(1, Math.floor((batchBytes - 61) / recordBytes));
  return buildTestBatch({ records, valueBytes, seed, baseTimestampMs: Date.now() });
}

async function appendRun(dir: string, fsync: FsyncPolicy, totalBytes: number, appenders: number, templates: readonly Buffer[], segmentBytes: number): Promise<AppendRun> {
  const fs = new CountingFs();
  const log = await PartitionLog.open({ fs, dir, config: logConfig({ segmentBytes, fsync, maxMessageBytes: 8 * MiB }) });
  const syncsAtStart = fs.datasyncs;
  const dirSyncsAtStart = fs.dirSyncs;
  const batchBytes = (templates[0] as Buffer).byteLength;
  const totalBatches = Math.ceil(totalBytes / batchBytes);
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    templates.slice(0, appenders).map(async (template) => {
      // Each appender owns its buffer: stamping happens in place, and the buffer is reused only
      // after its append resolved.
      const buffer = Buffer.from(template);
      while (issued < totalBatches) {
        issued++;
        await log.append(buffer, 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const fsyncs = fs.datasyncs - syncsAtStart;
  const dirSyncs = fs.dirSyncs - dirSyncsAtStart;
  const groupCommitRounds = log.stats.fsyncRoundsTotal;
  await log.close();
  return { seconds, bytes: totalBatches * batchBytes, batches: totalBatches, fsyncs, dirSyncs, groupCommitRounds };
}

function baselineRun(path: string, templates: readonly Buffer[], batches: number, bytesPerSync: number): number {
  const fd = openSync(path, "w");
  let sinceSync = 0;
  let position = 0;
  const started = performance.now();
  for (let i = 0; i < batches; i++) {
    const buffer = templates[i % templates.length] as Buffer;
    writeSync(fd, buffer, 0, buffer.byteLength, position);
    position += buffer.byteLength;
    sinceSync += buffer.byteLength;
    if (sinceSync >= bytesPerSync) {
      fdatasyncSync(fd);
      sinceSync = 0;
    }
  }
  fdatasyncSync(fd);
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  unlinkSync(path);
  return seconds;
}

async function readRun(dir: string, budgetBytes: number, reuseBuffer: boolean): Promise<{ seconds: number; bytes: number }> {
  const log = await PartitionLog.open({ fs: new NodeStorageFs(), dir, create: false });
  const end = log.logEndOffset;
  let offset = log.logStartOffset as number;
  let bytes = 0;
  // A consumer that handles each result before the next fetch can hand the same buffer back.
  const buffer = reuseBuffer ? Buffer.allocUnsafe(budgetBytes + 64 * 1024) : undefined;
  const started = performance.now();
  while (offset < end) {
    const result = await log.read(offset, budgetBytes, { buffer });
    bytes += result.records.byteLength;
    offset = result.nextOffset;
  }
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  return { seconds, bytes };
}

async function recoveryRun(dir: string): Promise<{ seconds: number; bytes: number; clean: boolean }> {
  // An unclean shutdown with no recovery checkpoint: every segment is rescanned.
  rmSync(join(dir, "clean-shutdown"), { force: true });
  rmSync(join(dir, "recovery-point-checkpoint"), { force: true });
  const started = performance.now();
  const log = await PartitionLog.open({ fs: new NodeStorageFs(), dir, create: false });
  const seconds = (performance.now() - started) / 1000;
  const report = log.recovery;
  await log.close();
  return { seconds, bytes: report.bytesScanned, clean: report.clean };
}

export async function run(options: BenchOptions): Promise<BenchResult> {
  const mb = numberOption(options, "mb", 512);
  const appenders = numberOption(options, "appenders", 8);
  const batchKiB = numberOption(options, "batch-kib", 64);
  const recordBytes = numberOption(options, "record-bytes", 1024);
  const readKiB = numberOption(options, "read-kib", 1024);
  const segmentMiB = numberOption(options, "segment-mib", 128);
  const repeats = Math.max(1, Math.round(numberOption(options, "repeats", 3)));
  const totalBytes = mb * MiB;
  const templates = Array.from({ length: appenders }, (_, i) => makeBatch(recordBytes, batchKiB * 1024, i + 1));
  const root = mkdtempSync(join(tmpdir(), "sluice-bench-storage-"));
  try {
    // Paired rounds: each Sluice run is followed at once by a baseline at the same bytes per
    // fdatasync, and the ratio is taken per pair — the disk is shared, so conditions drift
    // between pairs far more than within one. Reported figures are medians over the pairs.
    const pairs: Array<{ durable: AppendRun; baselineSeconds: number }> = [];
    const durableDir = join(root, "durable-0");
    for (let round = 0; round < repeats; round++) {
      const dir = join(root, `durable-${round}`);
      const durable = await appendRun(dir, { kind: "always" }, totalBytes, appenders, templates, segmentMiB * MiB);
      const baselineSeconds = baselineRun(join(root, "baseline.bin"), templates, durable.batches, durable.bytes / Math.max(1, durable.fsyncs));
      pairs.push({ durable, baselineSeconds });
      if (round > 0) rmSync(dir, { recursive: true, force: true });
    }
    const median = (values: number[]): number => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    };
    const durable = (pairs[0] as { durable: AppendRun }).durable;
    const durableRates = pairs.map((p) => p.durable.bytes / MiB / p.durable.seconds);
    const baselineRates = pairs.map((p) => p.durable.bytes / MiB / p.baselineSeconds);
    const ratios = pairs.map((p) => p.baselineSeconds / p.durable.seconds);
    const bytesPerSync = median(pairs.map((p) => p.durable.bytes / Math.max(1, p.durable.fsyncs)));
    const nofsync = await appendRun(join(root, "nofsync-0"), { kind: "never" }, totalBytes, appenders, templates, segmentMiB * MiB);
    rmSync(join(root, "nofsync-0"), { recursive: true, force: true });
    const read = await readRun(durableDir, readKiB * 1024, true);
    const readAlloc = await readRun(durableDir, readKiB * 1024, false);
    const recovery = await recoveryRun(durableDir);

    const metrics = {
      append_durable_mb_s: median(durableRates),
      baseline_durable_mb_s: median(baselineRates),
      append_ratio: median(ratios),
      append_ratio_min: Math.min(...ratios),
      append_ratio_max: Math.max(...ratios),
      append_nofsync_mb_s: nofsync.bytes / MiB / nofsync.seconds,
      read_mb_s: read.bytes / MiB / read.seconds,
      read_alloc_mb_s: readAlloc.bytes / MiB / readAlloc.seconds,
      recovery_mb_s: recovery.bytes / MiB / recovery.seconds,
      fsyncs: median(pairs.map((p) => p.durable.fsyncs)),
      dir_fsyncs: durable.dirSyncs,
      group_commit_rounds: median(pairs.map((p) => p.durable.groupCommitRounds)),
      bytes_per_fsync: Math.round(bytesPerSync),
      batch_bytes: (templates[0] as Buffer).byteLength,
    };
    const config = {
      mb,
      appenders,
      batch_kib: batchKiB,
      record_bytes: recordBytes,
      read_kib: readKiB,
      read_buffer: "reused (read_mb_s), new per read (read_alloc_mb_s)",
      segment_mib: segmentMiB,
      repeats,
      fsync: formatFsyncPolicy({ kind: "always" }),
      fs: "node:fs in os.tmpdir()",
    };
    printTable("storage (fsync always, group commit)", [
      ["append durable MB/s", metrics.append_durable_mb_s],
      ["baseline durable MB/s", metrics.baseline_durable_mb_s],
      ["append ratio (floor 0.7), median", metrics.append_ratio],
      ["append ratio, min..max", `${metrics.append_ratio_min.toFixed(2)}..${metrics.append_ratio_max.toFixed(2)}`],
      ["append no-fsync MB/s", metrics.append_nofsync_mb_s],
      ["read MB/s (floor 1000)", metrics.read_mb_s],
      ["read MB/s, new buffer per read", metrics.read_alloc_mb_s],
      ["recovery MB/s (floor 300)", metrics.recovery_mb_s],
      ["fdatasyncs (all files)", metrics.fsyncs],
      ["group-commit rounds", metrics.group_commit_rounds],
      ["directory fsyncs", metrics.dir_fsyncs],
      ["bytes per fdatasync", metrics.bytes_per_fsync],
      ["batch bytes", metrics.batch_bytes],
      ["recovery was unclean", recovery.clean ? "no (unexpected)" : "yes"],
    ]);
    return { config, metrics };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
