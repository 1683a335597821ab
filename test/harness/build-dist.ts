import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

// vitest globalSetup: the tests that start a program as users run it (`npm start`, the projector, the
// CLI) spawn the compiled dist/ — so it is built from the sources under test, once per run, first.
export default function buildDist() {
  execFileSync(process.execPath, ["apps/build.mjs"], { cwd: resolve(import.meta.dirname, "../.."), stdio: "pipe" });
}
