import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The Kubernetes test project: `*.k8s.test.ts` files run against one real control plane started by
// global-setup.ts (built by scripts/k8s/build-control-plane.sh). Run with
//   npx vitest run --config test/k8s/vitest.config.ts
// The root config must exclude `**/*.k8s.test.ts` (they cannot run without this setup).
export const config = defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    name: "k8s",
    include: ["test/k8s/**/*.k8s.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    globalSetup: ["test/k8s/global-setup.ts"],
    // Waiting for controllers (Pods Running, garbage collection) on a busy 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // One control plane is shared; files run one at a time to keep CPU load (and timing) sane.
    fileParallelism: false,
  },
});

// vitest loads a config's default export; this file is the one place a default export is allowed.
// eslint-disable-next-line no-restricted-syntax
export default config;
