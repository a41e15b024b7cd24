/**
 * The simulated network between replicas: per-message delay (with occasional spikes, which
 * reorder messages), drops, duplicates, and partitions as a matrix of blocked directed links
 * (full, split and asymmetric partitions are all patterns in that matrix). The network
 * decides a message's fate when it is sent; a link blocked at delivery time also drops it.
 *
 * Invariants: every decision draws from the simulation's seeded Random, so a seed replays
 * the same fates; messages are delivered as the same immutable object (duplicates too).
 */
import type { Random } from "../core/random.js";

export interface NetworkConditions {
  dropRate: number;
  duplicateRate: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that a message is delayed by up to spikeMaxMs more (reordering it). */
  spikeRate: number;
  spikeMaxMs: number;
}

export const calmNetwork: NetworkConditions = {
  dropRate: 0,
  duplicateRate: 0,
  delayMinMs: 1,
  delayMaxMs: 5,
  spikeRate: 0,
  spikeMaxMs: 0,
};

export class SimNetwork {
  conditions: NetworkConditions = calmNetwork;
  private readonly blocked: Uint8Array;
  /** Nodes cut off from everyone (independent of the link matrix, so isolations can overlap). */
  private readonly isolated: Uint8Array;
  private readonly size: number;
  dropped = 0;
  duplicated = 0;

  /** `size` is the largest node id + 1. */
  constructor(size: number) {
    this.size = size;
    this.blocked = new Uint8Array(size * size);
    this.isolated = new Uint8Array(size);
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked[from * this.size + to] === 1 || this.isolated[from] === 1 || this.isolated[to] === 1;
  }

  /** Cuts `node` off from every other node until rejoin(node). */
  isolate(node: number): void {
    this.isolated[node] = 1;
  }

  rejoin(node: number): void {
    this.isolated[node] = 0;
  }

  block(from: number, to: number): void {
    this.blocked[from * this.size + to] = 1;
  }

  /** Cuts every link between `group` and everyone else, both ways. */
  isolateGroup(group: readonly number[], everyone: readonly number[]): void {
    for (const a of group) {
      for (const b of everyone) {
        if (group.includes(b)) continue;
        this.block(a, b);
        this.block(b, a);
      }
    }
  }

  healAll(): void {
    this.blocked.fill(0);
    this.isolated.fill(0);
  }

  anyBlocked(): boolean {
    return this.blocked.includes(1) || this.isolated.includes(1);
  }

  /**
   * Decides the fate of a message sent now: returns 0, 1 or 2 delivery delays (ms) written
   * into `out`. Dropped messages get none.
   */
  fate(from: number, to: number, random: Random, out: number[]): number {
    if (this.isBlocked(from, to)) {
      this.dropped++;
      return 0;
    }
    const c = this.conditions;
    if (c.dropRate > 0 && random.nextFloat() < c.dropRate) {
      this.dropped++;
      return 0;
    }
    out[0] = this.delay(random);
    if (c.duplicateRate > 0 && random.nextFloat() < c.duplicateRate) {
      this.duplicated++;
      out[1] = this.delay(random);
      return 2;
    }
    return 1;
  }

  private delay(random: Random): number {
    const c = this.conditions;
    let d = c.delayMinMs + random.nextFloat() * (c.delayMaxMs - c.delayMinMs);
    if (c.spikeRate > 0 && random.nextFloat() < c.spikeRate) d += random.nextFloat() * c.spikeMaxMs;
    return d;
  }
}
