// `npm run bench [-- NAME...]`: runs the bench scripts of bench/ one after the other, each in its own
// process (`node --import tsx bench/<name>.ts`), so one script's heap, servers and peak RSS never
// touch the next one's figures. NAME filters by prefix (`core`, `replay`). A script whose file is not
// there yet, or whose engine is not configured, is skipped with the reason printed.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { printMachine, printTable } from "./machine.ts";

const ROOT = resolve(import.meta.dirname, "..");
const DIR = join(ROOT, "bench");
/** seconds a script may run before it is stopped: BENCH_TIMEOUT_S, else its own timeoutS, else 600 */
const timeoutOf = (bench: Bench) => Number(process.env.BENCH_TIMEOUT_S ?? bench.timeoutS ?? 600);

interface Bench {
  name: string;
  /** what it measures (the issue whose "Measure" section asks for it) */
  about: string;
  /** environment variables naming the engines it needs */
  needs?: string[];
  /** its default time limit, when 600 s is not enough */
  timeoutS?: number;
}

const KNOWN: Bench[] = [
  { name: "core", about: "issue 2: HTTP trackUsage, RSS, latency vs stream length, projection catch-up" },
  {
    name: "gateway",
    about: "issues 4, 13: latency and throughput added over the upstream fixture, ours and Portkey's gateway",
    timeoutS: 1500, // 6 targets × 3 loads × 3 rounds of 13 s, and Portkey's install on a new machine
  },
  { name: "telemetry", about: "issue 10: gateway and trackUsage throughput with tracing exported and /metrics scraped vs off" },
  { name: "commit-wait", about: "issue 13: where a durable request waits, arrival → group commit → response (bench-only probe)" },
  { name: "memory", about: "issue 13: what holds the RSS of npm start under load (bench-only probe, heap snapshot)" },
  { name: "floor", about: "issue 13: CPU per request of the baselines, the bare floor and ours; the highest ratio 2 cores allow" },
  { name: "start", about: "issue 13: start to healthy, compiled (node dist/main.js, npm start) vs tsx, median of 5" },
  { name: "replay-*", about: "issue 5: replay from the topic / from the store" },
  { name: "rebuild", about: "issue 5: rebuild of all projections" },
  { name: "console", about: "issue 9: console first-load weight and time to interactive, 100k events (Chromium)" },
  { name: "relay", about: "issue 3: relay to Kafka vs a raw producer", needs: ["KAFKA_BROKERS"] },
  { name: "projection-mongo", about: "issue 3: projection catch-up on MongoDB vs raw bulkWrite", needs: ["MONGO_URL"] },
  { name: "postgres", about: "issue 11: PostgreSQL event store appends vs raw batched INSERTs", needs: ["POSTGRES_URL"] },
  { name: "cluster", about: "issue 11: durable trackUsage with 1, 2, 3 API processes on PostgreSQL", needs: ["POSTGRES_URL"] },
];

/** engines a script needs, from its declaration or, for discovered ones, from its name */
const needsOf = (bench: Bench) =>
  bench.needs ?? [...(/kafka|topic|relay/.test(bench.name) ? ["KAFKA_BROKERS"] : []), ...(/mongo/.test(bench.name) ? ["MONGO_URL"] : [])];

function expand(bench: Bench): Bench[] {
  if (!bench.name.endsWith("*")) return [bench];
  const prefix = bench.name.slice(0, -1);
  const found = readdirSync(DIR)
    .filter((f) => f.startsWith(prefix) && f.endsWith(".ts"))
    .sort();
  return found.length > 0 ? found.map((f) => ({ ...bench, name: f.slice(0, -3) })) : [bench];
}

let current: number | null = null; // process group of the running script
let interrupted = false;
const killGroup = (signal: NodeJS.Signals, group = current) => {
  if (group === null) return;
  try {
    process.kill(-group, signal);
  } catch {
    /* already gone */
  }
};
// scripts run detached (own process group): Ctrl-C reaches only this process, which passes it on and stops
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interrupted = true;
    killGroup(signal);
  });
}

/** Runs one script in its own process group; past the timeout the whole group (its servers too) is killed. */
async function runScript(name: string, timeoutS: number): Promise<{ code: number | null; timedOut: boolean }> {
  const child = spawn(process.execPath, ["--import", "tsx", `bench/${name}.ts`], { cwd: ROOT, stdio: "inherit", detached: true });
  current = child.pid!;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`\n${name}: no result after ${timeoutS} s (BENCH_TIMEOUT_S), stopping it`);
    const group = current;
    killGroup("SIGTERM", group);
    setTimeout(() => killGroup("SIGKILL", group), 5000).unref(); // servers it started that ignore SIGTERM
  }, timeoutS * 1000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  current = null;
  return { code, timedOut };
}

const filters = process.argv.slice(2);
const selected = KNOWN.flatMap(expand).filter((b) => filters.length === 0 || filters.some((f) => b.name.startsWith(f)));
if (selected.length === 0) {
  console.error(`no bench matches ${filters.join(" ")}; known: ${KNOWN.map((b) => b.name).join(", ")}`);
  process.exit(2);
}

printMachine(`npm run bench${filters.length ? ` -- ${filters.join(" ")}` : ""}`);
const summary: Record<string, string>[] = [];
let failed = 0;
for (const bench of selected) {
  if (interrupted) break;
  const file = join(DIR, `${bench.name}.ts`);
  const missing = needsOf(bench).filter((v) => !process.env[v]);
  let status: string;
  let seconds = "";
  if (bench.name.endsWith("*") || !existsSync(file)) {
    status = `skipped: bench/${bench.name}.ts does not exist yet`;
  } else if (missing.length > 0) {
    status = `skipped: ${missing.join(" and ")} not set (start the engines, e.g. npm run engines:up, and export it)`;
  } else {
    const t0 = performance.now();
    const { code, timedOut } = await runScript(bench.name, timeoutOf(bench));
    seconds = ((performance.now() - t0) / 1000).toFixed(0);
    status = timedOut ? "FAILED: timed out" : code === 0 ? "ok" : `FAILED: exit ${code}`;
    if (status !== "ok") failed++;
  }
  if (status.startsWith("skipped")) console.log(`\n${bench.name}: ${status}`);
  summary.push({ bench: bench.name, about: bench.about, status, seconds });
}
console.log("\nSummary");
printTable(summary);
process.exit(failed > 0 ? 1 : 0);
