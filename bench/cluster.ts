// Issue 11 "Measure": durable trackUsage throughput over HTTP with 1, 2 and 3 API processes (`npm start`)
// on one PostgreSQL event store, and the scaling ratio against one process. Each case gets a fresh
// database; every process runs with RUN_PROJECTOR=false and its own SQLite read store (the write path is
// measured: a command is acknowledged once its events are committed in PostgreSQL). autocannon sends 64
// connections in all, split evenly over the processes, each request to a random one of 256 accounts.
// Prints tables, never asserts. Loopback server only.
//   POSTGRES_URL=postgres://postgres@127.0.0.1:55432/aggregator node --import tsx bench/cluster.ts
// BENCH_SECONDS (default 10) per case, BENCH_ROUNDS (default 3).
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createPostgresDatabase, dropPostgresDatabase, withPostgres } from "../test/engines/raw-postgres.ts";
import { startServer } from "../test/harness/server.ts";
import { cpuSecondsOf, fmt, printMachine, printTable, systemBusySeconds } from "./machine.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 64;
const ACCOUNTS = 256;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const url = process.env.POSTGRES_URL;
if (!url || !/^postgres(ql)?:\/\/[^@/]*@?(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(url)) {
  console.error(`cluster bench: POSTGRES_URL must name a loopback server, got ${url ?? "nothing"}`);
  process.exit(2);
}

interface CannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = createRequire(import.meta.url)("autocannon") as (o: Record<string, unknown>) => Promise<CannonResult>;

const usage = (req: Record<string, unknown>) => ({
  ...req,
  body: JSON.stringify({
    userId: `acct-${Math.floor(Math.random() * ACCOUNTS)}`,
    provider: "openai",
    model: "gpt-4o-mini",
    promptTokens: 100,
    completionTokens: 50,
  }),
});

async function run(instances: number) {
  const db = await createPostgresDatabase(url!, "bench_cluster");
  const dirs = Array.from({ length: instances }, () => mkdtempSync(join(tmpdir(), "aggregator-bench-cluster-")));
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  try {
    for (const dir of dirs)
      servers.push(
        await startServer({ DATA_DIR: dir, ADMIN_TOKEN, EVENT_STORE: "postgres", POSTGRES_URL: db.url, RUN_PROJECTOR: "false" }),
      );
    const load = (seconds: number) =>
      Promise.all(
        servers.map((s) =>
          autocannon({
            url: `${s.url}/billing/usage/track`,
            connections: CONNECTIONS / instances,
            duration: seconds,
            headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
            requests: [{ method: "POST", setupRequest: usage }],
          }),
        ),
      );
    await load(2); // warm-up
    const before = await withPostgres(db.url, async (c) => Number((await c.query("SELECT count(*) AS n FROM events")).rows[0].n));
    const cpu0 = { servers: servers.map((s) => cpuSecondsOf(s.pid) ?? 0), busy: systemBusySeconds() };
    const t0 = performance.now();
    const results = await load(SECONDS);
    const elapsed = (performance.now() - t0) / 1000;
    const serverCores = servers.reduce((n, s, i) => n + ((cpuSecondsOf(s.pid) ?? 0) - cpu0.servers[i]!), 0) / elapsed;
    const busy = systemBusySeconds();
    const after = await withPostgres(db.url, async (c) => Number((await c.query("SELECT count(*) AS n FROM events")).rows[0].n));
    const acknowledged = results.reduce((n, r) => n + r.requests.total - r.non2xx, 0);
    return {
      acknowledged,
      reqPerSec: acknowledged / elapsed,
      p50: Math.max(...results.map((r) => r.latency.p50)),
      p99: Math.max(...results.map((r) => r.latency.p99)),
      failed: results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
      /** each trackUsage appends ai_usage + transaction_created */
      eventsStored: after - before,
      serverCores,
      busyCores: busy === null || cpu0.busy === null ? null : (busy - cpu0.busy) / elapsed,
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await dropPostgresDatabase(url!, db.name);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

printMachine("cluster: durable trackUsage on PostgreSQL with 1, 2, 3 API processes");
const byCase = new Map<number, Awaited<ReturnType<typeof run>>[]>();
for (let round = 0; round < ROUNDS; round++) for (const n of [1, 2, 3]) byCase.set(n, [...(byCase.get(n) ?? []), await run(n)]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(byCase.get(1)!.map((r) => r.reqPerSec));
printTable(
  [1, 2, 3].map((n) => {
    const rs = byCase.get(n)!;
    const rps = median(rs.map((r) => r.reqPerSec));
    return {
      "API processes": n,
      "req/s (median)": fmt(rps),
      rounds: rs.map((r) => fmt(r.reqPerSec)).join(" / "),
      "ratio vs 1": (rps / base).toFixed(2),
      "p50 / p99 ms (worst process)": `${median(rs.map((r) => r.p50))} / ${median(rs.map((r) => r.p99))}`,
      failed: rs.reduce((a, r) => a + r.failed, 0),
      "events stored / (2 × acknowledged)": rs.map((r) => (r.eventsStored / 2 / r.acknowledged).toFixed(2)).join(" / "),
      "API cores": median(rs.map((r) => r.serverCores)).toFixed(2),
      "machine busy cores": rs.map((r) => (r.busyCores === null ? "?" : r.busyCores.toFixed(2))).join(" / "),
    };
  }),
);
