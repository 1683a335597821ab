// Issue 5 "Measure": rebuild of all projections (`aggregator projections rebuild --all`: fresh
// collections next to the live ones, then the switch) in events/s with peak RSS, against the live
// projector catching up the same events into an empty read store, in the same run. Each phase runs in its
// own process so its peak RSS (VmHWM) is its own. Prints tables, never asserts.
//   node --import tsx bench/rebuild.ts          BENCH_REBUILD_EVENTS (default 200000)
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { compose, TOKENS } from "../apps/composition/container.ts";
import { loadConfig } from "../infra/config.ts";
import { allProjections } from "../projections/index.ts";
import { rebuildProjections } from "../projections/rebuild.ts";
import { projectToHead } from "../test/harness/read-models.ts";
import { seedSynthetic } from "../test/fixtures/synthetic.ts";
import { fmt, memoryOf, printMachine, printTable } from "./machine.ts";

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 200_000);
const ACCOUNTS = 200;
type Phase = "read" | "projector" | "rebuild";
interface Measured {
  events: number;
  seconds: number;
  peakMb: number | null;
}

/** one phase, in this (child) process; prints its figures as JSON on stdout */
async function phase(name: Phase, dir: string): Promise<void> {
  const root = compose(loadConfig({ DATA_DIR: dir, LOG_LEVEL: "silent" }));
  const [events, reads] = await Promise.all([root.resolve(TOKENS.events), root.resolve(TOKENS.reads)]);
  const head = await events.headPosition();
  const started = performance.now();
  if (name === "read") {
    for (let after = 0; ;) {
      const page = await events.readAll({ after, maxCount: 2000 });
      if (page.length === 0) break;
      after = page.at(-1)!.position;
    }
  } else if (name === "projector") {
    await projectToHead(events, reads, 2000);
  } else {
    const result = await rebuildProjections({ events, reads, projections: allProjections, pageSize: 2000 });
    if (!result.completed || result.events !== head) throw new Error(`rebuild read ${result.events} of ${head}`);
  }
  const seconds = (performance.now() - started) / 1000;
  await root.close();
  const measured: Measured = { events: head, seconds, peakMb: memoryOf().peakMb };
  process.stdout.write(JSON.stringify(measured));
}

async function inChild(name: Phase, dir: string): Promise<Measured> {
  const child = spawn(process.execPath, ["--import", "tsx", import.meta.filename, "--phase", name, dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`phase ${name} exited ${code}`);
  return JSON.parse(out) as Measured;
}

async function main() {
  printMachine("rebuild: projections rebuild --all vs the live projector's catch-up");
  const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-rebuild-"));
  try {
    const seeding = compose(loadConfig({ DATA_DIR: dir, LOG_LEVEL: "silent" }));
    await seedSynthetic(await seeding.resolve(TOKENS.events), { accounts: ACCOUNTS, eventsPerAccount: EVENTS / ACCOUNTS, chunk: 250 });
    await seeding.close();
    console.log(`store: ${fmt(EVENTS)} synthetic account events (${ACCOUNTS} accounts: top-ups, reservations, usage, charges, releases)`);
    const read = await inChild("read", dir);
    const live = await inChild("projector", dir); // leaves the live read models in read.db
    const rebuilt = await inChild("rebuild", dir); // next to the live collections, then switched
    const rate = (m: Measured) => m.events / m.seconds;
    const row = (what: string, m: Measured) => ({
      phase: what,
      events: fmt(m.events),
      seconds: fmt(m.seconds, 1),
      "events/s": fmt(rate(m)),
      "ratio vs projector": (rate(m) / rate(live)).toFixed(2),
      "peak RSS MB": fmt(m.peakMb, 1),
    });
    printTable([
      row("baseline: live projector catch-up into an empty read store", live),
      row("projections rebuild --all (fresh __rebuild collections, then switch)", rebuilt),
      row("diagnostic: readAll pages only, nothing projected", read),
    ]);
    console.log(`\nprojections: ${allProjections.map((p) => p.name).join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf("--phase");
if (at > 0) await phase(process.argv[at + 1] as Phase, process.argv[at + 2]!);
else await main();
