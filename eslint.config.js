// Lint rules that encode the project's habits (STYLE.md): no default exports, no `any`,
// and no Node runtime imports inside pure folders (their code must run inside the simulator).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const pureFolders = [
  "broker/src/raft/core/**/*.ts",
  "broker/src/group/assignors/**/*.ts",
  "protocol/src/record-batch/**/*.ts",
];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/src/gen/**", "**/*.js", "!eslint.config.js"] },
  { files: ["**/*.mjs"], languageOptions: { globals: { process: "readonly", console: "readonly" } } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports (STYLE.md)." },
        { selector: "ExportSpecifier[exported.name='default']", message: "Use named exports (STYLE.md)." },
      ],
    },
  },
  {
    files: pureFolders,
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "Pure folder: inject time, randomness, disk and network instead." },
            { group: ["fs", "fs/*", "net", "timers", "timers/*", "child_process", "os", "dgram", "http", "http2"], message: "Pure folder: no Node runtime modules." },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        { name: "setTimeout", message: "Pure folder: time is an input (tick)." },
        { name: "setInterval", message: "Pure folder: time is an input (tick)." },
        { name: "setImmediate", message: "Pure folder: time is an input (tick)." },
        { name: "process", message: "Pure folder: no process access." },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "Pure folder: inject a Clock." },
        { object: "Math", property: "random", message: "Pure folder: inject a seeded Random." },
      ],
    },
  },
);
