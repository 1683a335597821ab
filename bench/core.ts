// Issue 2 "Measure": the event-sourced core on the embedded default (SQLite). Prints tables, never asserts.
//   node --import tsx bench/core.ts [http] [latency] [long-accounts] [projection]     (default: all four)
// 1+2. durable trackUsage over HTTP against `npm start` (64 accounts, then one hot account) vs a bare
//      fastify route, autocannon 64 connections; peak RSS of the server process during that load.
// 3.   command latency on an account with 100k events vs a new account, through createCommandHandler.
// 3b.  8 accounts of 40k events used in turn vs 8 new ones: the bounded state cache holds them all.
// 4.   projector catch-up of 200k events vs raw batched inserts of the same events; peak RSS of each.
// 5.   npm start on those 200k events and an empty read store: its projector thread's catch-up and peak RSS.
// Every ratio divides by a baseline measured in this run. All traffic stays on 127.0.0.1; temp files
// are removed at the end. BENCH_SECONDS (default 10) sets the length of each HTTP phase.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { accountDecider, decideAccount, evolveAccount, type AccountCommand, type AccountEventInput } from "../domain/account.ts";
import type { EventStore, ExpectedRevision } from "../domain/event-store.ts";
import { accountStream, type NewEvent } from "../domain/events.ts";
import { chain } from "../domain/hash-chain.ts";
import { openSqliteEventStore } from "../infra/sqlite/event-store.ts";
import { openSqliteReadStore } from "../infra/sqlite/read-store.ts";
import type { StreamCommands } from "../application/commands/command-handler.ts";
import { compose, TOKENS } from "../apps/composition/container.ts";
import { loadConfig } from "../infra/config.ts";
import { projectToHead } from "../test/harness/read-models.ts";
import { startServer } from "../test/harness/server.ts";
import { cpuSecondsOf, fmt, memoryOf, printMachine, printTable, sampleRss, systemBusySeconds } from "./machine.ts";
import { startBareServer } from "./peers.ts";

const ROOT = resolve(import.meta.dirname, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 64;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const ACTOR = { type: "admin" as const, id: "bench" };
const START = Date.parse("2026-01-01T00:00:00Z");
const temps = new Set<string>();
const temp = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `aggregator-bench-${name}-`));
  temps.add(dir);
  return dir;
};
const removeTemps = () => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
const ms = (n: number) => `${n.toFixed(2)} ms`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const targets: { metric: string; measured: string; target: string; reached: string }[] = [];
const verdict = (ok: boolean) => (ok ? "yes" : "NO");

// ---------- 1 + 2: HTTP ----------

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon; // CommonJS, no type declarations

function usageBody(userId: (i: number) => string) {
  let i = 0;
  return (req: Record<string, unknown>) => {
    const n = i++;
    return {
      ...req,
      body: JSON.stringify({
        userId: userId(n),
        provider: "openai",
        model: "gpt-4o-mini",
        promptTokens: 10 + (n % 50),
        completionTokens: 5 + (n % 20),
      }),
    };
  };
}

/** autocannon against `url`; also the CPU the server (`pid`) and this process (autocannon) used meanwhile */
async function load(url: string, pid: number, userId: (i: number) => string, headers: Record<string, string> = {}) {
  const options = (duration: number) => ({
    url: `${url}/billing/usage/track`,
    connections: CONNECTIONS,
    duration,
    headers: { "content-type": "application/json", ...headers },
    requests: [{ method: "POST", setupRequest: usageBody(userId) }],
  });
  await autocannon(options(WARMUP_SECONDS));
  // npm start is one process: its CPU counts every thread (the API, the projector, the SQLite writer)
  const cpu0 = [cpuSecondsOf(pid), cpuSecondsOf(), systemBusySeconds()];
  const t0 = performance.now();
  const r = await autocannon(options(SECONDS));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = [cpuSecondsOf(pid), cpuSecondsOf(), systemBusySeconds()];
  const cores = (i: number) => (cpu0[i] == null || cpu1[i] == null ? null : (cpu1[i]! - cpu0[i]!) / elapsed);
  const [serverCores, clientCores, busyCores] = [cores(0), cores(1), cores(2)];
  return {
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    serverCores,
    clientCores,
    /** CPU other processes on the machine took meanwhile: the benchmark was not alone */
    otherCores:
      serverCores === null || clientCores === null || busyCores === null ? null : Math.max(0, busyCores - serverCores - clientCores),
  };
}

type Load = Awaited<ReturnType<typeof load>>;

/** `npm start` on a fresh DATA_DIR, 65 funded accounts, then the given load phases; memory over all of them. */
async function aggregator(env: Record<string, string>, phases: Record<string, (i: number) => string>) {
  const dir = temp("http");
  const server = await startServer({ DATA_DIR: dir, ADMIN_TOKEN, ...env });
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  try {
    for (const userId of [...Array.from({ length: 64 }, (_, i) => `bench-${i}`), "hot"]) {
      const res = await fetch(`${server.url}/billing/payment/process`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ userId, amount: "1000" }),
      });
      if (res.status !== 201) throw new Error(`seeding ${userId}: ${res.status} ${await res.text()}`);
    }
    const idleMb = memoryOf(server.pid).rssMb;
    const rss = sampleRss(server.pid);
    const results: Record<string, Load> = {};
    for (const [name, userId] of Object.entries(phases)) results[name] = await load(server.url, server.pid, userId, auth);
    return { pid: server.pid, results, idleMb, sampledMb: rss.stop(), ...memoryOf(server.pid) };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function httpBench() {
  // the baseline is measured before and after the platform (other load on the machine drifts); ratios use the mean
  const bare = await startBareServer();
  const spreadUsers = (i: number) => `bench-${i % 64}`;
  let before: Load, after: Load, main: Awaited<ReturnType<typeof aggregator>>, split: typeof main;
  try {
    before = await load(bare.url, bare.pid, spreadUsers);
    main = await aggregator({}, { spread: spreadUsers, hot: () => "hot" });
    // diagnostic, not a target: the same load with the projector out of the API process (RUN_PROJECTOR=false)
    split = await aggregator({ RUN_PROJECTOR: "false" }, { spread: spreadUsers });
    after = await load(bare.url, bare.pid, spreadUsers);
  } finally {
    await bare.stop();
  }
  const baseline = { reqPerSec: (before.reqPerSec + after.reqPerSec) / 2 };
  const { spread, hot } = main.results as { spread: Load; hot: Load };
  const row = (name: string, r: Load) => ({
    case: name,
    "req/s": fmt(r.reqPerSec),
    p50: ms(r.p50),
    p99: ms(r.p99),
    "non-2xx": r.non2xx,
    errors: r.errors,
    "server CPU": `${fmt(r.serverCores, 2)} cores`,
    "autocannon CPU": `${fmt(r.clientCores, 2)} cores`,
    "other processes CPU": `${fmt(r.otherCores, 2)} cores`,
    "req per server CPU-s": fmt(r.serverCores ? r.reqPerSec / r.serverCores : null),
    "ratio vs bare (mean)": fmt(r.reqPerSec / baseline.reqPerSec, 2),
  });
  console.log(
    `\n1. Durable trackUsage over HTTP: autocannon ${CONNECTIONS} connections in the bench process, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per case; CPU = cores used during the measured ${SECONDS} s`,
  );
  printTable([
    row("bare fastify POST, before (baseline)", before),
    row("bare fastify POST, after (baseline)", after),
    row("npm start: 64 accounts", spread),
    row("npm start: 1 hot account", hot),
    row("diagnostic: 64 accounts, RUN_PROJECTOR=false", split.results.spread!),
  ]);
  console.log(
    `\n2. Memory of npm start (one process: the API and its projector thread) during the load phases above (VmHWM = kernel's peak RSS)`,
  );
  const mem = (name: string, m: typeof main) => ({
    process: name,
    "RSS before load": `${fmt(m.idleMb, 1)} MB`,
    "max 250 ms sample": `${fmt(m.sampledMb, 1)} MB`,
    "VmHWM (peak)": `${fmt(m.peakMb, 1)} MB`,
    "RSS at the end": `${fmt(m.rssMb, 1)} MB`,
  });
  printTable([mem("npm start (64 accounts + hot account)", main), mem("diagnostic: RUN_PROJECTOR=false", split)]);
  const ratio = spread.reqPerSec / baseline.reqPerSec;
  targets.push({
    metric: "HTTP trackUsage, 64 accounts ÷ bare",
    measured: fmt(ratio, 2),
    target: "≥ 0.30",
    reached: verdict(ratio >= 0.3 && spread.non2xx === 0),
  });
  targets.push({
    metric: "HTTP trackUsage, 1 hot account ÷ bare",
    measured: fmt(hot.reqPerSec / baseline.reqPerSec, 2),
    target: "(none)",
    reached: "-",
  });
  targets.push({
    metric: "peak RSS of npm start under load (VmHWM of its one process: the API and its projector thread)",
    measured: `${fmt(main.peakMb, 1)} MB`,
    target: "≤ 200 MB",
    reached: verdict(main.peakMb !== null && main.peakMb <= 200),
  });
}

// ---------- shared by 3 and 4: decided, chained events appended at exact revisions ----------

/** One account decided locally (decideAccount/evolveAccount, hash chain) and appended in chunks. */
function accountWriter(store: EventStore, userId: string) {
  const stream = accountStream(userId);
  const state = accountDecider.initialState(stream);
  let revision: ExpectedRevision = "no_stream";
  let pending: NewEvent[] = [];
  let n = 0;
  return {
    stream,
    get pending() {
      return pending.length;
    },
    decide(command: AccountCommand) {
      const correlationId = `bench-${userId}-${n++}`;
      const decided = decideAccount(command, state).map((event) => ({
        ...event,
        metadata: {
          eventId: randomUUID(),
          occurredAt: command.now,
          actor: ACTOR,
          correlationId,
          causationId: correlationId,
          schemaVersion: 1 as const,
        },
      })) as NewEvent[];
      for (const event of chain(state.lastHash, decided)) {
        evolveAccount(state, event as AccountEventInput);
        pending.push(event);
      }
    },
    async flush() {
      if (pending.length === 0) return;
      const events = pending;
      pending = [];
      revision = (await store.append(stream, events, revision)).nextExpectedRevision;
    },
  };
}

const usage = (userId: string, n: number, at: number): AccountCommand => {
  const now = new Date(at).toISOString();
  const promptTokens = 50 + ((n * 37) % 2000);
  const completionTokens = 10 + ((n * 11) % 500);
  return {
    type: "trackUsage",
    now,
    data: {
      userId,
      usageId: `use-${userId}-${n}`,
      transactionId: `txn-use-${userId}-${n}`,
      requestId: `req-${userId}-${n}`,
      service: "chat",
      resource: "chat.completions",
      provider: "openai",
      model: n % 3 === 0 ? "gpt-4o" : "gpt-4o-mini",
      promptTokens,
      completionTokens,
      cost: promptTokens * 3 + completionTokens * 12,
      prices: { promptPerMillion: 150_000, completionPerMillion: 600_000 },
      timestamp: now,
    },
  };
};
const payment = (userId: string, n: number, at: number): AccountCommand => ({
  type: "processPayment",
  now: new Date(at).toISOString(),
  data: {
    userId,
    paymentId: `pay-${userId}-${n}`,
    transactionId: `txn-pay-${userId}-${n}`,
    amount: 20_000_000,
    currency: "USD",
    method: "card",
  },
});

// ---------- 3: latency vs stream length ----------

async function timed(accounts: StreamCommands<string, AccountCommand>, userId: string, n: number, at: number) {
  const t0 = performance.now();
  await accounts.handle(userId, usage(userId, n, at), {
    actor: ACTOR,
    correlationId: `lat-${userId}-${n}`,
    now: new Date(at).toISOString(),
  });
  return performance.now() - t0;
}

/** prints `name` p50 ÷ the new accounts' p50 (both sorted) and records it against its target, ≤ 1.2 */
function p50Ratio(name: string, metric: string, times: number[], newTimes: number[]) {
  const ratio = pct(times, 50) / pct(newTimes, 50);
  console.log(`ratio ${name} p50 ÷ new p50 = ${ratio.toFixed(2)}`);
  targets.push({ metric, measured: fmt(ratio, 2), target: "≤ 1.2", reached: verdict(ratio <= 1.2) });
}

/** accounts in a new SQLite store under `dir`: a payment, then `usages` usage commands each; seconds it took, events */
async function seedAccounts(dir: string, userIds: string[], usages: number) {
  const t0 = performance.now();
  const seeding = compose(loadConfig({ DATA_DIR: dir, LOG_LEVEL: "silent" }));
  const seed = await seeding.resolve(TOKENS.events);
  for (const userId of userIds) {
    const writer = accountWriter(seed, userId);
    writer.decide(payment(userId, 0, START));
    for (let n = 1; n <= usages; n++) {
      writer.decide(usage(userId, n, START + n * 1000));
      if (writer.pending >= 500) await writer.flush();
    }
    await writer.flush();
  }
  const built = (performance.now() - t0) / 1000;
  const events = await seed.headPosition();
  await seeding.close();
  return { built, events };
}

async function latencyBench() {
  const dir = temp("latency");
  try {
    const { built, events } = await seedAccounts(dir, ["big"], 49_999);

    // composed again, as `npm start` composes it: nothing cached anywhere but the OS page cache
    const root = compose(loadConfig({ DATA_DIR: dir, LOG_LEVEL: "silent" }));
    const handler = (await root.resolve(TOKENS.commands)).for(accountDecider, accountStream);
    let at = START + 60_000_000;
    const coldBig = await timed(handler, "big", 100_000, (at += 1000));
    const coldNew = await timed(handler, "new", 0, (at += 1000));
    const bigTimes: number[] = [];
    const newTimes: number[] = [];
    for (let i = 1; i <= 500; i++) {
      // alternated, so drift (page cache, JIT, fsync) hits both alike
      bigTimes.push(await timed(handler, "big", 100_000 + i, (at += 1000)));
      newTimes.push(await timed(handler, "new", i, (at += 1000)));
    }
    await root.close();
    bigTimes.sort((a, b) => a - b);
    newTimes.sort((a, b) => a - b);
    console.log(
      `\n3. trackUsage latency through createCommandHandler (SQLite, fsync per commit): ${events.toLocaleString("en-US")} events built in ${built.toFixed(1)} s, 500 commands each, alternated`,
    );
    printTable([
      {
        account: `big (${events.toLocaleString("en-US")} events)`,
        "first (cold load)": ms(coldBig),
        p50: ms(pct(bigTimes, 50)),
        p99: ms(pct(bigTimes, 99)),
      },
      { account: "new (0 events)", "first (cold load)": ms(coldNew), p50: ms(pct(newTimes, 50)), p99: ms(pct(newTimes, 99)) },
    ]);
    p50Ratio("big", "p50 latency, 100k-event account ÷ new account", bigTimes, newTimes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- 3b: many long accounts (the command handler's bounded state cache) ----------

/**
 * 8 accounts of 40,002 events each, used in turn: the states the handler caches must all fit its 32 MB
 * bound, or LRU evicts the next one needed on every command and each command reloads a whole stream (an
 * account that kept every id it used would weigh ~5 MB here, 8 of them ~41 MB). Baseline: the same
 * commands, in the same turn order, on 8 new accounts, alternated round by round.
 */
async function longAccountsBench() {
  const dir = temp("long-accounts");
  const ACCOUNTS = 8;
  const EACH = 20_000; // usage commands: 2 events each
  try {
    const { built, events } = await seedAccounts(
      dir,
      Array.from({ length: ACCOUNTS }, (_, a) => `long${a}`),
      EACH,
    );

    const root = compose(loadConfig({ DATA_DIR: dir, LOG_LEVEL: "silent" }));
    const store = await root.resolve(TOKENS.events);
    let reads = 0;
    const readStream = store.readStream.bind(store);
    store.readStream = (stream, from) => (reads++, readStream(stream, from));
    const handler = (await root.resolve(TOKENS.commands)).for(accountDecider, accountStream);
    let at = START + 60_000_000;
    const round = async (prefix: string, r: number) => {
      const times: number[] = [];
      for (let a = 0; a < ACCOUNTS; a++) times.push(await timed(handler, `${prefix}${a}`, EACH + 1 + r, (at += 10)));
      return times;
    };
    await round("long", 0); // first loads of both, not measured
    await round("new", 0);
    const readsWarm = reads;
    const longTimes: number[] = [];
    const newTimes: number[] = [];
    for (let r = 1; r <= 25; r++) {
      longTimes.push(...(await round("long", r)));
      newTimes.push(...(await round("new", r)));
    }
    const reloads = reads - readsWarm;
    await root.close();
    longTimes.sort((a, b) => a - b);
    newTimes.sort((a, b) => a - b);
    console.log(
      `\n3b. trackUsage on ${ACCOUNTS} accounts used in turn (SQLite, default 32 MB state cache): ${events.toLocaleString("en-US")} events built in ${built.toFixed(1)} s, 25 rounds each, alternated`,
    );
    printTable([
      {
        accounts: `${ACCOUNTS} × ${(2 * EACH + 2).toLocaleString("en-US")} events`,
        p50: ms(pct(longTimes, 50)),
        p99: ms(pct(longTimes, 99)),
        "stream reloads after warm-up": String(reloads),
      },
      { accounts: `${ACCOUNTS} new`, p50: ms(pct(newTimes, 50)), p99: ms(pct(newTimes, 99)), "stream reloads after warm-up": "" },
    ]);
    p50Ratio("long", "p50 latency, 8 accounts of 40k events in turn ÷ 8 new ones", longTimes, newTimes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- 4: projection catch-up vs raw inserts ----------

/** 2,000 accounts × 50 commands (1 payment, then ~1 in 10 a payment, the rest usage) = 200k events, interleaved. */
async function generate(file: string) {
  const store = openSqliteEventStore(file);
  const writers = Array.from({ length: 2000 }, (_, i) => accountWriter(store, `u${i}`));
  let at = START;
  for (let round = 0; round < 10; round++) {
    for (const [i, w] of writers.entries()) {
      for (let k = 0; k < 5; k++) {
        const n = round * 5 + k;
        const userId = `u${i}`;
        w.decide(n === 0 || (n * 7 + i) % 10 === 0 ? payment(userId, n, (at += 13)) : usage(userId, n, (at += 13)));
      }
    }
    await Promise.all(writers.map((w) => w.flush())); // one group commit per round
  }
  const head = await store.headPosition();
  await store.close();
  return head;
}

/** Runs in a child process, so its VmHWM is the phase's own peak RSS. Prints one JSON line. */
async function child(kind: string, eventsFile: string, target: string) {
  const events = openSqliteEventStore(eventsFile);
  let count = 0;
  const cpu0 = process.cpuUsage();
  // the longest gap between two firings of a 10 ms timer: a phase that never yields to the event loop shows as one long stall
  let last = performance.now();
  let maxStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last);
    last = now;
  }, 10);
  const t0 = performance.now();
  if (kind === "project") {
    const reads = openSqliteReadStore(target);
    await projectToHead(events, reads);
    count = await events.headPosition();
    await reads.close();
  } else {
    // same pragmas as the read store (WAL, synchronous=NORMAL); the port's `db` handle avoids a vendor import here
    const raw = openSqliteEventStore(target);
    raw.db.pragma("synchronous = NORMAL");
    raw.db.exec("CREATE TABLE raw (id TEXT PRIMARY KEY, doc TEXT NOT NULL)");
    const insert = raw.db.prepare("INSERT INTO raw (id, doc) VALUES (?, ?)");
    const insertPage = raw.db.transaction((page: { metadata: { eventId: string } }[]) => {
      for (const e of page) insert.run(e.metadata.eventId, JSON.stringify(e));
    });
    for (let after = 0; ;) {
      const page = await events.readAll({ after, maxCount: 1000 });
      if (page.length === 0) break;
      insertPage(page);
      count += page.length;
      after = page.at(-1)!.position;
    }
    await raw.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 20)); // the timer sees the end of a final stall
  clearInterval(timer);
  await events.close();
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ count, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakMb: memoryOf().peakMb, maxStallMs }));
}

async function runChild(kind: string, eventsFile: string, target: string) {
  const proc = spawn(process.execPath, ["--import", "tsx", "bench/core.ts", "--child", kind, eventsFile, target], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  const [code] = await once(proc, "exit");
  if (code !== 0) throw new Error(`${kind} child exited ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as {
    count: number;
    seconds: number;
    cpuSeconds: number;
    peakMb: number | null;
    maxStallMs: number;
  };
}

/** `npm start` on a copy of the event store and no read store: seconds until /ready says lag 0, and the peaks of its processes */
async function startCatchingUp(eventsFile: string, head: number) {
  const dir = temp("catch-up");
  copyFileSync(eventsFile, join(dir, "events.db"));
  const server = await startServer({ DATA_DIR: dir, ADMIN_TOKEN });
  try {
    const t0 = performance.now();
    for (;;) {
      const ready = (await (await fetch(`${server.url}/ready`)).json()) as { projectedPosition?: number };
      if (ready.projectedPosition === head) break;
      if (performance.now() - t0 > 300_000) throw new Error(`catch-up not done after 300 s: ${JSON.stringify(ready)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, cpuSeconds: cpuSecondsOf(server.pid), peakMb: memoryOf(server.pid).peakMb };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function projectionBench() {
  const dir = temp("projection");
  try {
    const eventsFile = join(dir, "events.db");
    const t0 = performance.now();
    const head = await generate(eventsFile);
    const built = (performance.now() - t0) / 1000;
    const raw = await runChild("raw", eventsFile, join(dir, "raw.db")); // also warms the page cache for both
    const projected = await runChild("project", eventsFile, join(dir, "read.db"));
    const rate = (r: typeof raw) => r.count / r.seconds;
    console.log(
      `\n4. Catch-up of ${head.toLocaleString("en-US")} events (2,000 accounts, built in ${built.toFixed(1)} s) from a SQLite event store, each phase in its own process`,
    );
    printTable([
      {
        phase: "raw: readAll pages → INSERT (id, JSON), 1,000 rows/txn (baseline)",
        events: raw.count,
        seconds: raw.seconds.toFixed(2),
        "CPU s (process)": raw.cpuSeconds.toFixed(2),
        "events/s": fmt(rate(raw)),
        "peak RSS": `${fmt(raw.peakMb, 1)} MB`,
        "longest event-loop stall": ms(raw.maxStallMs),
        ratio: "1.00",
      },
      {
        phase: "runProjector from zero to head, all projections → SQLite read store",
        events: projected.count,
        seconds: projected.seconds.toFixed(2),
        "CPU s (process)": projected.cpuSeconds.toFixed(2),
        "events/s": fmt(rate(projected)),
        "peak RSS": `${fmt(projected.peakMb, 1)} MB`,
        "longest event-loop stall": ms(projected.maxStallMs),
        ratio: fmt(rate(projected) / rate(raw), 2),
      },
    ]);
    const started = await startCatchingUp(eventsFile, head);
    console.log(
      `\n5. npm start on that event store with an empty read store: its projector thread catches up the ${head.toLocaleString("en-US")} events`,
    );
    printTable([
      {
        "seconds to lag 0": started.seconds.toFixed(2),
        "events/s": fmt(head / started.seconds),
        "npm start CPU s (API idle + projector thread)": fmt(started.cpuSeconds, 2),
        "npm start VmHWM (peak)": `${fmt(started.peakMb, 1)} MB`,
      },
    ]);
    const ratio = rate(projected) / rate(raw);
    targets.push({
      metric: "projection catch-up events/s ÷ raw inserts",
      measured: fmt(ratio, 2),
      target: "≥ 0.3",
      reached: verdict(ratio >= 0.3),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- entry ----------

const args = process.argv.slice(2);
if (args[0] === "--child") {
  await child(args[1]!, args[2]!, args[3]!);
} else {
  // stopped from outside (run.ts timeout, Ctrl-C): the servers get the same signal; remove the files
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => (removeTemps(), process.exit(130)));
  const all = { http: httpBench, latency: latencyBench, "long-accounts": longAccountsBench, projection: projectionBench };
  const chosen = args.length > 0 ? args : Object.keys(all);
  const unknown = chosen.filter((name) => !(name in all));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(", ")}; choose from ${Object.keys(all).join(", ")}`);
  printMachine("core (issue 2)");
  const t0 = performance.now();
  for (const name of chosen) await all[name as keyof typeof all]();
  console.log("\nTargets");
  printTable(targets);
  console.log(`\ncore done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
