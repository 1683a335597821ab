// Decide whether a suite that needs a real engine runs, is skipped, or fails.
// REQUIRE_ENGINES (comma-separated, e.g. "kafka,mongo"; .ci/run sets it) turns a missing URL into an error.

export type EngineName = "kafka" | "mongo" | "esdb" | "postgres";

/**
 * The engine's address from `process.env[envVar]`, or undefined (after one console line) when the suite should skip.
 * Throws when the variable is unset but REQUIRE_ENGINES lists `name`.
 */
export function engineUrl(name: EngineName, envVar: string): string | undefined {
  const url = process.env[envVar]?.trim();
  if (url) return url;
  const required = (process.env.REQUIRE_ENGINES ?? "").split(/[\s,]+/).filter(Boolean);
  if (required.includes(name)) {
    throw new Error(
      `${envVar} is not set, but REQUIRE_ENGINES=${process.env.REQUIRE_ENGINES} requires ${name}: ` +
        `run "npm run engines:up" and load .engines/env`,
    );
  }
  console.log(`[skip] ${name} tests: ${envVar} is not set (run "npm run engines:up" and load .engines/env)`);
  return undefined;
}
