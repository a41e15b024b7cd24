// Proves the broker configuration honours flags > env > file > defaults and refuses every bad
// key or value with a ConfigError that names the key, its source and the reason.
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  configFromEnv,
  configFromFileText,
  configHelp,
  envName,
  loadBrokerConfig,
  parseArgs,
  resolveBrokerConfig,
} from "./config.js";

const noFile = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

function load(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  return loadBrokerConfig(argv, env, (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file ${path}`);
    return text;
  }).config;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  it("gives a complete config with documented defaults", () => {
    const config = loadBrokerConfig([], {}, noFile).config;
    expect(config).toMatchObject({
      dataDir: ".sluice-data",
      host: "127.0.0.1",
      port: 9092,
      dataPort: 9093,
      advertisedHost: "127.0.0.1",
      brokerId: 0,
      metricsHost: "127.0.0.1",
      metricsPort: 9644,
      logLevel: "info",
      fsync: { kind: "always" },
      defaultPartitions: 1,
      defaultReplicationFactor: 1,
      shutdownTimeoutMs: 10_000,
      topicDefaults: {},
    });
  });

  it("advertises loopback when bound to a wildcard address, and the host otherwise", () => {
    expect(load(["--host", "0.0.0.0"]).advertisedHost).toBe("127.0.0.1");
    expect(load(["--host", "10.1.2.3"]).advertisedHost).toBe("10.1.2.3");
    expect(load(["--host", "0.0.0.0", "--advertised-host", "broker-0.sluice"]).advertisedHost).toBe("broker-0.sluice");
  });
});

describe("precedence", () => {
  const file = JSON.stringify({ port: 1111, "broker-id": 3, "log-level": "warn", "data-dir": "/from/file" });
  const files = { "/etc/sluice.json": file };

  it("takes flags over env over file over defaults, key by key", () => {
    const config = load(
      ["--config", "/etc/sluice.json", "--port", "3333"],
      { SLUICE_PORT: "2222", SLUICE_BROKER_ID: "7" },
      files,
    );
    expect(config.port).toBe(3333); // flag beats env and file
    expect(config.brokerId).toBe(7); // env beats file
    expect(config.logLevel).toBe("warn"); // file beats default
    expect(config.dataDir).toBe("/from/file");
    expect(config.metricsPort).toBe(9644); // default
  });

  it("reads the file named by SLUICE_CONFIG", () => {
    expect(load([], { SLUICE_CONFIG: "/etc/sluice.json" }, files).port).toBe(1111);
  });

  it("accepts --key=value as well as --key value", () => {
    expect(load(["--port=0", "--fsync=interval:50"])).toMatchObject({ port: 0, fsync: { kind: "interval", intervalMs: 50 } });
  });

  it("maps log.<topic key> to canonical broker-wide topic defaults", () => {
    const config = load(["--log.retention.ms", "3600000", "--log.cleanup.policy", "delete, compact"], { SLUICE_LOG_SEGMENT_BYTES: "1048576" });
    expect(config.topicDefaults).toEqual({ "retention.ms": "3600000", "cleanup.policy": "compact,delete", "segment.bytes": "1048576" });
  });
});

describe("errors name the key, the source and why", () => {
  it("refuses a non-numeric port from a flag", () => {
    const error = configError(() => load(["--port", "abc"]));
    expect(error.key).toBe("port");
    expect(error.source).toBe("flag");
    expect(error.message).toContain("--port");
    expect(error.message).toContain('must be an integer, got "abc"');
    expect(error.errorName).toBe("INVALID_CONFIG");
  });

  it("refuses an out-of-range port from the environment, naming the variable", () => {
    const error = configError(() => load([], { SLUICE_PORT: "70000" }));
    expect(error.key).toBe("port");
    expect(error.source).toBe("env");
    expect(error.message).toContain("SLUICE_PORT");
    expect(error.message).toContain("[0, 65535]");
  });

  it("refuses a bad fsync policy from the file", () => {
    const error = configError(() => load(["--config", "f.json"], {}, { "f.json": '{"fsync":"sometimes"}' }));
    expect(error.key).toBe("fsync");
    expect(error.source).toBe("file");
    expect(error.message).toContain("always | never | interval:<ms>");
  });

  it("refuses unknown flags, suggesting the right one", () => {
    const error = configError(() => parseArgs(["--datadir", "x"]));
    expect(error.key).toBe("datadir");
    expect(error.message).toContain("unknown flag");
    expect(error.message).toContain("--data-dir");
  });

  it("refuses unknown SLUICE_* variables but leaves the CLI's own alone", () => {
    expect(configError(() => configFromEnv({ SLUICE_PROT: "1" })).message).toContain("SLUICE_PROT");
    expect(configFromEnv({ SLUICE_BOOTSTRAP: "127.0.0.1:9092", HOME: "/root" })).toEqual({});
  });

  it("refuses unknown file keys, nested values, non-objects and broken JSON", () => {
    expect(configError(() => configFromFileText('{"portt": 1}', "f.json")).key).toBe("portt");
    expect(configError(() => configFromFileText('{"port": {"x": 1}}', "f.json")).message).toContain("string, number or boolean");
    expect(configError(() => configFromFileText("[1,2]", "f.json")).message).toContain("JSON object");
    expect(configError(() => configFromFileText("{port: 1", "f.json")).message).toContain("not valid JSON");
  });

  it("reports an unreadable config file as a ConfigError", () => {
    const error = configError(() => load(["--config", "/nope.json"]));
    expect(error.key).toBe("config");
    expect(error.message).toContain("cannot read /nope.json");
  });

  it("refuses a flag without a value, a repeated flag and stray words", () => {
    expect(configError(() => parseArgs(["--port"])).message).toContain("needs a value");
    expect(configError(() => parseArgs(["--port", "1", "--port", "2"])).message).toContain("more than once");
    expect(configError(() => parseArgs(["serve"])).message).toContain('unexpected argument "serve"');
  });

  it("refuses bad topic defaults with the topic config's reason", () => {
    const error = configError(() => load(["--log.max.message.bytes", "999999999"]));
    expect(error.key).toBe("log.max.message.bytes");
    expect(error.message).toContain("must be in [61, 16777216]");
    expect(configError(() => load([], { SLUICE_LOG_CLEANUP_POLICY: "shred" })).message).toContain("delete | compact | compact,delete");
  });

  it("refuses a replication factor the single broker cannot honour and an unknown log level", () => {
    expect(configError(() => load(["--default-replication-factor", "3"])).message).toContain("[1, 1]");
    expect(configError(() => load(["--log-level", "loud"])).message).toContain("fatal | error | warn | info | debug | trace | silent");
  });

  it("refuses empty strings for required text keys", () => {
    expect(configError(() => load(["--data-dir", "  "])).message).toContain("must not be empty");
  });
});

describe("pieces", () => {
  it("parses fsync policies and bounds the interval", () => {
    expect(load(["--fsync", "never"]).fsync).toEqual({ kind: "never" });
    expect(load(["--fsync", "interval:1000"]).fsync).toEqual({ kind: "interval", intervalMs: 1000 });
    expect(configError(() => load(["--fsync", "interval:0"])).message).toContain("always | never | interval:<ms>");
    expect(configError(() => load(["--fsync", "interval:70000"])).message).toContain("1..60000 ms");
    expect(configError(() => load(["--fsync", "interval:"])).key).toBe("fsync");
  });

  it("spells environment names from keys", () => {
    expect(envName("data-dir")).toBe("SLUICE_DATA_DIR");
    expect(envName("log.retention.ms")).toBe("SLUICE_LOG_RETENTION_MS");
  });

  it("reports --help and --version without failing", () => {
    expect(parseArgs(["--help"]).help).toBe(true);
    expect(parseArgs(["--version"]).version).toBe(true);
    expect(configHelp()).toContain("--data-dir");
    expect(configHelp()).toContain("--log.retention.ms");
  });

  it("rejects unknown keys passed straight to resolveBrokerConfig, naming the source", () => {
    const error = configError(() => resolveBrokerConfig({ flags: {}, env: { nope: "1" }, file: {} }));
    expect(error.key).toBe("nope");
    expect(error.source).toBe("env");
  });
});

describe("data-port", () => {
  it("is read from flag, env and file; 0 is ephemeral and -1 turns the listener off", () => {
    expect(load(["--data-port", "7000"]).dataPort).toBe(7000);
    expect(load([], { SLUICE_DATA_PORT: "0" }).dataPort).toBe(0);
    expect(load(["--config", "f.json"], {}, { "f.json": '{"data-port": -1}' }).dataPort).toBe(-1);
  });

  it("follows an ephemeral gRPC port when left unset, so brokers on free ports never collide", () => {
    expect(load(["--port", "0"]).dataPort).toBe(0);
    expect(load(["--port", "0", "--data-port", "7000"]).dataPort).toBe(7000);
    expect(load(["--port", "0"], { SLUICE_DATA_PORT: "-1" }).dataPort).toBe(-1);
    expect(load(["--port", "9200"]).dataPort).toBe(9093);
  });

  it("refuses out-of-range values and the gRPC port's own number", () => {
    const range = configError(() => load(["--data-port", "-2"]));
    expect(range.key).toBe("data-port");
    expect(range.message).toContain("[-1, 65535]");
    expect(configError(() => load([], { SLUICE_DATA_PORT: "x" })).message).toContain("SLUICE_DATA_PORT");
    const clash = configError(() => load(["--port", "9100", "--data-port", "9100"]));
    expect(clash.key).toBe("data-port");
    expect(clash.message).toContain("must differ from port (9100)");
    expect(configError(() => load(["--port", "9093"])).key).toBe("data-port");
  });
});

describe("consumer groups", () => {
  it("defaults to Kafka's group settings and a light __consumer_offsets", () => {
    const config = loadBrokerConfig([], {}, noFile).config;
    expect(config.offsetsTopicPartitions).toBe(8);
    expect(config.offsetsTopicSegmentBytes).toBe(100 * 1024 * 1024);
    expect(config.groupCoordinator).toEqual({
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 5_000,
      defaultRebalanceTimeoutMs: 300_000,
      maxGroupSize: 2_000,
      offsetsRetentionMs: 7 * 24 * 3_600_000,
      offsetMetadataMaxBytes: 4_096,
      defaultAssignor: "uniform",
    });
  });

  it("reads every group key from flags and the environment", () => {
    const config = load(
      ["--offsets-topic-num-partitions", "3", "--group-consumer-session-timeout-ms", "6000", "--group-consumer-assignor", "range"],
      { SLUICE_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: "500", SLUICE_OFFSETS_RETENTION_MS: "60000", SLUICE_GROUP_CONSUMER_MAX_SIZE: "10" },
    );
    expect(config.offsetsTopicPartitions).toBe(3);
    expect(config.groupCoordinator).toMatchObject({ sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, defaultAssignor: "range", offsetsRetentionMs: 60_000, maxGroupSize: 10 });
  });

  it("refuses bad group settings naming the key", () => {
    expect(configError(() => load(["--offsets-topic-num-partitions", "0"])).key).toBe("offsets-topic-num-partitions");
    expect(configError(() => load(["--group-consumer-assignor", "sticky"])).reason).toContain("uniform | range | round-robin");
    expect(configError(() => load(["--group-consumer-max-size", "5000"])).key).toBe("group-consumer-max-size");
    const hb = configError(() => load(["--group-consumer-heartbeat-interval-ms", "45000"]));
    expect(hb.key).toBe("group-consumer-heartbeat-interval-ms");
    expect(hb.reason).toContain("below group-consumer-session-timeout-ms");
  });
});
