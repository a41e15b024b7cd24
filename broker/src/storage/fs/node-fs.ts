/**
 * The real `StorageFs` over `node:fs`, using the callback API (one libuv threadpool round trip
 * per call, no FileHandle bookkeeping). Positional reads and writes only: no file offsets are
 * shared between callers.
 */
import * as fs from "node:fs";
import { FsError, type FileStat, type OpenMode, type StorageFile, type StorageFs } from "./storage-fs.js";

const openFlags: Record<OpenMode, number> = {
  read: fs.constants.O_RDONLY,
  write: fs.constants.O_RDWR,
  create: fs.constants.O_RDWR | fs.constants.O_CREAT,
};

function call<T>(fn: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
}

function callVoid(fn: (done: (error: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    fn((error) => (error ? reject(error) : resolve()));
  });
}

class NodeFile implements StorageFile {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return call<number>((done) => fs.read(this.fd, buffer, offset, length, position, done));
  }

  async write(buffers: readonly Buffer[], position: number): Promise<void> {
    let pending = buffers.filter((b) => b.byteLength > 0);
    let at = position;
    while (pending.length > 0) {
      const written = await call<number>((done) => fs.writev(this.fd, pending, at, done));
      if (written <= 0) throw new FsError("EIO", `writev to ${this.path} wrote ${written} bytes`);
      at += written;
      // A short write (rare: signals, quotas) continues with the unwritten tail.
      let skip = written;
      const rest: Buffer[] = [];
      for (const b of pending) {
        if (skip >= b.byteLength) {
          skip -= b.byteLength;
        } else {
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      pending = rest;
    }
  }

  datasync(): Promise<void> {
    return callVoid((done) => fs.fdatasync(this.fd, done));
  }

  truncate(sizeBytes: number): Promise<void> {
    return callVoid((done) => fs.ftruncate(this.fd, sizeBytes, done));
  }

  async size(): Promise<number> {
    const stat = await call<fs.Stats>((done) => fs.fstat(this.fd, done));
    return stat.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await callVoid((done) => fs.close(this.fd, done));
  }
}

export class NodeStorageFs implements StorageFs {
  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    const fd = await call<number>((done) => fs.open(path, openFlags[mode], 0o644, done));
    return new NodeFile(path, fd);
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const stat = await call<fs.Stats>((done) => fs.stat(path, done));
      return { sizeBytes: stat.size, isDirectory: stat.isDirectory() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  readdir(dir: string): Promise<string[]> {
    return call<string[]>((done) => fs.readdir(dir, done));
  }

  async mkdir(dir: string): Promise<void> {
    await call<string | undefined>((done) => fs.mkdir(dir, { recursive: true }, done));
  }

  rename(from: string, to: string): Promise<void> {
    return callVoid((done) => fs.rename(from, to, done));
  }

  unlink(path: string): Promise<void> {
    return callVoid((done) => fs.unlink(path, done));
  }

  rmdir(dir: string): Promise<void> {
    return callVoid((done) => fs.rmdir(dir, done));
  }

  async fsyncDir(dir: string): Promise<void> {
    const fd = await call<number>((done) => fs.open(dir, fs.constants.O_RDONLY, done));
    try {
      await callVoid((done) => fs.fsync(fd, done));
    } finally {
      await callVoid((done) => fs.close(fd, done));
    }
  }
}
