// Start to healthy (issue 13: ≤ 0.5 s, median of 5): from spawning the program to the first 200 of
// GET /ready (stores open, projector running, API listening), each start on a fresh DATA_DIR (SQLite
// files created, admin token generated), then SIGTERM. Also the CPU time the start cost (user + system of
// every process of it at that moment: npm, the server, tsx's esbuild service), which a loaded machine
// inflates much less than wall time. Three ways to start, interleaved run by run in the same process so
// the machine's load weighs on all of them alike:
//   compiled   node dist/main.js (what `npm start` and the Docker image run; built first with npm run build)
//   npm start  the same through npm (npm's own start-up included)
//   tsx        node --import tsx apps/main.ts (how production started before the build)
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, SERVER_NODE_FLAGS } from "../test/harness/server.ts";
import { median } from "./load.ts";
import { printMachine, printTable } from "./machine.ts";

const ROOT = resolve(import.meta.dirname, "..");
const RUNS = Number(process.env.BENCH_START_RUNS ?? 5);
const WAYS: Record<string, string[]> = {
  compiled: [process.execPath, ...SERVER_NODE_FLAGS, "dist/main.js"],
  "npm start": ["npm", "start", "--silent"],
  tsx: [process.execPath, ...SERVER_NODE_FLAGS, "--import", "tsx", "apps/main.ts"],
};

const TICK_MS = 10; // /proc/<pid>/stat counts CPU time in clock ticks of 10 ms (USER_HZ 100)

/** user + system CPU ms of pid and every process under it (Linux /proc) */
function treeCpuMs(root: number): number {
  const stats = new Map<number, string[]>();
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      stats.set(Number(name), readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]!.split(" "));
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  const add = (pid: number) => {
    const fields = stats.get(pid);
    if (fields) total += (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    for (const [child, f] of stats) if (Number(f[1]) === pid) add(child);
  };
  add(root);
  return total;
}

/** ms from spawn to the first 200 of /ready, and the CPU ms its processes used until then */
async function startToHealthy(command: string[]): Promise<{ ms: number; cpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "bench-start-"));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dir, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" },
    stdio: "ignore",
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command.join(" ")} exited ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return { ms: performance.now() - t0, cpuMs: treeCpuMs(child.pid!) };
      if (performance.now() - t0 > 30_000) throw new Error(`${command.join(" ")}: not ready after 30 s`);
      await sleep(2);
    }
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
    rmSync(dir, { recursive: true, force: true });
  }
}

printMachine("start to healthy: spawn → first 200 of /ready, fresh DATA_DIR, median of " + RUNS);
const build = spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
if (build.status !== 0) throw new Error("npm run build failed");
await startToHealthy(WAYS.compiled!); // warm the OS file cache once for every way alike
await startToHealthy(WAYS.tsx!);
const runs: Record<string, { ms: number; cpuMs: number }[]> = Object.fromEntries(Object.keys(WAYS).map((w) => [w, []]));
for (let run = 0; run < RUNS; run++) for (const [way, command] of Object.entries(WAYS)) runs[way]!.push(await startToHealthy(command));

const tsx = { ms: median(runs.tsx!.map((r) => r.ms)), cpuMs: median(runs.tsx!.map((r) => r.cpuMs)) };
printTable(
  Object.entries(runs).map(([way, list]) => {
    const ms = median(list.map((r) => r.ms));
    const cpuMs = median(list.map((r) => r.cpuMs));
    return {
      start: way,
      "median ms": Math.round(ms),
      "runs ms": list.map((r) => Math.round(r.ms)).join(" "),
      "÷ tsx": (ms / tsx.ms).toFixed(2),
      "≤ 500 ms": ms <= 500 ? "yes" : "NO",
      "median CPU ms": Math.round(cpuMs),
      "CPU ÷ tsx": (cpuMs / tsx.cpuMs).toFixed(2),
    };
  }),
);
