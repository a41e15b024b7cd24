// Proves the batch walker finds every batch whatever the chunk size, and stops with "torn" at a cut and "bad" at garbage, never reading past the end it was given.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { walkBatches, type WalkItem } from "./batch-scan.js";
import { batchesIn, buildTestBatch, stampedCopy } from "./testing/batch-builder.js";

function fileOf(bytes: Buffer): (buf: Buffer, off: number, len: number, pos: number) => Promise<number> {
  return async (buf, off, len, pos) => {
    const n = Math.max(0, Math.min(len, bytes.byteLength - pos));
    bytes.copy(buf, off, pos, pos + n);
    return n;
  };
}

async function walk(bytes: Buffer, chunkBytes: number, withBodies: boolean, to = bytes.byteLength): Promise<WalkItem[]> {
  const items: WalkItem[] = [];
  for await (const item of walkBatches(fileOf(bytes), { from: 0, to, chunkBytes, withBodies })) {
    items.push(item.kind === "batch" && item.bytes !== undefined ? { ...item, bytes: Buffer.from(item.bytes) } : item);
  }
  return items;
}

const logArb = fc.array(fc.record({ records: fc.integer({ min: 1, max: 4 }), valueBytes: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 12 }).map((specs) => {
  let offset = 0;
  return Buffer.concat(
    specs.map((s, i) => {
      const b = stampedCopy(buildTestBatch({ ...s, seed: i }), offset, 1);
      offset += s.records;
      return b;
    }),
  );
});

describe("walkBatches", () => {
  it("finds every batch, with or without bodies, for any chunk size", async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.integer({ min: 1, max: 2000 }), fc.boolean(), async (log, chunk, bodies) => {
        const items = await walk(log, chunk, bodies);
        const expected = batchesIn(log);
        expect(items.map((i) => (i.kind === "batch" ? i.batch.baseOffset : i.kind))).toEqual(expected.map((b) => b.baseOffset));
        if (bodies) expect(Buffer.concat(items.map((i) => (i.kind === "batch" ? (i.bytes as Buffer) : Buffer.alloc(0)))).equals(log)).toBe(true);
      }),
    );
  });

  it("reports a cut as torn and garbage as bad, after the whole batches before them", async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.integer({ min: 1, max: 2000 }), fc.nat(), async (log, chunk, cutSeed) => {
        const sizes = batchesIn(log).map((b) => b.sizeBytes);
        const cut = 1 + (cutSeed % (log.byteLength - 1));
        const items = await walk(log.subarray(0, cut), chunk, true);
        let whole = 0;
        let end = 0;
        while (whole < sizes.length && end + (sizes[whole] as number) <= cut) end += sizes[whole++] as number;
        expect(items.filter((i) => i.kind === "batch")).toHaveLength(whole);
        if (end < cut) expect(items.at(-1)).toMatchObject({ kind: "torn", position: end });
        const garbage = await walk(Buffer.concat([log.subarray(0, end), Buffer.alloc(100, 0)]), chunk, false);
        expect(garbage.at(-1)).toMatchObject({ kind: "bad", position: end });
      }),
    );
  });
});
