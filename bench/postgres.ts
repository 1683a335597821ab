// Issue 11 "Measure": appends/s through the PostgreSQL event store (infra/postgres: group commit, one
// advisory lock per batch so positions commit in order, exact revision and event id checks, NOTIFY) vs raw
// batched INSERTs of the same rows through `pg` (INSERT ... SELECT FROM unnest, 1,000 rows per statement
// and transaction, one connection, a table with the same columns, constraints and indexes), in the same run.
// Both send data and metadata as newline-joined JSON texts split server-side (a json[] literal costs pg more
// client CPU than the server spends inserting; a diagnostic row shows it). The workload is gateway traffic:
// per account a top-up (2 events), then per request a hold (1 event) and a settlement (3 events), each
// append at the stream's exact revision, every account appending at once.
// Diagnostics: the store shared by 4 instances (4 pools, like 4 API processes: their batches serialize on
// the lock), and the cost of serializing itself: 4 raw connections committing 10-row transactions with
// and without the append lock. Target: store/raw >= 0.5. Prints tables, never asserts. Loopback server only.
//   POSTGRES_URL=postgres://postgres@127.0.0.1:55432/aggregator node --import tsx bench/postgres.ts
// BENCH_PG_ACCOUNTS (default 1000), BENCH_PG_REQUESTS per account (default 10), BENCH_ROUNDS (default 3).
import { performance } from "node:perf_hooks";
import type { ExpectedRevision } from "../domain/event-store.ts";
import { accountStream, type NewEvent } from "../domain/events.ts";
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  rawBatchedInserts,
  withPostgres,
  type RawEventRow,
  type RawInsertOptions,
} from "../test/engines/raw-postgres.ts";
import { openPostgresEventStore } from "../infra/postgres/event-store.ts";
import { syntheticAccount } from "../test/fixtures/synthetic.ts";
import { fmt, memoryOf, printMachine, printTable } from "./machine.ts";

const ACCOUNTS = Number(process.env.BENCH_PG_ACCOUNTS ?? 1000);
const REQUESTS = Number(process.env.BENCH_PG_REQUESTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const url = process.env.POSTGRES_URL;
if (!url) {
  console.error("postgres bench: POSTGRES_URL is not set");
  process.exit(2);
}
if (!/^postgres(ql)?:\/\/[^@/]*@?(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(url)) {
  console.error(`postgres bench: a loopback server only, got ${url}`);
  process.exit(2);
}

/** an account's history cut the way the gateway appends it: [top-up, tx], then [reserve], [usage, tx, release] per request */
function appendsOf(events: NewEvent[]): NewEvent[][] {
  const out = [events.slice(0, 2)];
  for (let i = 2; i < events.length; i += 4) out.push(events.slice(i, i + 1), events.slice(i + 1, i + 4));
  return out;
}
const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
  stream: accountStream(`user-${i}`),
  appends: appendsOf(syntheticAccount(`user-${i}`, 2 + 4 * REQUESTS, Date.UTC(2026, 0, 1) + i * 7)),
}));
const appendCount = accounts.reduce((n, a) => n + a.appends.length, 0);
const eventCount = accounts.reduce((n, a) => n + a.appends.flat().length, 0);
// the same rows, in the order the appends go out (every account's k-th append, then the (k+1)-th)
const rows: RawEventRow[] = [];
for (let k = 0; k < 1 + 2 * REQUESTS; k++) {
  for (const a of accounts) {
    const before = a.appends.slice(0, k).flat().length;
    a.appends[k]!.forEach((e, i) =>
      rows.push({
        stream: a.stream,
        revision: before + i,
        eventId: e.metadata.eventId,
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      }),
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const countRows = (dbUrl: string, table: string) =>
  withPostgres(dbUrl, async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));

/** one fresh database per round, dropped afterwards */
async function inFreshDatabase<T extends { seconds: number }>(work: (dbUrl: string) => Promise<T>, table: string): Promise<T> {
  const db = await createPostgresDatabase(url!, "bench_pg");
  try {
    const result = await work(db.url);
    const stored = await countRows(db.url, table);
    if (stored !== eventCount) throw new Error(`${stored} rows stored, expected ${eventCount}`);
    return result;
  } finally {
    await dropPostgresDatabase(url!, db.name);
  }
}

/** every account appends its history at once, at exact revisions, through `instances` stores */
const storeRound = (instances: number) =>
  inFreshDatabase(async (dbUrl) => {
    const stores = await Promise.all(Array.from({ length: instances }, () => openPostgresEventStore(dbUrl)));
    const t0 = performance.now();
    await Promise.all(
      accounts.map(async (a, i) => {
        let expected: ExpectedRevision = "no_stream";
        for (const events of a.appends) expected = (await stores[i % instances]!.append(a.stream, events, expected)).nextExpectedRevision;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const commits = stores.reduce((n, s) => n + s.stats.commits, 0);
    await Promise.all(stores.map((s) => s.close()));
    return { seconds, commits };
  }, "events");

const rawRound = (options: RawInsertOptions) =>
  inFreshDatabase(
    async (dbUrl) => ({
      seconds: await rawBatchedInserts(dbUrl, "raw_events", rows, options),
      commits: Math.ceil(rows.length / options.batchSize),
    }),
    "raw_events",
  );

const CASES = [
  { name: "baseline: raw INSERT ... unnest, 1,000 rows per transaction, 1 connection", run: () => rawRound({ batchSize: 1000 }) },
  { name: "diagnostic: the same with data and metadata as json[] parameters", run: () => rawRound({ batchSize: 1000, bodies: "arrays" }) },
  { name: "event store: group commit, 1 instance", run: () => storeRound(1) },
  { name: "diagnostic: event store shared by 4 instances (4 pools)", run: () => storeRound(4) },
  { name: "diagnostic: raw, 10 rows per transaction, 4 connections, no lock", run: () => rawRound({ batchSize: 10, connections: 4 }) },
  {
    name: "diagnostic: raw, 10 rows per transaction, 4 connections, append lock",
    run: () => rawRound({ batchSize: 10, connections: 4, lock: true }),
  },
];

printMachine("postgres: event store appends vs raw batched INSERTs of the same rows");
console.log(
  `workload: ${fmt(ACCOUNTS)} accounts × (top-up + ${REQUESTS} gateway requests) = ${fmt(appendCount)} appends, ${fmt(eventCount)} events; server ${url}`,
);
const results = CASES.map(() => ({ seconds: [] as number[], commits: [] as number[] }));
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, c] of CASES.entries()) {
    const r = await c.run();
    results[i]!.seconds.push(r.seconds);
    results[i]!.commits.push(r.commits);
    console.log(`  round ${round + 1}, ${c.name}: ${fmt(r.seconds, 2)} s, ${fmt(r.commits)} transactions`);
  }
}
const baseline = eventCount / median(results[0]!.seconds);
console.log(`\n${ROUNDS} round(s), each into a fresh database; figures are medians`);
printTable(
  CASES.map((c, i) => {
    const s = median(results[i]!.seconds);
    return {
      case: c.name,
      "appends/s": c.name.startsWith("event store") || c.name.includes("event store shared") ? fmt(appendCount / s) : "-",
      "events/s": fmt(eventCount / s),
      "rounds (events/s)": results[i]!.seconds.map((x) => fmt(eventCount / x)).join(" / "),
      transactions: fmt(median(results[i]!.commits)),
      "ratio vs baseline": (eventCount / s / baseline).toFixed(2),
    };
  }),
);
const ratio = eventCount / median(results[2]!.seconds) / baseline;
const lockCost = median(results[5]!.seconds) / median(results[4]!.seconds);
console.log(`\ntarget: event store/raw >= 0.5 → measured ${ratio.toFixed(2)}: ${ratio >= 0.5 ? "reached" : "NOT reached"}`);
console.log(`cost of serializing small transactions (10 rows, 4 connections): ${lockCost.toFixed(2)}× the time without the lock`);
console.log(`peak RSS of this process: ${fmt(memoryOf().peakMb, 1)} MB`);
