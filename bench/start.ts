// Start to healthy (issue 13: ≤ 0.5 s, median of 5): from spawning the program to the first 200 of
// GET /ready (stores open, projector running, API listening), each start on a fresh DATA_DIR (SQLite
// files created, admin token generated), then SIGTERM. Three ways to start, interleaved run by run in
// the same process so the machine's load weighs on all of them alike:
//   compiled   node dist/main.js (what `npm start` and the Docker image run; built first with npm run build)
//   npm start  the same through npm (npm's own start-up included)
//   tsx        node --import tsx apps/main.ts (how production started before the build)
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
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

/** ms from spawn to the first 200 of /ready */
async function startToHealthy(command: string[]): Promise<number> {
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
      if (ok) return performance.now() - t0;
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
const times: Record<string, number[]> = Object.fromEntries(Object.keys(WAYS).map((w) => [w, []]));
for (let run = 0; run < RUNS; run++) for (const [way, command] of Object.entries(WAYS)) times[way]!.push(await startToHealthy(command));

const tsx = median(times.tsx!);
printTable(
  Object.entries(times).map(([way, list]) => ({
    start: way,
    "median ms": Math.round(median(list)),
    "runs ms": list.map(Math.round).join(" "),
    "÷ tsx": (median(list) / tsx).toFixed(2),
    "≤ 500 ms": median(list) <= 500 ? "yes" : "NO",
  })),
);
