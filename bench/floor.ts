// Issue 13: what the two throughput targets leave per request on this machine, and what a durable billed
// request costs at its floor. Prints tables, never asserts.
//   node --import tsx bench/floor.ts      (BENCH_SECONDS per HTTP phase, default 8)
// 1. CPU per request of the baselines the targets divide by, and of the floors built from the same parts, each
//    under autocannon at 64 connections: the bare fastify POST (bench/bare-server.ts, core's baseline), the
//    fixture called directly, the bare proxy in front of it (bench/bare-proxy.ts, no billing); and of ours
//    (`npm start`) under the same two loads, per thread.
// 2. The billing work at its floor, in this process, one thread, no HTTP: deciding and chaining trackUsage's two
//    events (the domain's own functions), writing them as rows of the event table (infra/sqlite's schema, its
//    writer's pragmas, the stream's revision read first, 64 requests per commit, synchronous = FULL), and one raw
//    row per event in a read table (the projection baseline of bench/core.ts).
// 3. The most requests per second two cores allow at floor cost plus the load generator's, ÷ the baseline
//    measured in this run: the highest ratio each target could read here.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { accountDecider, decideAccount, evolveAccount, type AccountCommand, type AccountEventInput } from "../domain/account.ts";
import { accountStream, type NewEvent } from "../domain/events.ts";
import { chain } from "../domain/hash-chain.ts";
import { startServer } from "../test/harness/server.ts";
import { openEventTable } from "./durable-floor.ts";
import { cpuSecondsOf, fmt, printMachine, printTable, threadCpuSeconds } from "./machine.ts";
import { startBareProxy, startBareServer, startFixture } from "./peers.ts";
import { ADMIN_TOKEN, seed, UPSTREAM_KEY, upstreamEnv } from "./probes/server.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 64;
const ACCOUNTS = 64;
/** events a plain gateway request appends: usage_reserved, then ai_usage + transaction_created + usage_released */
const GATEWAY_EVENTS = 4;
const TRACK_EVENTS = 2;
const CHAT = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello to the benchmark." }], max_tokens: 64 });
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

type Cannon = (options: Record<string, unknown>) => Promise<{ requests: { total: number }; non2xx: number; errors: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;

interface Measured {
  reqPerSec: number;
  /** ms of CPU per answered request: each measured process, and autocannon (this process) */
  serverMs: number;
  clientMs: number;
  /** the first process's main thread (its tid is its pid), ms per request */
  main: number;
  /** its other threads (workers, V8's and libuv's helpers), ms per request, largest first */
  threads: number[];
}

/** autocannon at 64 connections for SECONDS (after 2 s of warm-up); CPU of `pids` and of this process meanwhile */
async function measure(pids: number[], options: Record<string, unknown>): Promise<Measured> {
  const run = (duration: number) => autocannon({ connections: CONNECTIONS, duration, ...options });
  await run(2);
  const cpu = () => pids.reduce((sum, pid) => sum + (cpuSecondsOf(pid) ?? 0), 0);
  const [server0, client0, threads0] = [cpu(), cpuSecondsOf() ?? 0, threadCpuSeconds(pids[0]!)];
  const r = await run(SECONDS);
  const [server1, client1, threads1] = [cpu(), cpuSecondsOf() ?? 0, threadCpuSeconds(pids[0]!)];
  if (r.non2xx + r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
  const per = (seconds: number) => (seconds * 1000) / r.requests.total;
  return {
    reqPerSec: r.requests.total / SECONDS,
    serverMs: per(server1 - server0),
    clientMs: per(client1 - client0),
    main: per(threads1.get(String(pids[0]))! - threads0.get(String(pids[0]))!),
    threads: [...threads1]
      .filter(([tid]) => tid !== String(pids[0]))
      .map(([tid, s]) => per(s - (threads0.get(tid) ?? 0)))
      .sort((a, b) => b - a)
      .slice(0, 8),
  };
}

/** `npm start` on a fresh DATA_DIR against the fixture, seeded as the probed benches are (64 accounts, 20 keyed ones) */
async function ours(fixtureUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-floor-"));
  const server = await startServer({ DATA_DIR: dir, ADMIN_TOKEN, ...upstreamEnv(fixtureUrl) });
  const keys = await seed(server.url);
  return {
    ...server,
    keys,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const trackOptions = (url: string, headers: Record<string, string> = {}) => {
  let n = 0;
  return {
    url: `${url}/billing/usage/track`,
    headers: { "content-type": "application/json", ...headers },
    requests: [
      {
        method: "POST",
        setupRequest: (req: Record<string, unknown>) => {
          const i = n++;
          const body = {
            userId: `bench-${i % ACCOUNTS}`,
            provider: "openai",
            model: "gpt-4o-mini",
            promptTokens: 10 + (i % 50),
            completionTokens: 5,
          };
          return { ...req, body: JSON.stringify(body) };
        },
      },
    ],
  };
};
const chatOptions = (url: string, authorization: () => string) => ({
  url: `${url}/v1/chat/completions`,
  requests: [
    {
      method: "POST",
      body: CHAT,
      setupRequest: (req: { headers?: Record<string, string> }) => ({
        ...req,
        headers: { ...req.headers, "content-type": "application/json", authorization: authorization() },
      }),
    },
  ],
});

/** ms of CPU per trackUsage request for each part of the billing floor, in this thread (no HTTP, no worker) */
function billingFloor(requests: number) {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-floor-sqlite-"));
  try {
    const { db, insert } = openEventTable(join(dir, "events.db"));
    const read = new Database(join(dir, "read.db")); // the read store's pragmas: a projection can be rebuilt
    for (const pragma of ["journal_mode = WAL", "synchronous = NORMAL", "temp_store = MEMORY"]) read.pragma(pragma);
    read.exec("CREATE TABLE read_rows (id TEXT PRIMARY KEY, doc TEXT NOT NULL)");
    const revisionOf = db.prepare("SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1").pluck();
    const insertRead = read.prepare("INSERT INTO read_rows (id, doc) VALUES (?, ?)");
    type Row = { stream: string; eventId: string; type: string; data: string; metadata: string };
    const writeEvents = db.transaction((appends: Row[][]) => {
      const at = new Date().toISOString();
      for (const rows of appends) {
        const from = ((revisionOf.get(rows[0]!.stream) as number | undefined) ?? -1) + 1;
        rows.forEach((r, i) => insert.run(r.stream, from + i, r.eventId, r.type, r.data, r.metadata, at));
      }
    });
    const project = read.transaction((appends: Row[][]) => {
      for (const rows of appends) for (const r of rows) insertRead.run(r.eventId, r.data);
    });

    const states = Array.from({ length: ACCOUNTS }, (_, i) => accountDecider.initialState(accountStream(`floor-${i}`)));
    const decide = (i: number, command: AccountCommand): NewEvent[] => {
      const state = states[i % ACCOUNTS]!;
      const correlationId = randomUUID();
      const decided = decideAccount(command, state).map((event) => ({
        ...event,
        metadata: {
          eventId: randomUUID(),
          occurredAt: command.now,
          actor: { type: "admin" as const, id: "bench" },
          correlationId,
          causationId: correlationId,
          schemaVersion: 1 as const,
        },
      })) as NewEvent[];
      const chained = chain(state.lastHash, decided);
      for (const event of chained) evolveAccount(state, event as AccountEventInput);
      return chained;
    };
    const rowsOf = (i: number, events: NewEvent[]): Row[] =>
      events.map((e) => ({
        stream: `account-floor-${i}`,
        eventId: e.metadata.eventId,
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      }));
    const now = new Date().toISOString();
    for (let i = 0; i < ACCOUNTS; i++) {
      const data = {
        userId: `floor-${i}`,
        paymentId: `pay-${i}`,
        transactionId: `txn-pay-${i}`,
        amount: 1e12,
        currency: "USD" as const,
        method: "card" as const,
      };
      writeEvents([rowsOf(i, decide(i, { type: "processPayment", now, data }))]);
    }
    const usage = (i: number): AccountCommand => ({
      type: "trackUsage",
      now,
      data: {
        userId: `floor-${i % ACCOUNTS}`,
        usageId: `use-${i}`,
        transactionId: `txn-use-${i}`,
        requestId: `req-${i}`,
        service: "chat",
        resource: "chat.completions",
        provider: "openai",
        model: "gpt-4o-mini",
        promptTokens: 10 + (i % 50),
        completionTokens: 5,
        cost: (10 + (i % 50)) * 3 + 5 * 12,
        prices: { promptPerMillion: 150_000, completionPerMillion: 600_000 },
        timestamp: now,
      },
    });

    const cpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    let domainMs = 0;
    let writeMs = 0;
    let projectMs = 0;
    let events = 0;
    for (let done = 0; done < requests; done += CONNECTIONS) {
      let t = cpuMs();
      const appends: Row[][] = [];
      for (let i = done; i < done + CONNECTIONS; i++) appends.push(rowsOf(i % ACCOUNTS, decide(i, usage(i))));
      domainMs += cpuMs() - t;
      events += appends.reduce((sum, rows) => sum + rows.length, 0);
      t = cpuMs();
      writeEvents(appends); // one commit, one fsync, per 64 requests (a group commit at 64 connections)
      writeMs += cpuMs() - t;
      t = cpuMs();
      project(appends);
      projectMs += cpuMs() - t;
    }
    db.close();
    read.close();
    if (events !== requests * TRACK_EVENTS) throw new Error(`expected ${requests * TRACK_EVENTS} events, decided ${events}`);
    return { domain: domainMs / requests, write: writeMs / requests, project: projectMs / requests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

printMachine("floor: what the throughput targets of issue 13 leave per request, and a billed request's floor");
console.log(
  `autocannon ${CONNECTIONS} connections in this process, 2 s warm-up + ${SECONDS} s per phase; CPU = per answered request, user + system`,
);

const bare = await startBareServer();
const bareRun = await measure([bare.pid], trackOptions(bare.url));
await bare.stop();
const fixture = await startFixture();
const fixtureRun = await measure(
  [fixture.pid],
  chatOptions(fixture.url.replace(/\/$/, "") + "/openai", () => `Bearer ${UPSTREAM_KEY}`),
);
const proxy = await startBareProxy(fixture.url);
const proxyRun = await measure(
  [proxy.pid, fixture.pid],
  chatOptions(proxy.url, () => `Bearer ${UPSTREAM_KEY}`),
);
await proxy.stop();
const server = await ours(fixture.url);
let k = 0;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const oursTrack = await measure([server.pid], trackOptions(server.url, admin));
const oursChat = await measure(
  [server.pid, fixture.pid],
  chatOptions(server.url, () => `Bearer ${server.keys[k++ % server.keys.length]}`),
);
await server.stop();
await fixture.stop();
const floor = billingFloor(CONNECTIONS * Math.max(300, Math.round((oursTrack.reqPerSec * SECONDS) / CONNECTIONS)));

const row = (name: string, m: Measured) => ({
  case: name,
  "req/s": fmt(m.reqPerSec),
  "server CPU / req (+ fixture's where it answers)": us(m.serverMs),
  "autocannon CPU / req": us(m.clientMs),
  "main thread / req": us(m.main),
  "its other threads / req (≥ 5 µs)": m.threads
    .filter((t) => t >= 0.005)
    .map(us)
    .join(", "),
});
console.log("\n1. Under load: the baselines, the floor from the same parts, and ours");
printTable([
  row("bare fastify POST (core's baseline)", bareRun),
  row("upstream fixture directly (gateway's baseline)", fixtureRun),
  row("bare proxy + fixture (no billing)", proxyRun),
  row("ours: trackUsage, 64 accounts", oursTrack),
  row("ours + fixture: plain chat, 20 keys", oursChat),
]);

console.log(`\n2. The billing work of one trackUsage (${TRACK_EVENTS} events) at its floor: this thread only, no HTTP, no worker`);
printTable([
  { part: "decide + hash-chain + JSON of the events (domain code)", "CPU / request": us(floor.domain) },
  { part: "event rows: revision read + INSERTs, 64 requests per fsynced commit", "CPU / request": us(floor.write) },
  { part: "projection floor: one raw row per event", "CPU / request": us(floor.project) },
]);
const billing = floor.domain + floor.write + floor.project;

// Two cores; every process of the load shares them. The best case: the HTTP part costs what the bare parts cost,
// billing costs its floor, nothing waits.
const ceiling = (serverMs: number, clientMs: number) => 2000 / (serverMs + clientMs);
const trackCeiling = ceiling(bareRun.serverMs + billing, bareRun.clientMs);
const chatCeiling = ceiling(proxyRun.serverMs + (billing * GATEWAY_EVENTS) / TRACK_EVENTS, proxyRun.clientMs);
console.log("\n3. The highest ratio each throughput target could read on 2 cores (floor CPU, nothing waits) vs ours");
printTable([
  {
    target: "durable trackUsage ÷ bare fastify ≥ 0.30",
    "floor CPU / req (server + autocannon)": us(bareRun.serverMs + billing + bareRun.clientMs),
    "req/s at 2 cores busy": fmt(trackCeiling),
    "highest ratio": fmt(trackCeiling / bareRun.reqPerSec, 3),
    "ours (measured above)": fmt(oursTrack.reqPerSec / bareRun.reqPerSec, 3),
  },
  {
    target: "gateway at 64 connections ÷ fixture ≥ 0.15",
    "floor CPU / req (server + autocannon)": us(proxyRun.serverMs + (billing * GATEWAY_EVENTS) / TRACK_EVENTS + proxyRun.clientMs),
    "req/s at 2 cores busy": fmt(chatCeiling),
    "highest ratio": fmt(chatCeiling / fixtureRun.reqPerSec, 3),
    "ours (measured above)": fmt(oursChat.reqPerSec / fixtureRun.reqPerSec, 3),
  },
]);
console.log(`(gateway: the billing floor scaled to its ${GATEWAY_EVENTS} events per plain request, the fixture's CPU counted)`);
