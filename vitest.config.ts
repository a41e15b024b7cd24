import { defineConfig } from "vitest/config";

// Workspace imports resolve to TypeScript sources (the "source" export condition), so tests
// never run against a stale dist/.
export const config = defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", "**/*.k8s.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});

// vitest loads a config's default export; this file is the one place a default export is allowed.
// eslint-disable-next-line no-restricted-syntax
export default config;
