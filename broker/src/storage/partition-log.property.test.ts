// Proves, with random operation sequences on the simulated disk, that the partition log always agrees with a naive in-memory model (offsets, bytes read, log start/end, epochs) across appends, replicated appends, reads, rolls, truncation, retention, deleteRecordsBefore and clean or crashing restarts. SLUICE_PROPERTY_RUNS raises the number of runs; SLUICE_PROPERTY_SEED (with the same runs) replays a failure.
import { OffsetOutOfRangeError } from "@sluice/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig, type LogConfig } from "./config.js";
import { FencedLeaderEpochError, NonContiguousAppendError, TruncateInsideBatchError } from "./errors.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { seededRandom } from "./fs/sim-random.js";
import { IndexCache } from "./index-cache.js";
import { PartitionLog } from "./partition-log.js";
import { batchesIn, buildTestBatch, stampedCopy } from "./testing/batch-builder.js";

const RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 40);
const DIR = "/data/t-0";

// ---- the model ---------------------------------------------------------------------------

interface MBatch {
  readonly base: number;
  readonly last: number;
  readonly epoch: number;
  readonly maxTs: number;
  readonly bytes: Buffer;
}

interface MSegment {
  readonly base: number;
  batches: MBatch[];
}

class Model {
  segments: MSegment[] = [{ base: 0, batches: [] }];
  logStart = 0;
  logEnd = 0;
  epochs: Array<{ epoch: number; startOffset: number }> = [];

  constructor(readonly config: LogConfig) {}

  size(segment: MSegment): number {
    return segment.batches.reduce((n, b) => n + b.bytes.byteLength, 0);
  }

  get active(): MSegment {
    return this.segments[this.segments.length - 1] as MSegment;
  }

  latestEpoch(): number {
    return this.epochs[this.epochs.length - 1]?.epoch ?? -1;
  }

  segmentIndexFor(offset: number): number {
    let found = 0;
    this.segments.forEach((s, i) => {
      if (s.base <= offset) found = i;
    });
    return found;
  }

  /** Appends batches (already stamped) as one append of `size` bytes. */
  append(batches: MBatch[]): void {
    const bytes = batches.reduce((n, b) => n + b.bytes.byteLength, 0);
    const active = this.active;
    if (this.size(active) > 0 && this.size(active) + bytes > this.config.segmentBytes) {
      this.segments.push({ base: (batches[0] as MBatch).base, batches: [] });
    }
    for (const b of batches) {
      if (b.epoch > this.latestEpoch()) this.epochs.push({ epoch: b.epoch, startOffset: b.base });
      this.active.batches.push(b);
      this.logEnd = b.last + 1;
    }
  }

  roll(): void {
    if (this.size(this.active) > 0) this.segments.push({ base: this.logEnd, batches: [] });
  }

  read(offset: number, maxBytes: number, maxOffset: number | undefined): { records: Buffer; first: number; next: number } | "out-of-range" {
    if (offset < this.logStart || offset > this.logEnd) return "out-of-range";
    const limit = Math.min(maxOffset ?? this.logEnd, this.logEnd);
    if (offset >= limit) return { records: Buffer.alloc(0), first: offset, next: offset };
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const batches = (this.segments[i] as MSegment).batches;
      const at = batches.findIndex((b) => b.last >= offset);
      if (at < 0) continue;
      const first = batches[at] as MBatch;
      if (first.last >= limit) return { records: Buffer.alloc(0), first: offset, next: offset };
      const taken: MBatch[] = [first];
      let total = first.bytes.byteLength;
      for (const b of batches.slice(at + 1)) {
        if (b.last >= limit || total + b.bytes.byteLength > maxBytes) break;
        taken.push(b);
        total += b.bytes.byteLength;
      }
      return { records: Buffer.concat(taken.map((b) => b.bytes)), first: first.base, next: (taken[taken.length - 1] as MBatch).last + 1 };
    }
    return { records: Buffer.alloc(0), first: offset, next: offset };
  }

  truncateFromStart(start: number): void {
    let cut = 0;
    while (cut + 1 < this.epochs.length && (this.epochs[cut + 1] as { startOffset: number }).startOffset <= start) cut++;
    const first = this.epochs[cut];
    if (first === undefined) return;
    this.epochs = [{ epoch: first.epoch, startOffset: Math.max(first.startOffset, start) }, ...this.epochs.slice(cut + 1)];
  }

  deleteLeading(count: number, newStart: number): void {
    this.logStart = Math.max(this.logStart, newStart);
    this.segments = this.segments.slice(count);
    this.truncateFromStart(this.logStart);
    this.epochs = this.epochs.filter((e) => e.startOffset < this.logEnd);
  }

  retention(nowMs: number): void {
    const { retentionMs, retentionBytes } = this.config;
    let total = this.segments.reduce((n, s) => n + this.size(s), 0);
    let count = 0;
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const s = this.segments[i] as MSegment;
      const maxTs = s.batches.reduce((m, b) => Math.max(m, b.maxTs), -1);
      const ok =
        (this.segments[i + 1] as MSegment).base <= this.logStart ||
        (retentionMs >= 0 && maxTs >= 0 && maxTs < nowMs - retentionMs) ||
        (retentionBytes >= 0 && total - this.size(s) >= retentionBytes);
      if (!ok) break;
      total -= this.size(s);
      count++;
    }
    if (count > 0) this.deleteLeading(count, (this.segments[count] as MSegment).base);
  }

  deleteRecordsBefore(offset: number): void {
    if (offset <= this.logStart) return;
    let count = 0;
    while (count + 1 < this.segments.length && (this.segments[count + 1] as MSegment).base <= offset) count++;
    this.deleteLeading(count, offset);
  }

  truncateFully(offset: number): void {
    this.segments = [{ base: offset, batches: [] }];
    this.logStart = offset;
    this.logEnd = offset;
    this.epochs = [];
  }

  /** "inside" when `offset` cuts a batch (the log must refuse). */
  truncateTo(offset: number): "inside" | "ok" {
    if (offset >= this.logEnd) return "ok";
    if (offset < this.logStart) {
      this.truncateFully(offset);
      return "ok";
    }
    const i = this.segmentIndexFor(offset);
    const segment = this.segments[i] as MSegment;
    const hit = segment.batches.find((b) => b.last >= offset);
    if (hit !== undefined && hit.base < offset) return "inside";
    const kept = segment.batches.filter((b) => b.last < offset);
    const end = kept.length > 0 ? (kept[kept.length - 1] as MBatch).last + 1 : segment.base;
    if (end < this.logStart) {
      this.truncateFully(offset);
      return "ok";
    }
    this.segments = this.segments.slice(0, i + 1);
    segment.batches = kept;
    this.logEnd = end;
    this.epochs = this.epochs.filter((e) => e.startOffset < end);
    return "ok";
  }

  allBytes(): Buffer {
    return Buffer.concat(this.segments.flatMap((s) => s.batches.map((b) => b.bytes)));
  }
}

// ---- the system under test ---------------------------------------------------------------

interface Real {
  fs: SimStorageFs;
  log: PartitionLog;
  clock: ManualClock;
  config: LogConfig;
  /** Tiny, so indexes are evicted and reloaded all the time. */
  indexCache: IndexCache;
}

async function reopen(real: Real): Promise<void> {
  real.log = await PartitionLog.open({ fs: real.fs, dir: DIR, clock: real.clock, config: real.config, indexCache: real.indexCache });
}

async function checkAgrees(model: Model, real: Real): Promise<void> {
  expect(real.log.logStartOffset).toBe(model.logStart);
  expect(real.log.logEndOffset).toBe(model.logEnd);
  expect(real.log.epochEntries()).toEqual(model.epochs);
  expect(real.log.segmentCount).toBe(model.segments.length);
}

interface BatchSpec {
  readonly records: number;
  readonly valueBytes: number;
  readonly seed: number;
  readonly tsBack: number;
}

const batchSpec = fc.record({
  records: fc.integer({ min: 1, max: 4 }),
  valueBytes: fc.integer({ min: 0, max: 90 }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  tsBack: fc.integer({ min: 0, max: 5000 }),
});

function makeInput(spec: BatchSpec, nowMs: number): Buffer {
  return buildTestBatch({ records: spec.records, valueBytes: spec.valueBytes, seed: spec.seed, baseTimestampMs: nowMs - spec.tsBack, timestampStepMs: 7 });
}

function modelBatches(inputs: Buffer[], firstOffset: number, epoch: number): MBatch[] {
  let offset = firstOffset;
  return inputs.map((input) => {
    const info = batchesIn(input)[0] as { lastOffset: number; baseOffset: number };
    const count = info.lastOffset - info.baseOffset + 1;
    const bytes = stampedCopy(input, offset, epoch);
    const b = { base: offset, last: offset + count - 1, epoch, maxTs: Number(input.readBigInt64BE(35)), bytes };
    offset += count;
    return b;
  });
}

type Cmd = fc.AsyncCommand<Model, Real>;

class AppendCmd implements Cmd {
  constructor(
    readonly specs: BatchSpec[],
    readonly epochMove: "same" | "next" | "stale",
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const latest = model.latestEpoch();
    const epoch = this.epochMove === "next" || latest < 0 ? latest + 1 : this.epochMove === "stale" && latest > 0 ? latest - 1 : latest;
    const inputs = this.specs.map((s) => makeInput(s, real.clock.nowMs()));
    const expected = modelBatches(inputs, model.logEnd, epoch);
    if (epoch < latest) {
      await expect(real.log.append(Buffer.concat(inputs), epoch)).rejects.toBeInstanceOf(FencedLeaderEpochError);
    } else {
      const result = await real.log.append(Buffer.concat(inputs), epoch);
      expect(result.baseOffset).toBe(model.logEnd);
      model.append(expected);
      expect(result.lastOffset).toBe(model.logEnd - 1);
    }
    await checkAgrees(model, real);
  }
  toString = (): string => `append(${this.specs.length} batches, ${this.epochMove})`;
}

class ReplicatedCmd implements Cmd {
  constructor(
    readonly specs: BatchSpec[],
    readonly skew: number,
    readonly bump: boolean,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const epoch = Math.max(0, model.latestEpoch() + (this.bump ? 1 : 0));
    const inputs = this.specs.map((s) => makeInput(s, real.clock.nowMs()));
    const expected = modelBatches(inputs, model.logEnd + this.skew, epoch);
    const bytes = Buffer.concat(expected.map((b) => b.bytes));
    if (this.skew !== 0) {
      await expect(real.log.appendReplicated(bytes)).rejects.toBeInstanceOf(NonContiguousAppendError);
    } else {
      await real.log.appendReplicated(bytes);
      model.append(expected);
    }
    await checkAgrees(model, real);
  }
  toString = (): string => `replicated(${this.specs.length}, skew ${this.skew}, bump ${this.bump})`;
}

class ReadCmd implements Cmd {
  constructor(
    readonly where: number,
    readonly budget: number | { readonly batches: number; readonly slack: number },
    readonly bound: number | undefined,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const span = model.logEnd - model.logStart + 3;
    const offset = model.logStart - 1 + Math.floor(this.where * span);
    const maxOffset = this.bound === undefined ? undefined : model.logStart + Math.floor(this.bound * (model.logEnd - model.logStart + 1));
    // A budget of exactly k whole batches (plus slack -1, 0 or +1 bytes) probes the boundary.
    let maxBytes = typeof this.budget === "number" ? this.budget : 0;
    if (typeof this.budget !== "number") {
      const batches = model.segments.flatMap((seg) => seg.batches).filter((b) => b.last >= offset);
      maxBytes = Math.max(0, batches.slice(0, this.budget.batches).reduce((n, b) => n + b.bytes.byteLength, 0) + this.budget.slack);
    }
    const expected = model.read(offset, maxBytes, maxOffset);
    if (expected === "out-of-range") {
      await expect(real.log.read(offset, maxBytes, { maxOffset })).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      return;
    }
    const result = await real.log.read(offset, maxBytes, { maxOffset });
    expect(result.records.equals(expected.records)).toBe(true);
    expect(result.firstOffset).toBe(expected.first);
    expect(result.nextOffset).toBe(expected.next);
  }
  toString = (): string => `read(${this.where.toFixed(2)}, ${JSON.stringify(this.budget)}, ${this.bound?.toFixed(2) ?? "-"})`;
}

class ReadAllCmd implements Cmd {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const parts: Buffer[] = [];
    let offset = model.logStart;
    while (offset < model.logEnd) {
      const result = await real.log.read(offset, 700);
      if (result.records.byteLength === 0) break;
      parts.push(Buffer.from(result.records));
      offset = result.nextOffset;
    }
    const expected = Buffer.concat(model.segments.flatMap((s) => s.batches.filter((b) => b.last >= model.logStart).map((b) => b.bytes)));
    expect(Buffer.concat(parts).equals(expected)).toBe(true);
  }
  toString = (): string => "readAll";
}

class TimestampCmd implements Cmd {
  constructor(readonly back: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const target = real.clock.nowMs() - this.back;
    let expected: { offset: number; timestampMs: number } | undefined;
    for (let i = model.segmentIndexFor(model.logStart); i < model.segments.length && expected === undefined; i++) {
      const hit = (model.segments[i] as MSegment).batches.find((b) => b.maxTs >= target && b.last >= model.logStart);
      if (hit !== undefined) expected = { offset: Math.max(hit.base, model.logStart), timestampMs: hit.maxTs };
    }
    expect(await real.log.offsetForTimestamp(target)).toEqual(expected);
  }
  toString = (): string => `offsetForTimestamp(now-${this.back})`;
}

class RollCmd implements Cmd {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.log.roll();
    model.roll();
    await checkAgrees(model, real);
  }
  toString = (): string => "roll";
}

class ClockCmd implements Cmd {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  async run(_model: Model, real: Real): Promise<void> {
    real.clock.advance(this.ms);
  }
  toString = (): string => `clock+${this.ms}`;
}

class RetentionCmd implements Cmd {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    await real.log.applyRetention();
    model.retention(real.clock.nowMs());
    await checkAgrees(model, real);
  }
  toString = (): string => "retention";
}

class DeleteRecordsCmd implements Cmd {
  constructor(readonly where: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const offset = model.logStart + Math.floor(this.where * (model.logEnd - model.logStart + 2));
    if (offset > model.logEnd) {
      await expect(real.log.deleteRecordsBefore(offset)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    } else {
      await real.log.deleteRecordsBefore(offset);
      model.deleteRecordsBefore(offset);
    }
    await checkAgrees(model, real);
  }
  toString = (): string => `deleteRecordsBefore(${this.where.toFixed(2)})`;
}

class TruncateCmd implements Cmd {
  constructor(readonly where: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    // Mostly batch boundaries (what replication uses), sometimes anywhere (inside a batch, below the start).
    const all = model.segments.flatMap((s) => s.batches.map((b) => b.base));
    const pick = Math.floor(this.where * (all.length + 3));
    const offset = pick < all.length ? (all[pick] as number) : pick === all.length ? model.logEnd : Math.max(0, model.logStart - 1 + Math.floor(this.where * 7));
    const outcome = model.truncateTo(offset);
    if (outcome === "inside") await expect(real.log.truncateTo(offset)).rejects.toBeInstanceOf(TruncateInsideBatchError);
    else await real.log.truncateTo(offset);
    await checkAgrees(model, real);
  }
  toString = (): string => `truncateTo(${this.where.toFixed(2)})`;
}

class TruncateFullyCmd implements Cmd {
  constructor(readonly delta: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const offset = Math.max(0, model.logEnd + this.delta);
    await real.log.truncateFullyAndStartAt(offset);
    model.truncateFully(offset);
    await checkAgrees(model, real);
  }
  toString = (): string => `truncateFullyAndStartAt(end${this.delta >= 0 ? "+" : ""}${this.delta})`;
}

class RestartCmd implements Cmd {
  constructor(readonly kind: "clean" | "crash-drop" | "crash-prefix", readonly seed: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    if (this.kind === "clean") {
      await real.log.close();
    } else {
      real.fs = real.fs.crash(this.kind === "crash-drop" ? "drop" : "prefix", seededRandom(this.seed));
      real.log.abandon();
    }
    await reopen(real);
    // Everything acknowledged was durable: a crash loses nothing the model holds.
    expect(real.log.recovery.clean).toBe(this.kind === "clean");
    await checkAgrees(model, real);
    expect(real.log.recovery.bytesTruncated).toBe(0);
  }
  toString = (): string => `restart(${this.kind}, ${this.seed})`;
}

/** Appends left in flight when the power goes: acknowledged ones survive, the rest survive as a batch prefix. */
class CrashInFlightCmd implements Cmd {
  constructor(
    readonly specs: BatchSpec[],
    readonly ticks: number,
    readonly seed: number,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const epoch = Math.max(0, model.latestEpoch());
    const inputs = this.specs.map((s) => makeInput(s, real.clock.nowMs()));
    const expected = modelBatches(inputs, model.logEnd, epoch);
    let crashed = false;
    const acked: boolean[] = inputs.map(() => false);
    const settled = inputs.map((input, i) =>
      real.log.append(input, epoch).then(
        () => {
          if (!crashed) acked[i] = true;
        },
        () => undefined,
      ),
    );
    for (let i = 0; i < this.ticks; i++) await Promise.resolve();
    real.fs = real.fs.crash("prefix", seededRandom(this.seed));
    crashed = true;
    real.log.abandon();
    await Promise.all(settled);
    await reopen(real);
    const lastAcked = acked.lastIndexOf(true);
    const survivors = real.log.logEndOffset - model.logEnd;
    // Survivors are a prefix of the in-flight batches, at least every acknowledged one.
    let count = 0;
    let covered = model.logEnd;
    while (count < expected.length && covered < real.log.logEndOffset) covered = (expected[count++] as MBatch).last + 1;
    expect(covered).toBe(real.log.logEndOffset);
    expect(survivors).toBeGreaterThanOrEqual(lastAcked < 0 ? 0 : (expected[lastAcked] as MBatch).last + 1 - model.logEnd);
    const kept = expected.slice(0, count);
    // The log's segment layout may hold an empty segment a roll made for a lost append:
    // adopt the log's boundaries after checking they partition exactly the expected batches.
    for (const b of kept) {
      if (b.epoch > model.latestEpoch()) model.epochs.push({ epoch: b.epoch, startOffset: b.base });
    }
    const all = [...model.segments.flatMap((s) => s.batches), ...kept];
    const infos = await real.log.segmentInfos();
    model.segments = infos.map((info, i) => {
      const next = infos[i + 1]?.baseOffset ?? Infinity;
      const batches = all.filter((b) => b.base >= info.baseOffset && b.base < next);
      expect(batches.reduce((n, b) => n + b.bytes.byteLength, 0)).toBe(info.sizeBytes);
      return { base: info.baseOffset, batches };
    });
    expect(model.segments.reduce((n, s) => n + s.batches.length, 0)).toBe(all.length);
    model.logEnd = real.log.logEndOffset;
    await checkAgrees(model, real);
    await new ReadAllCmd().run(model, real);
  }
  toString = (): string => `crashInFlight(${this.specs.length}, ticks ${this.ticks}, seed ${this.seed})`;
}

/** A uniform fraction in [0, 1] (fc.double leans hard towards edge values such as 0). */
const unit = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);

const appendCmd = fc
  .tuple(fc.array(batchSpec, { minLength: 1, maxLength: 3 }), fc.constantFrom<"same" | "next" | "stale">("same", "same", "same", "next", "stale"))
  .map(([s, e]) => new AppendCmd(s, e));

// Appends are listed several times so logs grow across many segments between the other operations.
const commands = [
  appendCmd,
  appendCmd,
  appendCmd,
  appendCmd,
  fc.tuple(fc.array(batchSpec, { minLength: 1, maxLength: 3 }), fc.constantFrom(0, 0, 0, 1, -1), fc.boolean()).map(([s, k, b]) => new ReplicatedCmd(s, k, b)),
  fc.tuple(unit, fc.integer({ min: 0, max: 1500 }), fc.option(unit, { nil: undefined })).map(([w, m, b]) => new ReadCmd(w, m, b)),
  fc
    .tuple(unit, fc.record({ batches: fc.integer({ min: 1, max: 5 }), slack: fc.integer({ min: -1, max: 1 }) }), fc.option(unit, { nil: undefined }))
    .map(([w, m, b]) => new ReadCmd(w, m, b)),
  fc.constant(new ReadAllCmd()),
  fc.integer({ min: 0, max: 8000 }).map((b) => new TimestampCmd(b)),
  fc.constant(new RollCmd()),
  fc.integer({ min: 0, max: 20_000 }).map((ms) => new ClockCmd(ms)),
  fc.constant(new RetentionCmd()),
  unit.map((w) => new DeleteRecordsCmd(w)),
  unit.map((w) => new TruncateCmd(w)),
  fc.integer({ min: -3, max: 5 }).map((d) => new TruncateFullyCmd(d)),
  fc.tuple(fc.constantFrom<"clean" | "crash-drop" | "crash-prefix">("clean", "crash-drop", "crash-prefix"), fc.integer()).map(([k, s]) => new RestartCmd(k, s)),
  fc.tuple(fc.array(batchSpec, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 120 }), fc.integer()).map(([s, t, seed]) => new CrashInFlightCmd(s, t, seed)),
];

describe("PartitionLog against a model", () => {
  it("agrees with the model under random operations, restarts and crashes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commands, { maxCommands: 80, size: "max" }),
        fc.constantFrom(-1, 1500),
        fc.constantFrom(-1, 30_000),
        async (cmds, retentionBytes, retentionMs) => {
          const config = logConfig({ segmentBytes: 600, indexIntervalBytes: 128, retentionBytes, retentionMs, segmentMs: 1e12 });
          const clock = new ManualClock();
          const fs = new SimStorageFs();
          const indexCache = new IndexCache(300);
          const log = await PartitionLog.open({ fs, dir: DIR, clock, config, indexCache });
          const real: Real = { fs, log, clock, config, indexCache };
          const model = new Model(config);
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          if (process.env.SLUICE_PROPERTY_TRACE !== undefined) console.log("cmds", [...cmds].map(String).join(" ").slice(0, 600), [...cmds].length, "end", model.logEnd, "segments", model.segments.length);
          await new ReadAllCmd().run(model, real);
          await real.log.close();
        },
      ),
      // A failure prints its seed and path; SLUICE_PROPERTY_SEED / SLUICE_PROPERTY_PATH replay it.
      process.env.SLUICE_PROPERTY_SEED === undefined
        ? { numRuns: RUNS }
        : { numRuns: RUNS, seed: Number(process.env.SLUICE_PROPERTY_SEED) },
    );
  });
});
