// Proves both StorageFs implementations keep the same contract (positional I/O, atomic rename, durable mkdir, typed errno failures), so tests on the simulated disk speak for the real one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NodeStorageFs } from "./node-fs.js";
import { SimStorageFs } from "./sim-fs.js";
import { fsErrorCode, isNotFound, mkdirDurable, parentDir, readWholeFile, unlinkIfExists, writeFileAtomic, type StorageFs } from "./storage-fs.js";

const realRoot = mkdtempSync(join(tmpdir(), "sluice-fs-contract-"));
afterAll(() => rmSync(realRoot, { recursive: true, force: true }));

const implementations: Array<[string, () => { fs: StorageFs; root: string }]> = [
  ["NodeStorageFs", () => ({ fs: new NodeStorageFs(), root: mkdtempSync(join(realRoot, "case-")) })],
  ["SimStorageFs", () => ({ fs: new SimStorageFs(), root: "/sim/root" })],
];

describe.each(implementations)("%s contract", (_name, make) => {
  it("writes and reads at positions, reports size, truncates", async () => {
    const { fs, root } = make();
    await fs.mkdir(root);
    const file = await fs.open(`${root}/a`, "create");
    await file.write([Buffer.from("hello "), Buffer.from("world")], 0);
    await file.write([Buffer.from("W")], 6);
    expect(await file.size()).toBe(11);
    const buf = Buffer.alloc(20);
    expect(await file.read(buf, 2, 5, 6)).toBe(5);
    expect(buf.subarray(2, 7).toString()).toBe("World");
    expect(await file.read(buf, 0, 10, 11)).toBe(0);
    await file.truncate(5);
    await file.datasync();
    expect(await file.size()).toBe(5);
    await file.close();
    expect((await readWholeFile(fs, `${root}/a`, 100))?.toString()).toBe("hello");
  });

  it("'create' never truncates, 'write' and 'read' need the file", async () => {
    const { fs, root } = make();
    await fs.mkdir(root);
    const a = await fs.open(`${root}/f`, "create");
    await a.write([Buffer.from("abc")], 0);
    await a.close();
    const b = await fs.open(`${root}/f`, "create");
    expect(await b.size()).toBe(3);
    await b.close();
    const missing = await fs.open(`${root}/nope`, "write").catch((e: unknown) => e);
    expect(isNotFound(missing)).toBe(true);
    expect(fsErrorCode(await fs.open(`${root}/nope`, "read").catch((e: unknown) => e))).toBe("ENOENT");
  });

  it("renames over an existing file, unlinks, lists, stats and removes directories", async () => {
    const { fs, root } = make();
    await mkdirDurable(fs, `${root}/sub/deeper`);
    await writeFileAtomic(fs, `${root}/sub`, "x", Buffer.from("one"));
    await writeFileAtomic(fs, `${root}/sub`, "x", Buffer.from("two"));
    expect((await readWholeFile(fs, `${root}/sub/x`, 10))?.toString()).toBe("two");
    expect((await fs.readdir(`${root}/sub`)).sort()).toEqual(["deeper", "x"]);
    expect(await fs.stat(`${root}/sub/x`)).toEqual({ sizeBytes: 3, isDirectory: false });
    expect((await fs.stat(`${root}/sub/deeper`))?.isDirectory).toBe(true);
    expect(await fs.stat(`${root}/sub/none`)).toBeUndefined();
    expect(await unlinkIfExists(fs, `${root}/sub/x`)).toBe(true);
    expect(await unlinkIfExists(fs, `${root}/sub/x`)).toBe(false);
    await fs.rmdir(`${root}/sub/deeper`);
    expect(await fs.readdir(`${root}/sub`)).toEqual([]);
    await fs.fsyncDir(`${root}/sub`);
  });

  it("keeps an unlinked file readable through a handle opened before", async () => {
    const { fs, root } = make();
    await fs.mkdir(root);
    const file = await fs.open(`${root}/gone`, "create");
    await file.write([Buffer.from("still here")], 0);
    await fs.unlink(`${root}/gone`);
    const buf = Buffer.alloc(10);
    expect(await file.read(buf, 0, 10, 0)).toBe(10);
    expect(buf.toString()).toBe("still here");
    await file.close();
  });
});

describe("parentDir", () => {
  it("finds the directory of a path", () => {
    expect(parentDir("/a/b/c")).toBe("/a/b");
    expect(parentDir("/a")).toBe("/");
    expect(parentDir("a")).toBe(".");
    expect(parentDir("/a/b/")).toBe("/a");
  });
});
