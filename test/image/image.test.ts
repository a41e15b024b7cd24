// Proves the Dockerfile's recipe works without a container engine: its COPY and npm steps,
// replayed stage by stage in temp folders (test/image/smoke.ts), give a runtime with production
// dependencies only, from which the CMD starts a broker (as uid 10001 when we are root) that
// answers the gRPC health check SERVING, serves /metrics, round-trips records through the image's
// own `sluice` CLI, and stops cleanly on SIGTERM; and whose `sluice-operator` entrypoint runs.
import { describe, expect, it } from "vitest";
import { runImageSmoke } from "./smoke.js";

/** Two npm ci (one compiling zstd-napi) and a build: ~70 s on 2 busy cores; room for a slow day. */
const IMAGE_SMOKE_TIMEOUT_MS = 8 * 60_000;

describe("the image recipe, replayed outside Docker", () => {
  it(
    "installs, builds, prunes to production dependencies, and runs a healthy broker and CLI",
    async () => {
      const lines: string[] = [];
      const results = await runImageSmoke({ log: (m) => lines.push(m) });
      const failed = results.filter((r) => !r.ok);
      expect(failed, `${failed.map((f) => `${f.name}: ${f.detail}`).join("\n")}\n--- log ---\n${lines.join("\n")}`).toEqual([]);
      expect(results.map((r) => r.name)).toEqual([
        "replay every stage of the Dockerfile",
        "runtime node_modules: production packages only",
        "the CMD starts the broker",
        "gRPC health check says SERVING",
        "GET /metrics",
        "the runtime's sluice CLI: create a topic, produce with zstd, consume",
        "SIGTERM stops the broker cleanly",
        "sluice-operator --help and --version: the operator entrypoint runs",
      ]);
    },
    IMAGE_SMOKE_TIMEOUT_MS,
  );
});
