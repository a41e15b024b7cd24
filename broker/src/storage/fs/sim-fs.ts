/**
 * An in-memory `StorageFs` that models what survives a power loss, for property tests, crash
 * tests and the Raft simulator. Deterministic: operations complete in call order, randomness
 * comes only from the seeded `SimRandom` given to `crash()`.
 *
 * Model (the Linux contract in storage-fs.ts, made explicit):
 * - Each file has `current` bytes (what reads see) and `durable` bytes (what a crash keeps),
 *   plus the ordered list of writes/truncates since its last `datasync`. `datasync` replays the
 *   operations issued before it onto `durable`.
 * - Each directory has `current` and `durable` entry maps plus pending entry changes (create,
 *   unlink, rename within the directory); `fsyncDir` makes them durable. A file whose name never
 *   became durable vanishes in a crash, even if its bytes were synced.
 * - `crash("drop")` keeps only durable state. `crash("prefix", random)` keeps, per file and per
 *   directory, a random prefix of the pending operations, and may tear the first dropped write
 *   (a random leading part of it lands): the torn tails a real disk can leave.
 * - A crash kills the process that was using the disk: every `SimStorageFs` view made before it
 *   fails all later calls with EIO and its old handles fail with EBADF (held syncs with EIO), so
 *   work still in flight in the dead process cannot reach the rebooted disk. `crash()` and
 *   `restart()` return the view the next process uses.
 *
 * Extras for tests: fault injection (`injectFault`), holding syncs to observe group commit
 * (`holdSyncs`/`releaseSyncs`), operation counters, open-handle high-water mark, and media
 * damage (`corruptByte`, `cutFile`) that hits current and durable bytes alike.
 */
import { FsError, type FileStat, type OpenMode, type StorageFile, type StorageFs } from "./storage-fs.js";
import type { SimRandom } from "./sim-random.js";

export type SimFsOp =
  | "open"
  | "read"
  | "write"
  | "datasync"
  | "truncate"
  | "size"
  | "close"
  | "stat"
  | "readdir"
  | "mkdir"
  | "rename"
  | "unlink"
  | "rmdir"
  | "fsyncDir";

export interface SimFault {
  readonly op: SimFsOp;
  /** Only paths containing this substring; every path when absent. */
  readonly pathIncludes?: string;
  readonly code: string;
  /** How many matching calls fail (default 1). */
  readonly times?: number;
  /** For `write`: this many leading bytes land before the failure (a partial write). */
  readonly partialWriteBytes?: number;
}

export type CrashMode = "drop" | "prefix";

/** Growable byte array. */
class Bytes {
  private buf: Buffer;
  size: number;

  constructor(initial?: Buffer) {
    this.buf = initial ? Buffer.from(initial) : Buffer.alloc(0);
    this.size = this.buf.byteLength;
  }

  clone(): Bytes {
    return new Bytes(this.view());
  }

  view(): Buffer {
    return this.buf.subarray(0, this.size);
  }

  write(position: number, bytes: Buffer): void {
    const end = position + bytes.byteLength;
    if (end > this.buf.byteLength) {
      const grown = Buffer.alloc(Math.max(end, this.buf.byteLength * 2, 64));
      this.buf.copy(grown, 0, 0, this.size);
      this.buf = grown;
    }
    if (position > this.size) this.buf.fill(0, this.size, position);
    bytes.copy(this.buf, position);
    this.size = Math.max(this.size, end);
  }

  truncate(size: number): void {
    if (size > this.buf.byteLength) {
      const grown = Buffer.alloc(size);
      this.buf.copy(grown, 0, 0, this.size);
      this.buf = grown;
    } else if (size > this.size) {
      this.buf.fill(0, this.size, size);
    }
    this.size = size;
  }
}

type FileOp = { readonly seq: number; readonly kind: "write"; readonly position: number; readonly bytes: Buffer } | { readonly seq: number; readonly kind: "truncate"; readonly size: number };

class FileNode {
  readonly kind = "file";
  current = new Bytes();
  durable = new Bytes();
  pending: FileOp[] = [];
  nextSeq = 1;

  apply(target: Bytes, op: FileOp): void {
    if (op.kind === "write") target.write(op.position, op.bytes);
    else target.truncate(op.size);
  }

  /** Makes every operation with seq <= upTo durable. */
  syncUpTo(upTo: number): void {
    let i = 0;
    while (i < this.pending.length && (this.pending[i]?.seq ?? Infinity) <= upTo) {
      this.apply(this.durable, this.pending[i] as FileOp);
      i++;
    }
    this.pending.splice(0, i);
  }
}

type DirOp =
  | { readonly kind: "set"; readonly name: string; readonly node: Node }
  | { readonly kind: "delete"; readonly name: string }
  | { readonly kind: "rename"; readonly from: string; readonly to: string; readonly node: Node };

class DirNode {
  readonly kind = "dir";
  current = new Map<string, Node>();
  durable = new Map<string, Node>();
  pending: DirOp[] = [];

  static applyOp(entries: Map<string, Node>, op: DirOp): void {
    if (op.kind === "set") entries.set(op.name, op.node);
    else if (op.kind === "delete") entries.delete(op.name);
    else {
      entries.delete(op.from);
      entries.set(op.to, op.node);
    }
  }

  sync(): void {
    for (const op of this.pending) DirNode.applyOp(this.durable, op);
    this.pending = [];
  }
}

type Node = FileNode | DirNode;

function splitPath(path: string): string[] {
  return path.split("/").filter((part) => part.length > 0 && part !== ".");
}

interface HeldSync {
  readonly run: () => void;
  readonly fail: (error: Error) => void;
}

class SimFile implements StorageFile {
  private closed = false;

  constructor(
    private readonly fs: SimDisk,
    readonly path: string,
    private readonly node: FileNode,
    private readonly writable: boolean,
    private readonly generation: number,
  ) {}

  private check(op: SimFsOp): void {
    if (this.closed) throw new FsError("EBADF", `${this.path} is closed`);
    if (this.generation !== this.fs.generationNow()) throw new FsError("EBADF", `${this.path}: handle from before a crash`);
    this.fs.enter(op, this.path);
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    await Promise.resolve();
    this.check("read");
    const data = this.node.current.view();
    if (position >= data.byteLength) return 0;
    const n = Math.min(length, data.byteLength - position);
    data.copy(buffer, offset, position, position + n);
    return n;
  }

  async write(buffers: readonly Buffer[], position: number): Promise<void> {
    await Promise.resolve();
    const bytes = Buffer.concat(buffers as Buffer[]);
    try {
      this.check("write");
    } catch (error) {
      const partial = this.fs.takePartialWrite();
      if (partial > 0 && this.writable) this.record({ kind: "write", position, bytes: bytes.subarray(0, Math.min(partial, bytes.byteLength)) });
      throw error;
    }
    if (!this.writable) throw new FsError("EBADF", `${this.path} is open read-only`);
    this.record({ kind: "write", position, bytes });
  }

  private record(op: { kind: "write"; position: number; bytes: Buffer } | { kind: "truncate"; size: number }): void {
    const full = { ...op, seq: this.node.nextSeq++ } as FileOp;
    this.node.apply(this.node.current, full);
    this.node.pending.push(full);
  }

  async datasync(): Promise<void> {
    await Promise.resolve();
    this.check("datasync");
    const upTo = this.node.nextSeq - 1;
    await this.fs.gateSync();
    if (this.generation !== this.fs.generationNow()) throw new FsError("EIO", `${this.path}: crashed during fdatasync`);
    this.node.syncUpTo(upTo);
  }

  async truncate(sizeBytes: number): Promise<void> {
    await Promise.resolve();
    this.check("truncate");
    if (!this.writable) throw new FsError("EBADF", `${this.path} is open read-only`);
    this.record({ kind: "truncate", size: sizeBytes });
  }

  async size(): Promise<number> {
    await Promise.resolve();
    this.check("size");
    return this.node.current.size;
  }

  async close(): Promise<void> {
    await Promise.resolve();
    if (this.closed) return;
    this.closed = true;
    if (this.generation === this.fs.generationNow()) this.fs.handleClosed();
    this.fs.count("close");
  }
}

/**
 * The simulated disk itself: its files and directories, what is durable, and the test controls.
 * Processes reach it through `SimStorageFs` views; a crash kills every view (see below).
 */
export class SimDisk {
  private root = new DirNode();
  private generation = 0;
  private faults: Array<SimFault & { remaining: number }> = [];
  private partialWriteBytes = 0;
  private syncsHeld = false;
  private heldSyncs: HeldSync[] = [];
  private openHandles = 0;
  private crashPlan: { remaining: number; mode: CrashMode; random: SimRandom | undefined } | undefined;
  /** Set once a scheduled crash has happened. */
  scheduledCrashHappened = false;
  /** Highest number of handles open at once since creation (or `resetCounters`). */
  maxOpenHandles = 0;
  readonly counts: Record<SimFsOp, number> = SimDisk.zeroCounts();

  static zeroCounts(): Record<SimFsOp, number> {
    return {
      open: 0, read: 0, write: 0, datasync: 0, truncate: 0, size: 0, close: 0, stat: 0,
      readdir: 0, mkdir: 0, rename: 0, unlink: 0, rmdir: 0, fsyncDir: 0,
    };
  }

  // ---- test controls -------------------------------------------------------------------

  injectFault(fault: SimFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Power fails during the `afterOps`-th file-system call from now (counting every operation):
   * the disk crashes as `crash(mode, random)` would and that call fails with EIO, as does every
   * call through a handle opened before. Explores crash points inside multi-step operations.
   */
  scheduleCrash(afterOps: number, mode: CrashMode = "drop", random?: SimRandom): void {
    if (mode === "prefix" && random === undefined) throw new Error("scheduleCrash(prefix) needs a SimRandom");
    this.crashPlan = { remaining: afterOps, mode, random };
    this.scheduledCrashHappened = false;
  }

  cancelScheduledCrash(): void {
    this.crashPlan = undefined;
  }

  /** Calls that count towards `scheduleCrash` (every operation except `close`). */
  get crashableOps(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0) - this.counts.close;
  }

  /** From now on fdatasync calls wait until `releaseSyncs()`. */
  holdSyncs(): void {
    this.syncsHeld = true;
  }

  /** Lets every waiting fdatasync finish (in call order) and stops holding new ones. */
  releaseSyncs(): void {
    this.syncsHeld = false;
    const held = this.heldSyncs;
    this.heldSyncs = [];
    for (const sync of held) sync.run();
  }

  get heldSyncCount(): number {
    return this.heldSyncs.length;
  }

  get openHandleCount(): number {
    return this.openHandles;
  }

  resetCounters(): void {
    Object.assign(this.counts, SimDisk.zeroCounts());
    this.maxOpenHandles = this.openHandles;
  }

  /**
   * Power loss. `drop` keeps only durable state; `prefix` keeps a random prefix of each file's
   * and directory's pending operations and may tear the first one it drops.
   */
  crash(mode: CrashMode = "drop", random?: SimRandom): void {
    if (mode === "prefix" && random === undefined) throw new Error("crash(prefix) needs a SimRandom");
    this.generation++;
    this.openHandles = 0;
    const held = this.heldSyncs;
    this.heldSyncs = [];
    this.syncsHeld = false;
    for (const sync of held) sync.fail(new FsError("EIO", "crashed"));
    this.crashDir(this.root, mode, random);
  }

  private crashDir(dir: DirNode, mode: CrashMode, random: SimRandom | undefined): void {
    if (mode === "prefix" && random !== undefined) {
      const keep = random.nextInt(dir.pending.length + 1);
      for (const op of dir.pending.slice(0, keep)) DirNode.applyOp(dir.durable, op);
    }
    dir.pending = [];
    dir.current = new Map(dir.durable);
    for (const child of dir.current.values()) {
      if (child.kind === "dir") this.crashDir(child, mode, random);
      else this.crashFile(child, mode, random);
    }
  }

  private crashFile(file: FileNode, mode: CrashMode, random: SimRandom | undefined): void {
    if (mode === "prefix" && random !== undefined && file.pending.length > 0) {
      const keep = random.nextInt(file.pending.length + 1);
      for (const op of file.pending.slice(0, keep)) file.apply(file.durable, op);
      const torn = file.pending[keep];
      if (torn?.kind === "write" && random.nextInt(2) === 1) {
        const n = random.nextInt(torn.bytes.byteLength + 1);
        file.durable.write(torn.position, torn.bytes.subarray(0, n));
      }
    }
    file.pending = [];
    file.current = file.durable.clone();
  }

  /** Flips bits of one byte on the medium (current and durable), as a failing disk would. */
  corruptByte(path: string, position: number, xor = 0xff): void {
    const file = this.fileAt(path);
    for (const bytes of [file.current, file.durable]) {
      const view = bytes.view();
      if (position < view.byteLength) view[position] = (view[position] ?? 0) ^ xor;
    }
  }

  /** Cuts a file on the medium (current and durable) to `sizeBytes`. */
  cutFile(path: string, sizeBytes: number): void {
    const file = this.fileAt(path);
    for (const bytes of [file.current, file.durable]) if (bytes.size > sizeBytes) bytes.truncate(sizeBytes);
  }

  /** The bytes a crash right now (mode `drop`) would keep under this name, or undefined. */
  durableContent(path: string): Buffer | undefined {
    const parts = splitPath(path);
    let node: Node = this.root;
    for (const part of parts) {
      if (node.kind !== "dir") return undefined;
      const next: Node | undefined = node.durable.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node.kind === "file" ? Buffer.from(node.durable.view()) : undefined;
  }

  /** Current bytes of a file (what reads see). */
  content(path: string): Buffer {
    return Buffer.from(this.fileAt(path).current.view());
  }

  // ---- hooks used by SimFile -----------------------------------------------------------

  generationNow(): number {
    return this.generation;
  }

  count(op: SimFsOp): void {
    this.counts[op]++;
  }

  /** Counts the call and throws an injected fault if one matches. */
  enter(op: SimFsOp, path: string): void {
    this.counts[op]++;
    if (this.crashPlan !== undefined && --this.crashPlan.remaining <= 0) {
      const plan = this.crashPlan;
      this.crashPlan = undefined;
      this.crash(plan.mode, plan.random);
      this.scheduledCrashHappened = true;
      throw new FsError("EIO", `power lost during ${op} ${path}`);
    }
    const index = this.faults.findIndex((f) => f.op === op && (f.pathIncludes === undefined || path.includes(f.pathIncludes)));
    if (index < 0) return;
    const fault = this.faults[index] as SimFault & { remaining: number };
    fault.remaining--;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    this.partialWriteBytes = fault.partialWriteBytes ?? 0;
    throw new FsError(fault.code, `injected fault on ${op} ${path}`);
  }

  takePartialWrite(): number {
    const n = this.partialWriteBytes;
    this.partialWriteBytes = 0;
    return n;
  }

  gateSync(): Promise<void> {
    if (!this.syncsHeld) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.heldSyncs.push({ run: resolve, fail: reject }));
  }

  handleClosed(): void {
    this.openHandles--;
  }

  // ---- the operations views expose --------------------------------------------------------

  private lookup(path: string): Node | undefined {
    let node: Node = this.root;
    for (const part of splitPath(path)) {
      if (node.kind !== "dir") return undefined;
      const next: Node | undefined = node.current.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  private parentOf(path: string): { dir: DirNode; name: string } {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new FsError("EINVAL", `no name in path ${JSON.stringify(path)}`);
    const parent = this.lookup(parts.join("/"));
    if (parent === undefined) throw new FsError("ENOENT", `no directory for ${path}`);
    if (parent.kind !== "dir") throw new FsError("ENOTDIR", `${parts.join("/")} is not a directory`);
    return { dir: parent, name };
  }

  private fileAt(path: string): FileNode {
    const node = this.lookup(path);
    if (node === undefined) throw new FsError("ENOENT", path);
    if (node.kind !== "file") throw new FsError("EISDIR", path);
    return node;
  }

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    this.enter("open", path);
    let node = this.lookup(path);
    if (node === undefined) {
      if (mode !== "create") throw new FsError("ENOENT", path);
      const { dir, name } = this.parentOf(path);
      node = new FileNode();
      dir.current.set(name, node);
      dir.pending.push({ kind: "set", name, node });
    }
    if (node.kind !== "file") throw new FsError("EISDIR", path);
    this.openHandles++;
    this.maxOpenHandles = Math.max(this.maxOpenHandles, this.openHandles);
    return new SimFile(this, path, node, mode !== "read", this.generation);
  }

  async stat(path: string): Promise<FileStat | undefined> {
    this.enter("stat", path);
    const node = this.lookup(path);
    if (node === undefined) return undefined;
    return { sizeBytes: node.kind === "file" ? node.current.size : 0, isDirectory: node.kind === "dir" };
  }

  async readdir(dir: string): Promise<string[]> {
    this.enter("readdir", dir);
    const node = this.lookup(dir);
    if (node === undefined) throw new FsError("ENOENT", dir);
    if (node.kind !== "dir") throw new FsError("ENOTDIR", dir);
    return [...node.current.keys()].sort();
  }

  async mkdir(dir: string): Promise<void> {
    this.enter("mkdir", dir);
    let node: DirNode = this.root;
    for (const part of splitPath(dir)) {
      const next = node.current.get(part);
      if (next === undefined) {
        const created = new DirNode();
        node.current.set(part, created);
        node.pending.push({ kind: "set", name: part, node: created });
        node = created;
      } else if (next.kind === "dir") {
        node = next;
      } else {
        throw new FsError("ENOTDIR", `${part} in ${dir} is a file`);
      }
    }
  }

  async rename(from: string, to: string): Promise<void> {
    this.enter("rename", from);
    const source = this.parentOf(from);
    const target = this.parentOf(to);
    const node = source.dir.current.get(source.name);
    if (node === undefined) throw new FsError("ENOENT", from);
    if (source.dir !== target.dir) throw new FsError("EXDEV", `simulated fs renames only within a directory: ${from} -> ${to}`);
    const existing = target.dir.current.get(target.name);
    if (existing !== undefined && (existing.kind === "dir" || node.kind === "dir")) {
      throw new FsError("EEXIST", `${to} exists`);
    }
    if (source.name === target.name) return;
    source.dir.current.delete(source.name);
    source.dir.current.set(target.name, node);
    source.dir.pending.push({ kind: "rename", from: source.name, to: target.name, node });
  }

  async unlink(path: string): Promise<void> {
    this.enter("unlink", path);
    const { dir, name } = this.parentOf(path);
    const node = dir.current.get(name);
    if (node === undefined) throw new FsError("ENOENT", path);
    if (node.kind === "dir") throw new FsError("EISDIR", path);
    dir.current.delete(name);
    dir.pending.push({ kind: "delete", name });
  }

  async rmdir(path: string): Promise<void> {
    this.enter("rmdir", path);
    const { dir, name } = this.parentOf(path);
    const node = dir.current.get(name);
    if (node === undefined) throw new FsError("ENOENT", path);
    if (node.kind !== "dir") throw new FsError("ENOTDIR", path);
    if (node.current.size > 0) throw new FsError("ENOTEMPTY", path);
    dir.current.delete(name);
    dir.pending.push({ kind: "delete", name });
  }

  async fsyncDir(path: string): Promise<void> {
    this.enter("fsyncDir", path);
    const node = this.lookup(path);
    if (node === undefined) throw new FsError("ENOENT", path);
    if (node.kind !== "dir") throw new FsError("ENOTDIR", path);
    node.sync();
  }
}

/**
 * One process's view of a `SimDisk` — the `StorageFs` the storage code is given.
 *
 * A crash kills every existing view: any later call through it (or through a file it opened)
 * fails with EIO, as a dead process can do nothing more. Work still in flight in the old
 * process (an abandoned log finishing a roll, say) thus cannot touch the rebooted disk. The
 * next "process" gets a fresh view from `crash()` or `restart()`. Test controls act on the
 * shared disk through any view.
 */
export class SimStorageFs implements StorageFs {
  readonly disk: SimDisk;
  private readonly bornAt: number;

  constructor(disk: SimDisk = new SimDisk()) {
    this.disk = disk;
    this.bornAt = disk.generationNow();
  }

  /** False once a crash happened after this view was made. */
  get alive(): boolean {
    return this.bornAt === this.disk.generationNow();
  }

  private async live(): Promise<void> {
    await Promise.resolve();
    if (!this.alive) throw new FsError("EIO", "this process died in a crash; use the view crash() or restart() returned");
  }

  // ---- StorageFs ---------------------------------------------------------------------------

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    await this.live();
    return this.disk.open(path, mode);
  }

  async stat(path: string): Promise<FileStat | undefined> {
    await this.live();
    return this.disk.stat(path);
  }

  async readdir(dir: string): Promise<string[]> {
    await this.live();
    return this.disk.readdir(dir);
  }

  async mkdir(dir: string): Promise<void> {
    await this.live();
    return this.disk.mkdir(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.live();
    return this.disk.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    await this.live();
    return this.disk.unlink(path);
  }

  async rmdir(dir: string): Promise<void> {
    await this.live();
    return this.disk.rmdir(dir);
  }

  async fsyncDir(dir: string): Promise<void> {
    await this.live();
    return this.disk.fsyncDir(dir);
  }

  // ---- power -------------------------------------------------------------------------------

  /** Power loss (see `SimDisk.crash`); returns the view the next process uses. */
  crash(mode: CrashMode = "drop", random?: SimRandom): SimStorageFs {
    this.disk.crash(mode, random);
    return new SimStorageFs(this.disk);
  }

  /** A fresh view for a new process (after a scheduled crash, or for a second process). */
  restart(): SimStorageFs {
    return new SimStorageFs(this.disk);
  }

  // ---- test controls (the shared disk's) -----------------------------------------------------

  injectFault(fault: SimFault): void {
    this.disk.injectFault(fault);
  }

  clearFaults(): void {
    this.disk.clearFaults();
  }

  scheduleCrash(afterOps: number, mode: CrashMode = "drop", random?: SimRandom): void {
    this.disk.scheduleCrash(afterOps, mode, random);
  }

  cancelScheduledCrash(): void {
    this.disk.cancelScheduledCrash();
  }

  get scheduledCrashHappened(): boolean {
    return this.disk.scheduledCrashHappened;
  }

  get crashableOps(): number {
    return this.disk.crashableOps;
  }

  holdSyncs(): void {
    this.disk.holdSyncs();
  }

  releaseSyncs(): void {
    this.disk.releaseSyncs();
  }

  get heldSyncCount(): number {
    return this.disk.heldSyncCount;
  }

  get openHandleCount(): number {
    return this.disk.openHandleCount;
  }

  get maxOpenHandles(): number {
    return this.disk.maxOpenHandles;
  }

  get counts(): Record<SimFsOp, number> {
    return this.disk.counts;
  }

  resetCounters(): void {
    this.disk.resetCounters();
  }

  corruptByte(path: string, position: number, xor = 0xff): void {
    this.disk.corruptByte(path, position, xor);
  }

  cutFile(path: string, sizeBytes: number): void {
    this.disk.cutFile(path, sizeBytes);
  }

  durableContent(path: string): Buffer | undefined {
    return this.disk.durableContent(path);
  }

  content(path: string): Buffer {
    return this.disk.content(path);
  }
}
