// Decide whether a suite that needs a real engine runs, is skipped, or fails.
// REQUIRE_ENGINES (comma-separated, e.g. "kafka,mongo,kcat,chromium"; .ci/run sets it) turns a missing engine into an error.
// A skip prints one line "[skip] <engine>: <why>"; .ci/run repeats those reasons in its closing line.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

export type EngineName = "kafka" | "mongo" | "esdb" | "postgres" | "kcat" | "chromium" | "schemathesis" | "prometheus";

/** why an engine may be missing on this machine; otherwise: start the engines */
const MISSING_BECAUSE: Partial<Record<EngineName, string>> = {
  esdb: "no EventStoreDB server package exists for this machine",
};
const START_THEM = 'run "npm run engines:up" and load .engines/env';
/** how to get an engine that engines:up does not start */
const GET_IT: Partial<Record<EngineName, string>> = {
  chromium: "apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH",
  schemathesis: "bash infra/engines/schemathesis.sh (.ci/run does), or set SCHEMATHESIS_BIN",
  prometheus: "apt-get install -y --no-install-recommends prometheus (.ci/run does), or set PROMETHEUS_BIN and PROMTOOL_BIN",
};

const required = (name: EngineName) => (process.env.REQUIRE_ENGINES ?? "").split(/[\s,]+/).includes(name);

/** throws when REQUIRE_ENGINES names the engine, else prints the one skip line */
export function missing(name: EngineName, what: string): undefined {
  if (required(name))
    throw new Error(`${what}, but REQUIRE_ENGINES=${process.env.REQUIRE_ENGINES} requires ${name}: ${GET_IT[name] ?? START_THEM}`);
  console.log(`[skip] ${name}: ${what} — ${MISSING_BECAUSE[name] ?? GET_IT[name] ?? START_THEM}`);
  return undefined;
}

/**
 * The engine's address from `process.env[envVar]`, or undefined (after one console line) when the suite should skip.
 * Throws when the variable is unset but REQUIRE_ENGINES lists `name`.
 */
export function engineUrl(name: EngineName, envVar: string): string | undefined {
  const url = process.env[envVar]?.trim();
  return url || missing(name, `${envVar} unset`);
}

/** Whether a command-line tool (kcat) runs here; false after one skip line; throws when REQUIRE_ENGINES lists it. */
export async function toolAvailable(name: "kcat", probe: string[] = ["-V"]): Promise<boolean> {
  const runs = await new Promise<boolean>((resolve) => execFile(name, probe, (error) => resolve(!error)));
  return runs || (missing(name, `${name} not installed`) ?? false);
}

/** Debian's Chromium for the console's browser tests: CHROMIUM_PATH or /usr/bin/chromium; same skip/fail rule. */
export function chromiumPath(): string | undefined {
  const path = process.env.CHROMIUM_PATH?.trim() || "/usr/bin/chromium";
  return existsSync(path) ? path : missing("chromium", `${path} not found`);
}

/** Debian's Prometheus server and promtool (package `prometheus`): PROMETHEUS_BIN/PROMTOOL_BIN or /usr/bin; same skip/fail rule. */
export function prometheusBins(): { prometheus: string; promtool: string } | undefined {
  const prometheus = process.env.PROMETHEUS_BIN?.trim() || "/usr/bin/prometheus";
  const promtool = process.env.PROMTOOL_BIN?.trim() || "/usr/bin/promtool";
  return existsSync(prometheus) && existsSync(promtool)
    ? { prometheus, promtool }
    : missing("prometheus", `${prometheus} or ${promtool} not found`);
}
