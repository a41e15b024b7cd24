// Proves that pipelined produce (maxInFlightPerPartition > 1 on an ordered ProduceStream) keeps
// every partition's acknowledged records in send order in the log, across retries, for random
// schedules of partition failures in request k while later requests are in flight, streams
// broken mid-pipeline, lost answers and out-of-order answers; and that it really pipelines.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SluiceError } from "@sluice/protocol";
import { Producer, type RecordMetadata } from "./producer.js";
import { FaultBroker } from "./testing/fault-broker.js";

const PARTITIONS = 3;

/** What the broker does with the n-th Produce request of a run (later requests: answered, no faults). */
interface RequestFault {
  readonly answer: "answer" | "drop" | "break";
  readonly delayMs: number;
  /** Partitions that fail in this request (nothing appended), with which retriable error. */
  readonly fail: readonly { readonly partition: number; readonly error: "NOT_LEADER_OR_FOLLOWER" | "REQUEST_TIMED_OUT" | "CORRUPT_MESSAGE" }[];
}

const requestFault: fc.Arbitrary<RequestFault> = fc.record({
  answer: fc.constantFrom("answer", "answer", "answer", "answer", "answer", "answer", "drop", "break"),
  delayMs: fc.integer({ min: 0, max: 12 }),
  fail: fc.array(
    fc.record({ partition: fc.integer({ min: 0, max: PARTITIONS - 1 }), error: fc.constantFrom("NOT_LEADER_OR_FOLLOWER" as const, "REQUEST_TIMED_OUT" as const, "CORRUPT_MESSAGE" as const) }),
    { maxLength: 2 },
  ),
});

let broker: FaultBroker;
let run = 0;
beforeAll(async () => {
  broker = await FaultBroker.start({});
});
afterAll(async () => {
  await broker.stop();
});

interface RunStats {
  pipelined: number;
}

/** Sends `partitions[i]`-addressed records in small waves under `plan`; returns each record's acknowledgement. */
async function produceUnder(plan: readonly RequestFault[], partitions: readonly number[], stats: RunStats): Promise<{ topic: string; acks: RecordMetadata[]; values: string[] }> {
  const topic = `pipeline-${run++}`;
  broker.createTopic(topic, { partitions: PARTITIONS });
  let request = -1;
  let current: RequestFault | undefined;
  const answerAt = new Map<number, number>();
  broker.faults.produceAnswer = (req) => {
    if (req.topics[0]?.topic !== topic) return "answer";
    request++;
    current = plan[request];
    const now = Date.now();
    const delayMs = current?.delayMs ?? 0;
    for (const p of req.topics[0].partitions) {
      if ((answerAt.get(p.partition) ?? 0) > now) stats.pipelined++;
      answerAt.set(p.partition, now + delayMs);
    }
    return current?.answer ?? "answer";
  };
  broker.faults.produceDelayMs = () => current?.delayMs ?? 0;
  broker.faults.produce = (t, partition) => {
    if (t !== topic) return undefined;
    const fault = current?.fail.find((f) => f.partition === partition);
    return fault === undefined ? undefined : new SluiceError(fault.error);
  };
  const producer = new Producer({
    bootstrap: broker.bootstrap,
    maxInFlightPerPartition: 4,
    maxInFlightRequestsPerBroker: 16,
    batchBytes: 61 + 3 * 60,
    maxRequestBytes: 600,
    lingerMs: 0,
    requestTimeoutMs: 150,
    deliveryTimeoutMs: 60_000,
    retry: { backoffMs: 1, backoffMaxMs: 5 },
  });
  try {
    const values = partitions.map((p, i) => `${p}:${String(i).padStart(4, "0")}`);
    const sent: Promise<RecordMetadata>[] = [];
    for (const [i, p] of partitions.entries()) {
      sent.push(producer.send({ topic, partition: p, value: values[i]! }));
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const acks = await Promise.all(sent);
    return { topic, acks, values };
  } finally {
    broker.faults.produceAnswer = undefined;
    broker.faults.produce = undefined;
    broker.faults.produceDelayMs = undefined;
    await producer.close(1_000);
  }
}

/** Per partition: acknowledged offsets rise in send order and hold the record; first copies in the log are in send order. */
function expectOrdered(topic: string, partitions: readonly number[], values: readonly string[], acks: readonly RecordMetadata[]): void {
  for (let p = 0; p < PARTITIONS; p++) {
    const sentHere = partitions.flatMap((q, i) => (q === p ? [i] : []));
    const log = broker.records(topic, p);
    const byOffset = new Map(log.map((r) => [r.offset, r.value]));
    let last = -1;
    for (const i of sentHere) {
      const ack = acks[i]!;
      expect(ack.partition).toBe(p);
      expect(ack.offset).toBeGreaterThan(last);
      expect(byOffset.get(ack.offset)).toBe(values[i]);
      last = ack.offset;
    }
    const seen = new Set<string | null>();
    const firstCopies = log.filter((r) => !seen.has(r.value) && seen.add(r.value) !== undefined).map((r) => r.value);
    expect(firstCopies).toEqual(sentHere.map((i) => values[i]));
  }
}

describe("pipelined produce", () => {
  it("keeps per-partition order of acknowledged records for random failure schedules", async () => {
    const stats: RunStats = { pipelined: 0 };
    const refusedBefore = broker.poisonedRefusals;
    await fc.assert(
      fc.asyncProperty(fc.array(requestFault, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 0, max: PARTITIONS - 1 }), { minLength: 20, maxLength: 80 }), async (plan, partitions) => {
        const { topic, acks, values } = await produceUnder(plan, partitions, stats);
        expectOrdered(topic, partitions, values, acks);
      }),
      { numRuns: 25, seed: 20261124 },
    );
    // The schedules did exercise what they are about: several sends of a partition in flight,
    // and later requests refused because an earlier one failed on the same ordered stream.
    expect(stats.pipelined).toBeGreaterThan(0);
    expect(broker.poisonedRefusals).toBeGreaterThan(refusedBefore);
    expect(broker.orderedStreams).toBeGreaterThan(0);
  }, 60_000);

  it("fails a partition in request k while later requests are in flight, and resends them all in order", async () => {
    const stats: RunStats = { pipelined: 0 };
    const refusedBefore = broker.poisonedRefusals;
    // Request 0 is answered late, request 1 fails partition 0; requests 2.. are already in flight.
    const plan: RequestFault[] = [
      { answer: "answer", delayMs: 20, fail: [] },
      { answer: "answer", delayMs: 20, fail: [{ partition: 0, error: "NOT_LEADER_OR_FOLLOWER" }] },
      ...Array.from({ length: 6 }, () => ({ answer: "answer" as const, delayMs: 20, fail: [] })),
    ];
    const partitions = Array.from({ length: 60 }, () => 0);
    const { topic, acks, values } = await produceUnder(plan, partitions, stats);
    expectOrdered(topic, partitions, values, acks);
    expect(stats.pipelined).toBeGreaterThan(0);
    expect(broker.poisonedRefusals).toBeGreaterThan(refusedBefore);
  });
});
