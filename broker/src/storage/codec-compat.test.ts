// Proves storage keeps batches from the real record codec byte-exact: encoded batches (plain and compressed) are stamped, stored and read back, and decode to the same records at the offsets the log assigned.
import { CompressionCodec, decodeRecordBatches, encodeRecordBatch } from "@sluice/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import { logConfig } from "./config.js";
import { SimStorageFs } from "./fs/sim-fs.js";
import { PartitionLog } from "./partition-log.js";

describe("storage with the record codec", () => {
  it("stores codec batches unchanged except for the stamped offset and epoch, and they decode at their offsets", async () => {
    const log = await PartitionLog.open({ fs: new SimStorageFs(), dir: "/d/t-0", clock: new ManualClock(), config: logConfig({ segmentBytes: 500 }) });
    const sent: Array<{ key: string; value: string }> = [];
    for (let b = 0; b < 12; b++) {
      const records = Array.from({ length: 1 + (b % 4) }, (_, i) => ({ key: `k${b}-${i}`, value: `value ${b}/${i} `.repeat(5) }));
      sent.push(...records);
      const batch = encodeRecordBatch({
        records: records.map((r) => ({ key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: 1_700_000_000_000 + b })),
        compression: b % 3 === 0 ? CompressionCodec.none : b % 3 === 1 ? CompressionCodec.gzip : CompressionCodec.snappy,
      });
      await log.append(batch, 4);
    }
    const decoded = [];
    let offset = 0;
    while (offset < log.logEndOffset) {
      const result = await log.read(offset, 700);
      for (const batch of decodeRecordBatches(result.records)) {
        expect(batch.header.partitionLeaderEpoch).toBe(4);
        decoded.push(...batch.records);
      }
      offset = result.nextOffset;
    }
    expect(decoded.map((r) => r.offset)).toEqual(sent.map((_, i) => i));
    expect(decoded.map((r) => ({ key: r.key?.toString(), value: r.value?.toString() }))).toEqual(sent);
    expect(log.segmentCount).toBeGreaterThan(1);
  });
});
