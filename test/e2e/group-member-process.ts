/**
 * A consumer-group member as its own process, for consumer-group.e2e.test.ts: joins a group
 * with the SDK's GroupConsumer and reports what happens as JSON lines on stdout:
 *
 *   {"e":"ready","name":..,"memberId":..,"t":..}            subscribed
 *   {"e":"assigned","p":[..],"t":..}                         onAssigned began (ownership may start)
 *   {"e":"revoked","p":[..],"t":..} / {"e":"lost",...}       the callback finished (ownership over)
 *   {"e":"records","r":[[partition,offset],..],"t":..}       records processed, flushed in groups
 *   {"e":"closed","t":..}                                    left the group after SIGTERM
 *
 * Times are Date.now() on the one test machine, so events of different processes compare.
 * Usage: node --conditions=source --import tsx test/e2e/group-member-process.ts '<json options>'
 * with { bootstrap, groupId, topic, name, sessionTimeoutMs, autoCommitIntervalMs }.
 */
import { GroupConsumer, type TopicPartition } from "@sluice/client";

interface Options {
  readonly bootstrap: string;
  readonly groupId: string;
  readonly topic: string;
  readonly name: string;
  readonly sessionTimeoutMs: number;
  readonly autoCommitIntervalMs: number;
}

/** Records are reported in groups so a busy member does not write a line per record. */
const RECORDS_PER_LINE_MAX = 200;

const options = JSON.parse(process.argv[2] ?? "{}") as Options;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...event, name: options.name, t: Date.now() })}\n`);
}

const partitions = (list: TopicPartition[]): number[] => list.map((tp) => tp.partition);
let processed: [number, number][] = [];
const flush = (): void => {
  if (processed.length === 0) return;
  emit({ e: "records", r: processed });
  processed = [];
};

const consumer = new GroupConsumer({
  bootstrap: options.bootstrap,
  groupId: options.groupId,
  clientId: options.name,
  autoOffsetReset: "earliest",
  sessionTimeoutMs: options.sessionTimeoutMs,
  autoCommitIntervalMs: options.autoCommitIntervalMs,
  maxWaitMs: 100,
  onAssigned: (list) => emit({ e: "assigned", p: partitions(list) }),
  onRevoked: (list) => {
    flush();
    emit({ e: "revoked", p: partitions(list) });
  },
  onLost: (list) => {
    flush();
    emit({ e: "lost", p: partitions(list) });
  },
});

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void consumer.close().then(() => {
    flush();
    emit({ e: "closed" });
    process.exit(0);
  });
});

const flushTimer = setInterval(flush, 50);
consumer.subscribe({ topics: [options.topic] });
emit({ e: "ready", memberId: consumer.memberId });
try {
  for await (const record of consumer) {
    processed.push([record.partition, record.offset]);
    if (processed.length >= RECORDS_PER_LINE_MAX) flush();
  }
} catch (error) {
  emit({ e: "error", message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
} finally {
  clearInterval(flushTimer);
  flush();
}
