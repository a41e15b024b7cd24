/** `sluice cluster describe`: who is in the cluster. */
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../context.js";
import { withAdmin } from "../admin-session.js";
import { renderFields, renderTable } from "../table.js";

export const clusterSpecs: readonly CommandSpec[] = [
  { name: "cluster describe", summary: "Show the cluster id, controller, version and brokers.", positionals: [], flags: [] },
];

export async function clusterDescribe(ctx: CommandContext): Promise<number> {
  const cluster = await withAdmin(ctx, (admin) => admin.describeCluster());
  if (ctx.output === "json") {
    await ctx.json(cluster);
    return 0;
  }
  await ctx.out(
    [
      renderFields([
        ["cluster id", cluster.clusterId],
        ["controller", cluster.controllerId],
        ["version", cluster.version],
      ]),
      "",
      renderTable(["BROKER", "HOST", "PORT", "RACK"], cluster.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack === "" ? null : b.rack])),
    ].join("\n"),
  );
  return 0;
}
