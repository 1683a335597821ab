// Issue 13 item 4: where a durable request waits between arriving and its group commit being acknowledged.
//   node --import tsx bench/commit-wait.ts        (BENCH_SECONDS per load, default 10; BENCH_ROUNDS, default 2;
//                                                  BENCH_BEFORE=<dir>: a checkout of another commit, measured too)
// The server runs as `npm start` does, plus the bench-only probe bench/probes/commit-probe.mjs (no production
// code): per request, arrival → posted to the writer → taken off the writer's port → committed (transaction +
// fsync) → reply read on the main thread → appends resolved → response sent. Loads: durable trackUsage at 64
// connections (closed loop, 64 accounts, as bench/core.ts) and the gateway at 300 req/s (open loop, hold and
// settlement per request, as bench/gateway.ts). With BENCH_BEFORE the two checkouts alternate within each round, so
// both see the same machine; the probe perturbs both alike (a regex per event, a clock read per step).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { closeLoad, pct } from "./load.ts";
import { printMachine, printTable } from "./machine.ts";
import { startFixture } from "./peers.ts";
import { LOADS, seed, startProbed, upstreamEnv } from "./probes/server.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PROBE = join(ROOT, "bench", "probes", "commit-probe.mjs");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Req {
  id: string;
  url: string;
  status: number;
  arrive: number;
  finish: number;
}
interface Batch {
  seq: number;
  scheduled: number | null;
  posted: number;
  taken?: number;
  committed?: number;
  received?: number;
  settled?: number;
  commitStart?: number;
  groupMessages?: number;
  groupAppends?: number;
  appends: number;
  ids: string[];
}
interface Probe {
  requests: Req[];
  batches: Batch[];
  loopDelay: { p50: number; p99: number; mean: number };
}

/** each request's appends, in order, with their batch's timings; segments in ms */
function segments(probe: Probe, path: string) {
  const byId = new Map<string, Batch[]>();
  for (const b of probe.batches) if (b.settled !== undefined) for (const id of b.ids) (byId.get(id) ?? byId.set(id, []).get(id)!).push(b);
  const rows = new Map<string, number[]>();
  const add = (name: string, v: number) => (rows.get(name) ?? rows.set(name, []).get(name)!).push(v);
  let matched = 0;
  for (const r of probe.requests) {
    const appends = byId.get(r.id);
    if (r.url !== path || r.status >= 300 || !appends) continue;
    matched++;
    appends.sort((a, b) => a.posted - b.posted);
    let from = r.arrive;
    appends.forEach((b, i) => {
      const n = appends.length > 1 ? ` (append ${i + 1})` : "";
      add(i === 0 ? `arrival → posted to writer${n}` : `resolved → posted to writer${n}`, b.posted - from);
      // the loop turn's post was scheduled by its first append: this one waited from then or from its arrival
      if (b.scheduled !== null) add(`  of which loop turn before the post${n}`, b.posted - Math.max(b.scheduled, from));
      add(`posted → taken off the writer's port${n}`, b.taken! - b.posted);
      add(`taken → committed (transaction + fsync)${n}`, b.committed! - b.taken!);
      add(`committed → reply read on main${n}`, b.received! - b.committed!);
      add(`reply read → appends resolved${n}`, b.settled! - b.received!);
      from = b.settled!;
    });
    add("resolved → response sent", r.finish - from);
    add("total: arrival → response sent", r.finish - r.arrive);
  }
  const commits = new Map<number, Batch>();
  for (const b of probe.batches) if (b.commitStart !== undefined) commits.set(b.commitStart, b);
  const c = [...commits.values()];
  rows.set(
    "per commit: transaction + fsync",
    c.map((b) => b.committed! - b.commitStart!),
  );
  rows.set(
    "per commit: appends",
    c.map((b) => b.groupAppends!),
  );
  rows.set(
    "per commit: messages drained",
    c.map((b) => b.groupMessages!),
  );
  rows.set("main loop delay (monitorEventLoopDelay)", [probe.loopDelay.p50, probe.loopDelay.p99]);
  return { rows, matched, commits: c.length };
}

async function main() {
  printMachine("commit wait: where a durable request waits (issue 13, item 4)");
  const checkouts: [string, string][] = [["HEAD", ROOT]];
  if (process.env.BENCH_BEFORE)
    checkouts.unshift([`before (${process.env.BENCH_BEFORE_NAME ?? process.env.BENCH_BEFORE})`, process.env.BENCH_BEFORE]);
  console.log(`${ROUNDS} round(s) of ${SECONDS} s per load after 3 s warm-up; checkouts: ${checkouts.map(([n]) => n).join(", ")}`);
  const fixture = await startFixture();
  try {
    for (let round = 1; round <= ROUNDS; round++)
      for (const load of LOADS)
        for (const [name, root] of checkouts) {
          const server = await startProbed(root, PROBE, upstreamEnv(fixture.url));
          const keys = await seed(server.url);
          await load.run(server.url, 3, keys);
          server.signal(); // the probe forgets the warm-up
          await new Promise((r) => setTimeout(r, 50));
          const said = await load.run(server.url, SECONDS, keys);
          await server.stop();
          const probe = JSON.parse(readFileSync(server.out, "utf8")) as Probe;
          server.remove();
          const { rows, matched, commits } = segments(probe, load.path);
          console.log(`\n### round ${round}: ${load.name} — ${name}: ${said}; ${matched} requests matched, ${commits} commits`);
          printTable(
            [...rows].map(([segment, values]) => {
              const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
              const count = segment.startsWith("per commit: a") || segment.startsWith("per commit: m");
              const fixed = (v: number) => (count ? v.toFixed(0) : `${v.toFixed(3)} ms`);
              return segment.startsWith("main loop")
                ? { segment, p50: fixed(values[0]!), p99: fixed(values[1]!), n: "-" }
                : { segment, p50: fixed(pct(sorted, 50)), p99: fixed(pct(sorted, 99)), n: sorted.length };
            }),
          );
        }
  } finally {
    closeLoad();
    await fixture.stop();
  }
}

await main();
