// Issue 5 "Measure": replay from the event store over HTTP (GET /events, NDJSON, from `npm start` with
// the projector off) vs reading the SQLite events table directly, in the same run. Target: ratio >= 0.5.
// Both sides end with every event as a parsed object. Prints tables, never asserts.
//   node --import tsx bench/replay-store.ts
// BENCH_STORE_EVENTS (default 200000) events; BENCH_ROUNDS (default 5) alternating rounds. The ratio is
// the median of per-round ratios: both sides of a round share whatever load the machine has then.
import { mkdtempSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { openSqliteEventStore } from "../infra/sqlite/event-store.ts";
import { runCli } from "../test/harness/cli.ts";
import { startServer } from "../test/harness/server.ts";
import { seedSynthetic } from "../test/fixtures/synthetic.ts";
import { fmt, memoryOf, printMachine, printTable, sampleRss } from "./machine.ts";

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ACCOUNTS = 200;
const HEAP_MB = 64;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-replay-"));
const file = join(dir, "events.db");

/** the baseline: one SELECT over the table, rows iterated, data and metadata parsed */
function readTable(parse: boolean): number {
  const store = openSqliteEventStore(file);
  try {
    let n = 0;
    const rows = store.db
      .prepare("SELECT position, stream, revision, type, data, metadata FROM events ORDER BY position")
      .iterate() as Iterable<{ data: string; metadata: string }>;
    for (const row of rows) {
      if (parse) {
        JSON.parse(row.data);
        JSON.parse(row.metadata);
      }
      n++;
    }
    return n;
  } finally {
    void store.close();
  }
}

let bytesRead = 0;

/** the candidate: GET /events streamed (node:http), split into lines, each line parsed */
function readHttp(url: string, query = ""): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${url}/events${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /events → ${res.statusCode}`));
      res.setEncoding("utf8");
      let rest = "";
      let n = 0;
      bytesRead = 0;
      res.on("data", (chunk: string) => {
        bytesRead += Buffer.byteLength(chunk);
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          JSON.parse(line);
          n++;
        }
      });
      res.on("end", () => resolve(n));
      res.on("error", reject);
    }).on("error", reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function rate(run: () => number | Promise<number>) {
  const started = performance.now();
  const n = await run();
  if (n !== EVENTS) throw new Error(`read ${n} of ${EVENTS} events`);
  return n / ((performance.now() - started) / 1000);
}

printMachine("replay-store: GET /events (NDJSON over HTTP) vs reading the SQLite table directly");
try {
  const seeding = openSqliteEventStore(file);
  await seedSynthetic(seeding, { accounts: ACCOUNTS, eventsPerAccount: EVENTS / ACCOUNTS, chunk: 250 });
  await seeding.close();
  console.log(`store: ${fmt(EVENTS)} synthetic account events (${ACCOUNTS} accounts)`);
  const results: Record<string, number[]> = { rows: [], table: [], http: [], http200: [] };
  const server = await startServer({ DATA_DIR: dir, ADMIN_TOKEN, RUN_PROJECTOR: "false", LOG_LEVEL: "warn" });
  const idleRss = memoryOf(server.pid).rssMb;
  const rss = sampleRss(server.pid, 50);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      results.rows!.push(await rate(() => readTable(false)));
      results.table!.push(await rate(() => readTable(true)));
      results.http!.push(await rate(() => readHttp(server.url)));
      results.http200!.push(await rate(() => readHttp(server.url, "?pageSize=200")));
    }
  } finally {
    const peak = rss.stop();
    await server.stop();
    console.log(
      `server RSS: ${fmt(idleRss, 1)} MB idle, ${fmt(peak, 1)} MB peak while streaming ${fmt(EVENTS)} events ${ROUNDS * 2} times`,
    );
  }
  // flat memory: a server whose heap is capped far below the size of the replay still streams all of it
  const capped = await startServer({
    DATA_DIR: dir,
    ADMIN_TOKEN,
    RUN_PROJECTOR: "false",
    LOG_LEVEL: "warn",
    NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
  });
  try {
    const n = await readHttp(capped.url);
    console.log(
      `server with --max-old-space-size=${HEAP_MB}: streamed ${fmt(n)} events (${fmt(bytesRead / 2 ** 20)} MB of NDJSON); its peak RSS ${fmt(memoryOf(capped.pid).peakMb, 1)} MB`,
    );
  } finally {
    await capped.stop();
  }
  const cliStart = performance.now();
  const cli = await runCli(["replay", "--source", "store", "--out", "/dev/null"], { DATA_DIR: dir });
  const cliRate = EVENTS / ((performance.now() - cliStart) / 1000);
  if (cli.code !== 0) throw new Error(`aggregator replay failed: ${cli.stderr}`);

  const base = results.table!;
  const ratioOf = (rates: number[]) => median(rates.map((r, i) => r / base[i]!));
  const row = (reader: string, rates: number[]) => ({
    reader,
    "events/s (median)": fmt(median(rates)),
    "rounds (events/s)": rates.map((r) => fmt(r)).join(" / "),
    "ratio vs table": ratioOf(rates).toFixed(2),
  });
  console.log(`\n${ROUNDS} rounds, each reading all ${fmt(EVENTS)} events; ratio = median of per-round ratios`);
  printTable([
    row("baseline: SQLite table, rows iterated + JSON.parse(data, metadata)", base),
    row("diagnostic: SQLite table, rows only (no parse)", results.rows!),
    row("GET /events (default pageSize 1000), client parses each line", results.http!),
    row("diagnostic: GET /events?pageSize=200", results.http200!),
    {
      reader: "diagnostic: aggregator replay --source store --out /dev/null (child process, tsx start-up included)",
      "events/s (median)": fmt(cliRate),
      "rounds (events/s)": "1 run",
      "ratio vs table": (cliRate / median(base)).toFixed(2),
    },
  ]);
  const ratio = ratioOf(results.http!);
  console.log(`\ntarget: GET /events / table >= 0.5 → measured ${ratio.toFixed(2)}: ${ratio >= 0.5 ? "reached" : "NOT reached"}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
