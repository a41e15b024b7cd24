// Proves the operator's command line: the chart's flags parse (both --flag=value and --flag value),
// defaults hold, leader election needs a namespace and consistent timings, and every bad value is
// an OperatorConfigError naming the flag.
import { describe, expect, it } from "vitest";
import { parseCommandLine, type OperatorConfig } from "./config.js";
import { OperatorConfigError } from "./errors.js";

function config(argv: string[], env: Record<string, string> = {}): OperatorConfig {
  const parsed = parseCommandLine(argv, env, "host-1");
  if (parsed.kind !== "run") throw new Error(`expected run, got ${parsed.kind}`);
  return parsed.config;
}

function refused(argv: string[], env: Record<string, string> = {}): OperatorConfigError {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    if (error instanceof OperatorConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

describe("parseCommandLine", () => {
  it("accepts what the chart passes", () => {
    const c = config(
      ["--metrics-port=8080", "--log-level=info", "--default-broker-image=registry.example/sluice:0.1.0", "--leader-elect", "--leader-election-namespace=sluice-system", "--leader-election-id=sluice-operator", "--watch-namespaces=a,b"],
      { POD_NAME: "sluice-operator-abc" },
    );
    expect(c).toMatchObject({
      metricsPort: 8080,
      logLevel: "info",
      defaultBrokerImage: "registry.example/sluice:0.1.0",
      watchNamespaces: ["a", "b"],
      identity: "sluice-operator-abc",
      leaderElection: { namespace: "sluice-system", name: "sluice-operator", leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
    });
  });

  it("has defaults and takes space-separated values and repeated overrides", () => {
    const c = config(["--workers", "8", "--bootstrap-override", "ns/events=127.0.0.1:9092", "--bootstrap-override=other=[::1]:9093"]);
    expect(c).toMatchObject({ metricsPort: 8080, metricsHost: "0.0.0.0", workers: 8, leaderElection: undefined, watchNamespaces: [], identity: "host-1", resyncPeriodSeconds: 300 });
    expect(c.bootstrapOverrides).toEqual([
      { namespace: "ns", cluster: "events", address: "127.0.0.1:9092" },
      { namespace: undefined, cluster: "other", address: "[::1]:9093" },
    ]);
  });

  it("takes the Lease namespace from POD_NAMESPACE and refuses leader election without one", () => {
    expect(config(["--leader-elect"], { POD_NAMESPACE: "ops" }).leaderElection?.namespace).toBe("ops");
    expect(refused(["--leader-elect"]).flag).toBe("--leader-election-namespace");
  });

  it("names the flag in every refusal", () => {
    expect(refused(["--metrics-port=70000"]).flag).toBe("--metrics-port");
    expect(refused(["--log-level=loud"]).flag).toBe("--log-level");
    expect(refused(["--watch-namespaces=Bad_NS"]).flag).toBe("--watch-namespaces");
    expect(refused(["--workers=0"]).flag).toBe("--workers");
    expect(refused(["--resync-period-seconds=1"]).flag).toBe("--resync-period-seconds");
    expect(refused(["--bootstrap-override=events"]).flag).toBe("--bootstrap-override");
    expect(refused(["--nope"]).flag).toBe("--nope");
    expect(refused(["--workers"]).flag).toBe("--workers");
    expect(refused(["--leader-elect=maybe"]).flag).toBe("--leader-elect");
    expect(refused(["--default-broker-image="]).flag).toBe("--default-broker-image");
    expect(refused(["--leader-elect", "--leader-election-namespace=x", "--leader-election-lease-duration-seconds=5", "--leader-election-renew-deadline-seconds=5"]).flag).toBe("--leader-election-renew-deadline-seconds");
  });

  it("recognises --help and --version", () => {
    expect(parseCommandLine(["--help"], {}).kind).toBe("help");
    expect(parseCommandLine(["--version"], {}).kind).toBe("version");
  });
});
