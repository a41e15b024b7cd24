/**
 * The file-system interface storage is written against (STYLE.md habit 2: disk is injected).
 * `NodeStorageFs` (node-fs.ts) is the real one; `SimStorageFs` (sim-fs.ts) is an in-memory disk
 * that knows which bytes and directory entries are durable and can crash.
 *
 * Contract, as on Linux:
 * - `write` puts bytes in the file (visible to reads at once) but not on disk; `datasync`
 *   makes the file's bytes and size durable.
 * - Creating, renaming or unlinking a name is durable only after `fsyncDir` of its directory.
 * - `rename` atomically replaces an existing target file.
 * - A file stays readable through an open handle after its name is unlinked.
 * Failures reject with an `Error` carrying an errno-style `code` (`ENOENT`, `EEXIST`, `EIO`,
 * `ENOSPC`, ...); callers turn them into `StorageError`.
 */

/**
 * `read`: must exist, read-only. `write`: must exist, read-write.
 * `create`: read-write, created empty if missing (never truncated).
 */
export type OpenMode = "read" | "write" | "create";

export interface StorageFile {
  readonly path: string;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; fewer only at end of file. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes every byte of `buffers`, in order, starting at `position`. */
  write(buffers: readonly Buffer[], position: number): Promise<void>;
  datasync(): Promise<void>;
  truncate(sizeBytes: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface FileStat {
  readonly sizeBytes: number;
  readonly isDirectory: boolean;
}

export interface StorageFs {
  open(path: string, mode: OpenMode): Promise<StorageFile>;
  /** `undefined` when nothing exists at `path`. */
  stat(path: string): Promise<FileStat | undefined>;
  readdir(dir: string): Promise<string[]>;
  /** Creates the directory and missing parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(dir: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

/** An errno-style failure, thrown by the simulated file system and recognised for real ones. */
export class FsError extends Error {
  readonly code: string;
  constructor(code: string, detail: string) {
    super(`${code}: ${detail}`);
    this.name = "FsError";
    this.code = code;
  }
}

/** The errno code (`ENOENT`, ...) of a file-system failure, if it has one. */
export function fsErrorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return fsErrorCode(error) === "ENOENT";
}

/** Joins a directory and a name with `/` (storage paths are POSIX). */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

/**
 * Runs `fn` on `path` opened with `mode`. Storage passes its `FileHandlePool` here so that even
 * short-lived files (checkpoints) count against the open-file bound; `directOpener` opens and
 * closes around the call.
 */
export type Opener = <T>(path: string, mode: OpenMode, fn: (file: StorageFile) => Promise<T>) => Promise<T>;

export function directOpener(fs: StorageFs): Opener {
  return async (path, mode, fn) => {
    const file = await fs.open(path, mode);
    try {
      return await fn(file);
    } finally {
      await file.close();
    }
  };
}

/** Reads a whole (small) file; `undefined` when missing. */
export async function readWholeFile(fs: StorageFs, path: string, maxBytes: number, open: Opener = directOpener(fs)): Promise<Buffer | undefined> {
  try {
    return await open(path, "read", async (file) => {
      const size = await file.size();
      if (size > maxBytes) throw new FsError("EFBIG", `${path} is ${size} bytes, more than ${maxBytes}`);
      const buffer = Buffer.allocUnsafe(size);
      let done = 0;
      while (done < size) {
        const n = await file.read(buffer, done, size - done, done);
        if (n === 0) break;
        done += n;
      }
      return buffer.subarray(0, done);
    });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Replaces `dir/name` with `bytes` atomically and durably: write `name.tmp`, fdatasync it,
 * rename over `name`, fsync the directory. A crash leaves either the old or the new content.
 */
export async function writeFileAtomic(fs: StorageFs, dir: string, name: string, bytes: Buffer, open: Opener = directOpener(fs)): Promise<void> {
  const tmpPath = joinPath(dir, `${name}.tmp`);
  await open(tmpPath, "create", async (file) => {
    await file.truncate(0);
    await file.write([bytes], 0);
    await file.datasync();
  });
  await fs.rename(tmpPath, joinPath(dir, name));
  await fs.fsyncDir(dir);
}

/** Unlinks `path`; no error if it is already gone. Returns whether it existed. */
export async function unlinkIfExists(fs: StorageFs, path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** The directory holding `path` ("/" for top-level paths, "." for bare names). */
export function parentDir(path: string): string {
  const trimmed = path.endsWith("/") && path.length > 1 ? path.slice(0, -1) : path;
  const at = trimmed.lastIndexOf("/");
  if (at < 0) return ".";
  if (at === 0) return "/";
  return trimmed.slice(0, at);
}

/**
 * Creates `dir` and any missing parents, and makes every new name durable (each created
 * directory's parent is fsynced). Returns whether `dir` was created.
 */
export async function mkdirDurable(fs: StorageFs, dir: string): Promise<boolean> {
  const missing: string[] = [];
  let probe = dir;
  while ((await fs.stat(probe)) === undefined) {
    missing.push(probe);
    const up = parentDir(probe);
    if (up === probe) break;
    probe = up;
  }
  if (missing.length === 0) return false;
  await fs.mkdir(dir);
  // Outermost first: a name is durable only once its parent's entry is.
  for (const created of missing.reverse()) await fs.fsyncDir(parentDir(created));
  return true;
}
