/**
 * Command line of the image smoke test (test/image/smoke.ts), run by scripts/image-smoke.sh:
 *   node --conditions=source --import tsx test/image/smoke-main.ts [--keep]
 * Logs each step; exits 0 when every check passed. The last line reads
 * "image smoke: N passed, M failed".
 */
import { runImageSmoke } from "./smoke.js";

const unknown = process.argv.slice(2).filter((a) => a !== "--keep");
if (unknown.length > 0) {
  process.stderr.write(`image smoke: unknown argument(s) ${unknown.join(" ")}; usage: image-smoke.sh [--keep]\n`);
  process.exit(2);
}
runImageSmoke({ keep: process.argv.includes("--keep"), log: (m) => process.stdout.write(`[image-smoke] ${m}\n`) }).then(
  (results) => {
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    process.stdout.write(`image smoke: ${passed} passed, ${failed} failed\n`);
    process.exit(failed === 0 && passed > 0 ? 0 : 1);
  },
  (error: unknown) => {
    process.stderr.write(`image smoke: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
