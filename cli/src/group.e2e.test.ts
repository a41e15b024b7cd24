// Proves `sluice group list|describe|reset-offsets|delete` and `sluice consume --group` against
// the real broker process: consuming in a group commits where it stopped and the next run
// continues there; describe shows members, assignments, committed offsets, log ends and lag as
// a table and as JSON; reset-offsets is a dry run unless --execute, is refused while the group
// has active members, and resolves earliest / offset / datetime targets; delete removes the
// group; bad usage exits 2 and broker refusals exit 1 with the error's name.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GroupConsumer } from "@sluice/client";
import { startBrokerProcess, type BrokerProcess } from "../../test/e2e/broker-process.js";
import { cliRunner } from "./testing/run-in-memory.js";

let broker: BrokerProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sluice-cli-group-e2e-"));
  broker = await startBrokerProcess({ dataDir: join(dir, "data"), args: ["--group-consumer-session-timeout-ms", "6000", "--group-consumer-heartbeat-interval-ms", "300", "--log-level", "warn"] });
});

afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const { sluice, ok } = cliRunner(
  () => broker.bootstrap,
  () => dir,
);

interface DescribedJson {
  state: string;
  members: { memberId: string; assignment: { topic: string; partition: number }[] }[];
  offsets: { partition: number; committedOffset: number; logEndOffset: number; lag: number; ownerMemberId: string }[];
}

async function describeJson(group: string): Promise<DescribedJson> {
  return JSON.parse(await ok(["group", "describe", group, "-o", "json"])) as DescribedJson;
}

describe("sluice group commands against the real broker", () => {
  it("consumes in a group, describes, resets (dry run, refused while active, executed) and deletes", async () => {
    await ok(["topic", "create", "cg-topic", "--partitions", "2"]);
    const lines = Array.from({ length: 10 }, (_, i) => `k${i}:v${i}`);
    await ok(["produce", "cg-topic", "-K", ":"], `${lines.join("\n")}\n`);

    // 4 records through the group, then 6 more: the second run continues after the first.
    const first = (await ok(["consume", "cg-topic", "--group", "cg", "--from-beginning", "-n", "4", "-f", "%p:%o\\n"])).trim().split("\n");
    expect(first).toHaveLength(4);
    const second = (await ok(["consume", "cg-topic", "--group", "cg", "-n", "6", "-f", "%p:%o\\n"])).trim().split("\n");
    expect(new Set([...first, ...second]).size).toBe(10);

    expect(await ok(["group", "list"])).toMatch(/GROUP\s+STATE\s+MEMBERS\s+COORDINATOR\n\s*cg\s+empty\s+0\s+0/);
    const listed = JSON.parse(await ok(["group", "list", "-o", "json"])) as { groupId: string; state: string }[];
    expect(listed).toContainEqual(expect.objectContaining({ groupId: "cg", state: "empty" }));

    const table = await ok(["group", "describe", "cg"]);
    expect(table).toMatch(/state:\s+empty/);
    expect(table).toContain("members: none");
    expect(table).toMatch(/TOPIC\s+PARTITION\s+COMMITTED\s+LOG-END\s+LAG\s+OWNER/);
    let described = await describeJson("cg");
    expect(described.offsets.map((o) => o.lag)).toEqual([0, 0]);
    expect(described.offsets.reduce((n, o) => n + o.committedOffset, 0)).toBe(10);

    // An active member: describe shows it as owner; reset is refused.
    const member = new GroupConsumer({ bootstrap: broker.bootstrap, groupId: "cg", sessionTimeoutMs: 6000 });
    member.subscribe({ topics: ["cg-topic"] });
    const reading = (async () => {
      for await (const _ of member) {
        // nothing to read: everything is committed
      }
    })();
    try {
      await vi.waitFor(() => expect(member.assignment()).toHaveLength(2), { timeout: 20_000 });
      await vi.waitFor(async () => {
        described = await describeJson("cg");
        expect(described.members.map((m) => m.memberId)).toEqual([member.memberId]);
        expect(described.offsets.map((o) => o.ownerMemberId)).toEqual([member.memberId, member.memberId]);
      }, { timeout: 10_000 });
      expect(await ok(["group", "describe", "cg"])).toContain(member.memberId);
      const refused = await sluice(["group", "reset-offsets", "cg", "--topic", "cg-topic", "--to-earliest", "--execute"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("NON_EMPTY_GROUP");
    } finally {
      await member.close();
      await reading;
    }

    // Dry run (the default) prints the plan and changes nothing.
    const dry = await ok(["group", "reset-offsets", "cg", "--topic", "cg-topic:0", "--to-offset", "1"]);
    expect(dry).toMatch(/TOPIC\s+PARTITION\s+CURRENT\s+NEW\s+LOG-START\s+LOG-END\n\s*cg-topic\s+0\s+\d+\s+1\s+0\s+\d+/);
    expect(dry).toContain("dry run: nothing changed");
    expect((await describeJson("cg")).offsets.reduce((n, o) => n + o.committedOffset, 0)).toBe(10);

    const executed = JSON.parse(await ok(["group", "reset-offsets", "cg", "--topic", "cg-topic", "--to-earliest", "--execute", "-o", "json"])) as { executed: boolean; partitions: { newOffset: number }[] };
    expect(executed.executed).toBe(true);
    expect(executed.partitions.map((p) => p.newOffset)).toEqual([0, 0]);
    described = await describeJson("cg");
    expect(described.offsets.map((o) => o.committedOffset)).toEqual([0, 0]);
    expect(described.offsets.reduce((n, o) => n + o.lag, 0)).toBe(10);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    await ok(["group", "reset-offsets", "cg", "--topic", "cg-topic", "--to-datetime", future, "--execute"]);
    described = await describeJson("cg");
    expect(described.offsets.map((o) => o.committedOffset)).toEqual(described.offsets.map((o) => o.logEndOffset));

    expect(await ok(["group", "delete", "cg"])).toContain('deleted group "cg"');
    expect(await ok(["group", "list"])).not.toMatch(/^cg\s/m);
    const again = await sluice(["group", "delete", "cg"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("GROUP_ID_NOT_FOUND");
  });

  it("reports bad usage with exit code 2 before connecting", async () => {
    const noTarget = await sluice(["group", "reset-offsets", "g", "--topic", "t"]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("choose where to");
    const both = await sluice(["group", "reset-offsets", "g", "--topic", "t", "--to-latest", "--dry-run", "--execute"]);
    expect(both.code).toBe(2);
    const badTopic = await sluice(["group", "reset-offsets", "g", "--topic", "t:x", "--to-latest"]);
    expect(badTopic.code).toBe(2);
    expect(badTopic.stderr).toContain("--topic needs");
    const badDate = await sluice(["group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday"]);
    expect(badDate.code).toBe(2);
    const mixed = await sluice(["consume", "t", "--group", "g", "--offset", "3"]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("--group takes its partitions");
    const help = await sluice(["group", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("group reset-offsets");
  });
});
