/** `sluice topic create|list|describe|alter|delete`: the Admin API as commands. */
import { SluiceError } from "@sluice/protocol";
import { keyValuePairs, type CommandSpec } from "../args.js";
import type { CommandContext } from "../context.js";
import { withAdmin } from "../admin-session.js";
import { formatBytes, renderFields, renderTable } from "../table.js";

export const topicSpecs: readonly CommandSpec[] = [
  {
    name: "topic create",
    summary: "Create a topic.",
    positionals: [{ name: "topic", required: true }],
    flags: [
      { name: "partitions", kind: "int", valueName: "N", description: "number of partitions", defaultText: "broker default" },
      { name: "replication-factor", kind: "int", valueName: "N", description: "replicas per partition", defaultText: "broker default" },
      { name: "config", short: "c", kind: "list", valueName: "k=v", description: "topic config override, e.g. retention.ms=86400000" },
      { name: "if-not-exists", kind: "boolean", description: "succeed if the topic already exists" },
      { name: "validate-only", kind: "boolean", description: "check the request, create nothing" },
    ],
    examples: ["sluice topic create orders --partitions 6 --config retention.ms=604800000"],
  },
  {
    name: "topic list",
    summary: "List topics.",
    positionals: [],
    flags: [{ name: "internal", kind: "boolean", description: "include internal topics" }],
  },
  {
    name: "topic describe",
    summary: "Show a topic's partitions (leaders, offsets, sizes) and configs.",
    positionals: [{ name: "topic", required: true, variadic: true }],
    flags: [{ name: "all-configs", kind: "boolean", description: "show every config, not only overrides" }],
  },
  {
    name: "topic alter",
    summary: "Change a topic's configs or add partitions.",
    positionals: [{ name: "topic", required: true }],
    flags: [
      { name: "config", short: "c", kind: "list", valueName: "k=v", description: "config to set" },
      { name: "delete-config", kind: "list", valueName: "k", description: "override to remove (back to the default)" },
      { name: "partitions", kind: "int", valueName: "N", description: "new (larger) partition count" },
      { name: "validate-only", kind: "boolean", description: "check the request, change nothing" },
    ],
    examples: ["sluice topic alter orders --config retention.ms=3600000 --delete-config cleanup.policy", "sluice topic alter orders --partitions 12"],
  },
  {
    name: "topic delete",
    summary: "Delete topics and their data.",
    positionals: [{ name: "topic", required: true, variadic: true }],
    flags: [],
  },
];

export async function topicCreate(ctx: CommandContext): Promise<number> {
  const name = ctx.positional("topic");
  const partitions = ctx.int("partitions");
  const replicationFactor = ctx.int("replication-factor");
  if (partitions !== undefined && partitions < 1) throw ctx.usage("--partitions must be at least 1");
  if (replicationFactor !== undefined && replicationFactor < 1) throw ctx.usage("--replication-factor must be at least 1");
  const configs = keyValuePairs(ctx.list("config"), "config", ctx.name);
  const validateOnly = ctx.bool("validate-only");
  return withAdmin(ctx, async (admin) => {
    try {
      const [created] = await admin.createTopics([{ name, ...(partitions === undefined ? {} : { partitions }), ...(replicationFactor === undefined ? {} : { replicationFactor }), configs }], { validateOnly });
      if (ctx.output === "json") await ctx.json({ ...created, validateOnly });
      else if (validateOnly) await ctx.out(`topic "${name}" is valid (${created?.partitions} partitions, replication factor ${created?.replicationFactor}); nothing created`);
      else await ctx.out(`created topic "${name}" (${created?.partitions} partitions, replication factor ${created?.replicationFactor})`);
      return 0;
    } catch (error) {
      if (ctx.bool("if-not-exists") && error instanceof SluiceError && error.errorName === "TOPIC_ALREADY_EXISTS") {
        if (ctx.output === "json") await ctx.json({ name, existed: true });
        else await ctx.out(`topic "${name}" already exists`);
        return 0;
      }
      throw error;
    }
  });
}

export async function topicList(ctx: CommandContext): Promise<number> {
  return withAdmin(ctx, async (admin) => {
    const topics = await admin.listTopics({ includeInternal: ctx.bool("internal") });
    if (ctx.output === "json") await ctx.json(topics);
    else if (topics.length === 0) await ctx.out("no topics");
    else await ctx.out(renderTable(["NAME", "PARTITIONS", "REPLICATION", "INTERNAL", "ID"], topics.map((t) => [t.name, t.partitions, t.replicationFactor, t.internal, t.topicId])));
    return 0;
  });
}

export async function topicDescribe(ctx: CommandContext): Promise<number> {
  const names = ctx.positionals("topic");
  const allConfigs = ctx.bool("all-configs");
  return withAdmin(ctx, async (admin) => {
    const topics = await admin.describeTopics(names);
    const configs = await admin.describeConfigs(names, { includeDefaults: allConfigs });
    if (ctx.output === "json") {
      await ctx.json(topics.map((t) => ({ ...t, configEntries: configs.find((c) => c.topic === t.name)?.entries ?? [] })));
      return 0;
    }
    const sections: string[] = [];
    for (const topic of topics) {
      const totalBytes = topic.partitions.reduce((n, p) => n + p.sizeBytes, 0);
      const entries = (configs.find((c) => c.topic === topic.name)?.entries ?? []).filter((e) => allConfigs || e.source === "topic");
      sections.push(
        [
          renderFields([
            ["topic", topic.name],
            ["id", topic.topicId],
            ["partitions", topic.partitions.length],
            ["replication factor", topic.replicationFactor],
            ["internal", topic.internal],
            ["size", formatBytes(totalBytes)],
          ]),
          "",
          renderTable(
            ["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START", "HIGH-WATERMARK", "SIZE"],
            topic.partitions.map((p) => [p.partition, p.leaderId, p.leaderEpoch, p.replicas.join(","), p.inSyncReplicas.join(","), p.logStartOffset, p.highWatermark, formatBytes(p.sizeBytes)]),
          ),
          "",
          entries.length === 0 ? (allConfigs ? "configs: none" : "configs: no overrides (--all-configs shows every value)") : renderTable(["CONFIG", "VALUE", "SOURCE"], entries.map((e) => [e.name, e.value, e.source])),
        ].join("\n"),
      );
    }
    await ctx.out(sections.join("\n\n"));
    return 0;
  });
}

export async function topicAlter(ctx: CommandContext): Promise<number> {
  const name = ctx.positional("topic");
  const set = keyValuePairs(ctx.list("config"), "config", ctx.name);
  const remove = ctx.list("delete-config");
  const partitions = ctx.int("partitions");
  const validateOnly = ctx.bool("validate-only");
  if (Object.keys(set).length === 0 && remove.length === 0 && partitions === undefined) {
    throw ctx.usage("nothing to change: give --config, --delete-config or --partitions");
  }
  return withAdmin(ctx, async (admin) => {
    const changed: string[] = [];
    if (Object.keys(set).length > 0 || remove.length > 0) {
      await admin.alterConfigs([{ topic: name, set, delete: remove }], { validateOnly });
      changed.push(...Object.entries(set).map(([k, v]) => `${k}=${v}`), ...remove.map((k) => `${k} (back to default)`));
    }
    if (partitions !== undefined) {
      await admin.createPartitions([{ topic: name, count: partitions }], { validateOnly });
      changed.push(`partitions=${partitions}`);
    }
    if (ctx.output === "json") await ctx.json({ topic: name, set, deleted: remove, ...(partitions === undefined ? {} : { partitions }), validateOnly });
    else await ctx.out(`${validateOnly ? "would alter" : "altered"} topic "${name}": ${changed.join(", ")}`);
    return 0;
  });
}

export async function topicDelete(ctx: CommandContext): Promise<number> {
  const names = ctx.positionals("topic");
  return withAdmin(ctx, async (admin) => {
    await admin.deleteTopics(names);
    if (ctx.output === "json") await ctx.json({ deleted: names });
    else for (const name of names) await ctx.out(`deleted topic "${name}"`);
    return 0;
  });
}
