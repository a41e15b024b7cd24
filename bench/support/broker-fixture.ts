/**
 * Shared by the broker benchmarks (produce, consume, latency): a real broker process on loopback
 * in a temp data dir (default fsync policy unless told otherwise), its Prometheus metrics read
 * back as numbers, and the workload's record payloads.
 */
import { Admin } from "@sluice/client";
import { removeDataDir, startBrokerProcess, type BrokerProcess } from "../../test/e2e/broker-process.js";

export interface BenchBroker {
  readonly process: BrokerProcess;
  readonly bootstrap: string;
  /** Sum of a metric's samples whose labels include every given label. */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number>;
  /** CPU seconds (user + system) the broker process has used so far (its prom-client process metric). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

export async function startBenchBroker(options: { readonly fsync?: string } = {}): Promise<BenchBroker> {
  const args = options.fsync === undefined ? [] : ["--fsync", options.fsync];
  // BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" profiles the broker process.
  const nodeArgs = (process.env["BENCH_BROKER_NODE_ARGS"] ?? "").split(" ").filter((a) => a.length > 0);
  const broker = await startBrokerProcess({ args: [...args, "--log-level", "warn"], nodeArgs });
  const metric = async (name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const match = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
      if (match === null || match[1] !== name) continue;
      const have = new Map((match[3] ?? "").split(",").filter(Boolean).map((kv) => {
        const eq = kv.indexOf("=");
        return [kv.slice(0, eq), kv.slice(eq + 2, -1)] as const;
      }));
      if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(match[4]);
    }
    return sum;
  };
  return {
    process: broker,
    bootstrap: broker.bootstrap,
    metric,
    cpuSeconds: () => metric("sluice_process_process_cpu_seconds_total"),
    async stop() {
      await broker.stop();
      await removeDataDir(broker.dataDir);
    },
  };
}

export async function createBenchTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrap });
  try {
    await admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
}

/** 1 KiB values that do not compress to nothing (the benchmark sends them uncompressed anyway). */
export function recordValue(bytes: number, seed: number): Buffer {
  const value = Buffer.allocUnsafe(bytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    value[i] = x & 0xff;
  }
  return value;
}
