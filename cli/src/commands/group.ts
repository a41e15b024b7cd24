/**
 * `sluice group list|describe|reset-offsets|delete`: consumer groups, with the semantics of
 * Kafka's kafka-consumer-groups tool. `describe` shows members with their assignments and, per
 * partition, the committed offset, log end offset, lag and owner. `reset-offsets` only works on
 * a group without active members; without `--execute` it is a dry run that prints the plan.
 */
import { type GroupDescription, type OffsetResetTarget, type TopicPartition, type TopicSelection } from "@sluice/client";
import { SluiceError } from "@sluice/protocol";
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../context.js";
import { withAdmin } from "../admin-session.js";
import { renderFields, renderTable } from "../table.js";
import { parseTimestamp } from "../timestamp.js";

export const groupSpecs: readonly CommandSpec[] = [
  {
    name: "group list",
    summary: "List consumer groups.",
    positionals: [],
    flags: [{ name: "state", kind: "list", valueName: "S", description: "only groups in this state: empty, assigning, reconciling, stable" }],
  },
  {
    name: "group describe",
    summary: "Show a group's members, assignments, and per-partition committed offset, log end, lag and owner.",
    positionals: [{ name: "group", required: true }],
    flags: [],
    examples: ["sluice group describe billing", "sluice group describe billing --output json"],
  },
  {
    name: "group reset-offsets",
    summary: "Move a group's committed offsets (the group must have no active members). Dry run unless --execute.",
    positionals: [{ name: "group", required: true }],
    flags: [
      { name: "topic", short: "t", kind: "list", valueName: "t[:p,...]", description: "topic, optionally with partitions (e.g. orders:0,2)" },
      { name: "to-earliest", kind: "boolean", description: "to the oldest retained record" },
      { name: "to-latest", kind: "boolean", description: "to the end (skip everything there now)" },
      { name: "to-datetime", kind: "string", valueName: "T", description: "to the first record at or after T (ISO date or ms)" },
      { name: "to-offset", kind: "int", valueName: "N", description: "to offset N (clamped to the partition's range)" },
      { name: "dry-run", kind: "boolean", description: "only show the plan (the default)" },
      { name: "execute", kind: "boolean", description: "write the new offsets" },
    ],
    examples: ["sluice group reset-offsets billing --topic orders --to-earliest", "sluice group reset-offsets billing --topic orders:0,1 --to-datetime 2024-05-01T00:00:00Z --execute"],
  },
  {
    name: "group delete",
    summary: "Delete groups without members, and their committed offsets.",
    positionals: [{ name: "group", required: true, variadic: true }],
    flags: [],
  },
];

/** "t-0,t-1,u-3" (compact assignment text for tables). */
function partitionsText(list: readonly TopicPartition[]): string {
  if (list.length === 0) return "-";
  const byTopic = new Map<string, number[]>();
  for (const tp of list) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  return [...byTopic].map(([topic, partitions]) => `${topic}:${partitions.join(",")}`).join(" ");
}

export async function groupList(ctx: CommandContext): Promise<number> {
  return withAdmin(ctx, async (admin) => {
    const groups = await admin.listGroups({ states: ctx.list("state") });
    if (ctx.output === "json") await ctx.json(groups);
    else if (groups.length === 0) await ctx.out("no groups");
    else await ctx.out(renderTable(["GROUP", "STATE", "MEMBERS", "COORDINATOR"], groups.map((g) => [g.groupId, g.state, g.memberCount, g.coordinatorId])));
    return 0;
  });
}

export function renderGroup(group: GroupDescription): string {
  const owners = new Map(group.members.map((m) => [m.memberId, m.instanceId === "" ? m.memberId : `${m.memberId} (${m.instanceId})`]));
  return [
    renderFields([
      ["group", group.groupId],
      ["state", group.state],
      ["group epoch", group.groupEpoch],
      ["assignment epoch", group.assignmentEpoch],
      ["assignor", group.assignor === "" ? null : group.assignor],
      ["coordinator", group.coordinatorId],
      ["members", group.members.length],
    ]),
    "",
    group.members.length === 0
      ? "members: none"
      : renderTable(
          ["MEMBER", "INSTANCE", "CLIENT", "EPOCH", "STATE", "ASSIGNED", "REVOKING"],
          group.members.map((m) => [m.memberId, m.instanceId === "" ? null : m.instanceId, m.clientId === "" ? null : m.clientId, m.memberEpoch, m.state, partitionsText(m.assignment), partitionsText(m.pendingRevocation)]),
        ),
    "",
    group.offsets.length === 0
      ? "offsets: none committed"
      : renderTable(
          ["TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "OWNER"],
          group.offsets.map((p) => [p.topic, p.partition, p.committedOffset < 0 ? null : p.committedOffset, p.logEndOffset, p.lag, p.ownerMemberId === "" ? null : (owners.get(p.ownerMemberId) ?? p.ownerMemberId)]),
        ),
  ].join("\n");
}

export async function groupDescribe(ctx: CommandContext): Promise<number> {
  const groupId = ctx.positional("group");
  return withAdmin(ctx, async (admin) => {
    const [group] = await admin.describeGroups([groupId], { includeOffsets: true });
    if (group === undefined) throw new SluiceError("GROUP_ID_NOT_FOUND", `group "${groupId}"`);
    if (ctx.output === "json") await ctx.json(group);
    else await ctx.out(renderGroup(group));
    return 0;
  });
}

/** `--topic orders` or `--topic orders:0,2`. */
function parseTopicSelection(ctx: CommandContext, text: string): TopicSelection {
  const colon = text.indexOf(":");
  if (colon < 0) {
    if (text.length === 0) throw ctx.usage("--topic needs a topic name");
    return { topic: text };
  }
  const topic = text.slice(0, colon);
  const list = text.slice(colon + 1).split(",");
  if (topic.length === 0 || list.some((p) => !/^\d+$/.test(p))) throw ctx.usage(`--topic needs t or t:p,p,... with partition numbers, got "${text}"`);
  return { topic, partitions: [...new Set(list.map(Number))] };
}

function resetTarget(ctx: CommandContext): OffsetResetTarget {
  const given = ["to-earliest", "to-latest", "to-datetime", "to-offset"].filter((f) => ctx.parsed.flags[f] !== undefined && ctx.parsed.flags[f] !== false);
  if (given.length !== 1) throw ctx.usage(given.length === 0 ? "choose where to: --to-earliest, --to-latest, --to-datetime or --to-offset" : `choose one of ${given.map((g) => `--${g}`).join(" and ")}`);
  if (ctx.bool("to-earliest")) return "earliest";
  if (ctx.bool("to-latest")) return "latest";
  const offset = ctx.int("to-offset");
  if (offset !== undefined) {
    if (offset < 0) throw ctx.usage("--to-offset must be >= 0");
    return { offset };
  }
  const text = ctx.string("to-datetime") ?? "";
  const timestamp = parseTimestamp(text);
  if (timestamp === undefined) throw ctx.usage(`--to-datetime needs an ISO date or milliseconds since the epoch, got "${text}"`);
  return { timestamp };
}

export async function groupResetOffsets(ctx: CommandContext): Promise<number> {
  const groupId = ctx.positional("group");
  const topics = ctx.list("topic").map((t) => parseTopicSelection(ctx, t));
  if (topics.length === 0) throw ctx.usage("give at least one --topic");
  const target = resetTarget(ctx);
  if (ctx.bool("dry-run") && ctx.bool("execute")) throw ctx.usage("--dry-run and --execute exclude each other");
  const execute = ctx.bool("execute");
  return withAdmin(ctx, async (admin) => {
    const [group] = await admin.describeGroups([groupId]);
    const active = (group?.members ?? []).filter((m) => m.state !== "left");
    if (group !== undefined && group.members.length > 0) {
      throw new SluiceError("NON_EMPTY_GROUP", `group "${groupId}" has ${active.length > 0 ? `${active.length} active` : `${group.members.length}`} member(s); stop its consumers before resetting offsets`);
    }
    const plan = await admin.planOffsetReset(groupId, topics, target);
    const offsets = plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset }));
    // The coordinator checks the request either way; a dry run writes nothing.
    await admin.resetOffsets(groupId, offsets, { validateOnly: !execute });
    if (ctx.output === "json") {
      await ctx.json({ group: groupId, executed: execute, partitions: plan });
      return 0;
    }
    await ctx.out(renderTable(["TOPIC", "PARTITION", "CURRENT", "NEW", "LOG-START", "LOG-END"], plan.map((p) => [p.topic, p.partition, p.currentOffset < 0 ? null : p.currentOffset, p.newOffset, p.logStartOffset, p.logEndOffset])));
    await ctx.out(execute ? `reset ${plan.length} partition(s) of group "${groupId}"` : "dry run: nothing changed (add --execute to apply)");
    return 0;
  });
}

export async function groupDelete(ctx: CommandContext): Promise<number> {
  const groupIds = ctx.positionals("group");
  return withAdmin(ctx, async (admin) => {
    await admin.deleteGroups(groupIds);
    if (ctx.output === "json") await ctx.json({ deleted: groupIds });
    else for (const id of groupIds) await ctx.out(`deleted group "${id}"`);
    return 0;
  });
}
