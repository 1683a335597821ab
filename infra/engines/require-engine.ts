// Decide whether a suite that needs a real engine runs, is skipped, or fails.
// REQUIRE_ENGINES (comma-separated, e.g. "kafka,mongo,chromium"; .ci/run sets it) turns a missing engine into an error.
import { existsSync } from "node:fs";

export type EngineName = "kafka" | "mongo" | "esdb" | "chromium";

/** undefined (after one console line) when the suite should skip; throws when REQUIRE_ENGINES lists `name` */
function missing(name: EngineName, why: string, fix: string): undefined {
  const required = (process.env.REQUIRE_ENGINES ?? "").split(/[\s,]+/).filter(Boolean);
  if (required.includes(name)) throw new Error(`${why}, but REQUIRE_ENGINES=${process.env.REQUIRE_ENGINES} requires ${name}: ${fix}`);
  console.log(`[skip] ${name} tests: ${why} (${fix})`);
  return undefined;
}

/**
 * The engine's address from `process.env[envVar]`, or undefined (after one console line) when the suite should skip.
 * Throws when the variable is unset but REQUIRE_ENGINES lists `name`.
 */
export function engineUrl(name: Exclude<EngineName, "chromium">, envVar: string): string | undefined {
  const url = process.env[envVar]?.trim();
  if (url) return url;
  return missing(name, `${envVar} is not set`, 'run "npm run engines:up" and load .engines/env');
}

/** Debian's Chromium for the console's browser tests: CHROMIUM_PATH or /usr/bin/chromium; same skip/fail rule. */
export function chromiumPath(): string | undefined {
  const path = process.env.CHROMIUM_PATH?.trim() || "/usr/bin/chromium";
  if (existsSync(path)) return path;
  return missing("chromium", `${path} does not exist`, "apt-get install -y chromium, or set CHROMIUM_PATH");
}
