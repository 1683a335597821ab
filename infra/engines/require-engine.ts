// Decide whether a suite that needs a real engine runs, is skipped, or fails.
// REQUIRE_ENGINES (comma-separated, e.g. "kafka,mongo"; .ci/run sets it) turns a missing URL into an error.

export type EngineName = "kafka" | "mongo" | "esdb" | "postgres" | "schemathesis";

/**
 * The engine's address from `process.env[envVar]`, or undefined (after one console line) when the suite should skip.
 * Throws when the variable is unset but REQUIRE_ENGINES lists `name`.
 */
export function engineUrl(name: EngineName, envVar: string): string | undefined {
  const url = process.env[envVar]?.trim();
  if (url) return url;
  return engineMissing(name, `${envVar} is not set`, 'run "npm run engines:up" and load .engines/env');
}

/** undefined (after one console line) when the suite should skip; throws when REQUIRE_ENGINES lists `name`. */
export function engineMissing(name: EngineName, why: string, remedy: string): undefined {
  const required = (process.env.REQUIRE_ENGINES ?? "").split(/[\s,]+/).filter(Boolean);
  if (required.includes(name)) throw new Error(`${why}, but REQUIRE_ENGINES=${process.env.REQUIRE_ENGINES} requires ${name}: ${remedy}`);
  console.log(`[skip] ${name} tests: ${why} (${remedy})`);
  return undefined;
}
