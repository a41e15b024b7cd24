/**
 * The idle-cost floor for `npm run bench -- raft`: three brokers' worth of pure Raft cores
 * (`groups` groups each, leadership spread like the real run) exchanging every tick's
 * heartbeats in memory through coalesceOutbox / expandEnvelope - no driver, sockets, codec,
 * timers or disk. Whatever the real brokers spend per tick above this is the runtime's cost;
 * this much is the core's (tick, heartbeat, step, ready, advance per group).
 */
import { coalesceOutbox, expandEnvelope, asGroupId, type GroupMessage } from "../../broker/src/raft/core/multi-group.js";
import { Raft } from "../../broker/src/raft/core/raft.js";
import { SeededRandom } from "../../broker/src/raft/core/random.js";
import { MemoryStorage } from "../../broker/src/raft/core/storage.js";
import type { NodeId } from "../../broker/src/raft/core/types.js";

const IDS = [1, 2, 3] as NodeId[];

interface Replica {
  readonly raft: Raft;
  readonly storage: MemoryStorage;
}

/** One broker's groups, by group index. */
type Broker = Replica[];

function drain(brokers: readonly Broker[]): number {
  let delivered = 0;
  for (let round = 0; round < 50; round++) {
    const outboxes: GroupMessage[][] = brokers.map(() => []);
    brokers.forEach((broker, b) => {
      broker.forEach((replica, g) => {
        const { raft, storage } = replica;
        if (!raft.hasReady()) return;
        const rd = raft.ready();
        if (rd.snapshot !== null) storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) storage.append(rd.entries);
        if (rd.hardState !== null) storage.setHardState(rd.hardState);
        for (const message of rd.messages) (outboxes[b] as GroupMessage[]).push({ group: asGroupId(g), message });
        raft.advance();
      });
    });
    let moved = 0;
    outboxes.forEach((outbox, b) => {
      for (const envelope of coalesceOutbox(IDS[b] as NodeId, outbox)) {
        const target = brokers[envelope.to - 1] as Broker;
        for (const { group, message } of expandEnvelope(envelope)) {
          (target[group] as Replica).raft.step(message);
          moved++;
        }
      }
    });
    delivered += moved;
    if (moved === 0) return delivered;
  }
  return delivered;
}

/** CPU milliseconds one broker's cores spend per tick with `groups` idle groups (averaged over `ticks`). */
export function coreFloorMsPerTick(groups: number, ticks: number): number {
  const brokers: Broker[] = IDS.map((id) =>
    Array.from({ length: groups }, (_, g) => {
      const storage = new MemoryStorage({ voters: IDS, learners: [] });
      return { storage, raft: new Raft({ id, storage, random: new SeededRandom(id * 1_000_003 + g) }) };
    }),
  );
  for (let g = 0; g < groups; g++) (brokers[g % 3] as Broker)[g]!.raft.campaign();
  drain(brokers);
  // Commit indexes travel with heartbeats: a few ticks to reach the steady state.
  const tickAll = (): void => {
    for (const broker of brokers) for (const replica of broker) replica.raft.tick();
    drain(brokers);
  };
  for (let i = 0; i < 3; i++) tickAll();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ticks; i++) tickAll();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / ticks / IDS.length;
}
