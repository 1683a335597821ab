// Issue 10 "Done when", overhead: gateway and trackUsage throughput with tracing exported and /metrics
// scraped ("on") vs neither ("off"), in the same run, as the ratio on ÷ off (target ≥ 0.95).
//   npm run bench -- telemetry   (BENCH_SECONDS per phase, default 10; BENCH_ROUNDS, default 3)
// One `npm start` server per configuration on fresh DATA_DIRs, started together and measured in turn, the
// order rotating each round so drift on a shared machine falls on all; each phase on accounts of its own
// (seedAccounts), and the next one only once its projector caught up (caughtUp). "on": OTEL_EXPORTER_OTLP_ENDPOINT
// points at a local OTLP/HTTP receiver (this process; it reads and drops every export) and /metrics is
// scraped every second (15× Prometheus's default rate). What cannot be turned off: the prom-client
// counters and histograms are updated in both (they are always compiled in), so "off" still pays them;
// the ratio measures span creation and export, and the exposition. Loads: the gateway's closed loop at 64
// connections (plain chat against the upstream fixture) and HTTP trackUsage at 64 connections.
// Beside throughput, the CPU the API process spent per request in each measured phase (/proc/<pid>/stat:
// all its threads: the SQLite writer and the projector thread included): on a shared machine the closed-loop
// throughput swings with the other processes, while CPU per request barely does. "÷ off by CPU" is
// off's CPU per request ÷ this configuration's, the throughput ratio a CPU-bound server would show.
// BENCH_PAIRED=1 measures each configuration at the same time as "off" instead (pairedRounds).
// For profiling: BENCH_LOADS=gateway (or trackUsage) and BENCH_CONFIGS=off,every (configurations whose names
// contain one of these) narrow the run; BENCH_CPU_PROF=<dir> runs every API process with `--cpu-prof` into
// that directory (a profile of its main thread, written when the bench stops it).
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../test/harness/server.ts";
import { closeLoad, maxThroughput, median } from "./load.ts";
import { cpuSecondsOf, fmt, printMachine, printTable } from "./machine.ts";
import { startFixture } from "./peers.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 3;
const CONNECTIONS = 64;
const USERS = 64;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const UPSTREAM_KEY = "bench-upstream-key-0123456789";
const CPU_PROF = process.env.BENCH_CPU_PROF;
const PAIRED = process.env.BENCH_PAIRED === "1";
const admin = { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` };

type Cannon = (
  options: Record<string, unknown>,
) => Promise<{ requests: { average: number }; non2xx: number; errors: number; timeouts: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon; // CommonJS, no type declarations

/** an OTLP/HTTP receiver that reads each export whole and drops it: the exporter's full cost, no parsing here */
async function startSink() {
  let exports = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on("data", (chunk: Buffer) => (bytes += chunk.length));
    request.on("end", () => {
      exports++;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => ({ exports, bytes }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startOurs(fixtureUrl: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-telemetry-"));
  const server = await startServer(
    {
      DATA_DIR: dir,
      ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      KAFKA_BROKERS: "",
      OPENAI_BASE_URL: `${fixtureUrl}/openai/v1`,
      OPENAI_API_KEY: UPSTREAM_KEY,
      ...env,
    },
    CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] : [],
  );
  return {
    server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
type Ours = Awaited<ReturnType<typeof startOurs>>;

/**
 * Fresh accounts for one phase and its warm-up: `count` users funded, the first `keyCount` with a key. Each
 * phase starts on short streams, so the command handler's state cache (32 MB, LRU) holds the accounts in
 * use: with the same 20 gateway accounts all run long (~12k events each by the third round), it evicted one
 * per command and each command re-read its whole stream — the collapsed phases of earlier runs (22–412
 * req/s), whichever server had served the most, which no ratio survives.
 */
async function seedAccounts(url: string, prefix: string, count: number, keyCount: number) {
  const users = Array.from({ length: count }, (_, i) => `bench-${prefix}-${i}`);
  const keys: string[] = [];
  for (const [i, userId] of users.entries()) {
    const pay = await fetch(`${url}/billing/payment/process`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ userId, amount: "100000" }),
    });
    if (pay.status !== 201) throw new Error(`seeding ${userId}: ${pay.status} ${await pay.text()}`);
    if (i >= keyCount) continue;
    const key = await fetch(`${url}/auth/api-keys`, { method: "POST", headers: admin, body: JSON.stringify({ userId, name: "bench" }) });
    keys.push(((await key.json()) as { key: string }).key);
  }
  return { users, keys };
}
type Accounts = Awaited<ReturnType<typeof seedAccounts>>;

/**
 * Waits until the server's projector (npm start's child) has applied every event: a phase leaves a backlog
 * of projection work that would otherwise take CPU from the next phase, whichever server runs it.
 */
async function caughtUp(url: string) {
  for (let waited = 0; waited < 120_000; waited += 200) {
    const status = (await (await fetch(`${url}/system/status`, { headers: admin })).json()) as { projector: { lag: number | null } };
    if (status.projector.lag === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}: the projector did not catch up within 120 s`);
}

/** only the entries whose names contain one of the comma-separated words of `filter` ("off" is always kept) */
const only = <T>(entries: Record<string, T>, filter: string | undefined): Record<string, T> =>
  filter
    ? Object.fromEntries(
        Object.entries(entries).filter(([name]) => name === "off" || filter.split(",").some((w) => name.includes(w.trim()))),
      )
    : entries;

/** the configurations measured; "off" first (the ratios are against it) */
const ALL_CONFIGS: Record<string, (endpoint: string) => Record<string, string>> = {
  off: () => ({}),
  "on, every trace": (endpoint) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }),
  // diagnostic: the SDK and the instrumentation run, but no span is recorded or sent
  "on, no trace sampled": (endpoint) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_off" }),
  "on, 1 trace in 10": (endpoint) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "0.1",
  }),
};

const CONFIGS = only(ALL_CONFIGS, process.env.BENCH_CONFIGS);

const chat = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello to the benchmark." }], max_tokens: 64 });

/** each load with the accounts it is seeded (users, of them with a key) */
const ACCOUNTS = { gateway: [20, 20], trackUsage: [USERS, 0] } as const;

const ALL_LOADS = {
  gateway: (ours: Ours, { keys }: Accounts, seconds: number) => {
    let k = 0;
    const url = new URL(`${ours.server.url}/v1/chat/completions`);
    return maxThroughput(
      { name: "ours", url, headers: () => ({ authorization: `Bearer ${keys[k++ % keys.length]}` }) },
      chat,
      CONNECTIONS,
      seconds,
    );
  },
  trackUsage: async (ours: Ours, { users }: Accounts, seconds: number) => {
    let n = 0;
    const r = await autocannon({
      url: `${ours.server.url}/billing/usage/track`,
      connections: CONNECTIONS,
      duration: seconds,
      headers: admin,
      requests: [
        {
          method: "POST",
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            body: JSON.stringify({
              userId: users[n % users.length],
              provider: "openai",
              model: "gpt-4o-mini",
              promptTokens: 10 + (n++ % 50),
              completionTokens: 5,
            }),
          }),
        },
      ],
    });
    return { reqPerSec: r.requests.average, errors: r.non2xx + r.errors + r.timeouts };
  },
};

const LOADS = only(ALL_LOADS, process.env.BENCH_LOADS);

/** GET /metrics every second while `during` runs; how many scrapes answered 200 */
async function scraped(url: string, during: Promise<unknown>) {
  let ok = 0;
  let done = false;
  const end = () => (done = true);
  during.then(end, end);
  while (!done) {
    if ((await fetch(`${url}/metrics`).then((r) => r.text().then(() => r.status))) === 200) ok++;
    await Promise.race([during, new Promise((r) => setTimeout(r, 1000))]);
  }
  return ok;
}

/**
 * Every server runs each load once, all at the same time, before anything is measured: in the first round,
 * "off" (measured beside every other configuration) had already been warmed by the pairs before, the
 * others not — round 1 of the paired runs read 0.72–0.90 where rounds 2–3 read 0.86–1.01 (2026-12-01 02:55).
 */
async function warmUp(all: Ours[]) {
  for (const [load, measure] of Object.entries(LOADS)) {
    const [count, keyCount] = ACCOUNTS[load as keyof typeof ACCOUNTS];
    const accounts = await Promise.all(all.map((o) => seedAccounts(o.server.url, `warm-${load}`, count, keyCount)));
    await Promise.all(all.map((o, i) => measure(o, accounts[i]!, WARMUP_SECONDS * 3)));
    await Promise.all(all.map((o) => caughtUp(o.server.url)));
  }
}

/**
 * BENCH_PAIRED=1: each configuration measured AT THE SAME TIME as "off", both under the same load (64
 * connections each): whatever else runs on the machine slows both alike, so the ratio of the pair is
 * the relative cost of the configuration, under contention for the same two cores. Per round and load,
 * one pair per configuration, in rotating order.
 */
async function pairedRounds(servers: Record<string, Ours>, names: string[]) {
  const others = names.filter((n) => n !== "off");
  const ratios: Record<string, Record<string, { rate: number[]; cpu: number[] }>> = {};
  let scrapes = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const order = others.map((_, i) => others[(i + round - 1) % others.length]!);
    for (const [load, measure] of Object.entries(LOADS)) {
      const [count, keyCount] = ACCOUNTS[load as keyof typeof ACCOUNTS];
      for (const name of order) {
        const pair = [servers.off!, servers[name]!];
        const accounts = await Promise.all(
          pair.map((o) => seedAccounts(o.server.url, `${round}-${load}-${others.indexOf(name)}`, count, keyCount)),
        );
        await Promise.all(pair.map((o, i) => measure(o, accounts[i]!, WARMUP_SECONDS)));
        const cpuBefore = pair.map((o) => cpuSecondsOf(o.server.pid)!);
        const phases = pair.map((o, i) => measure(o, accounts[i]!, SECONDS));
        scrapes += await scraped(pair[1]!.server.url, phases[1]!);
        const [off, on] = await Promise.all(phases);
        await Promise.all(pair.map((o) => caughtUp(o.server.url)));
        const ms = pair.map((o, i) => ((cpuSecondsOf(o.server.pid)! - cpuBefore[i]!) * 1000) / ([off, on][i]!.reqPerSec * SECONDS));
        const entry = ((ratios[load] ??= {})[name] ??= { rate: [], cpu: [] });
        entry.rate.push(on!.reqPerSec / off!.reqPerSec);
        entry.cpu.push(ms[0]! / ms[1]!);
        console.log(
          `round ${round} ${load}, ${name} | off at the same time: ${fmt(on!.reqPerSec)} | ${fmt(off!.reqPerSec)} req/s, API CPU ${fmt(ms[1]!, 3)} | ${fmt(ms[0]!, 3)} ms/req${on!.errors + off!.errors ? `, ${on!.errors + off!.errors} errors` : ""}`,
        );
      }
    }
  }
  printTable(
    Object.entries(ratios).flatMap(([load, byConfig]) =>
      Object.entries(byConfig).map(([name, { rate, cpu }]) => ({
        load,
        config: name,
        "÷ off, paired (median of rounds)": fmt(median(rate), 3),
        "per round": rate.map((r) => fmt(r, 3)).join(" "),
        "target ≥ 0.95": median(rate) >= 0.95 ? "met" : "MISSED",
        "÷ off by CPU (median)": fmt(median(cpu), 3),
        "per round by CPU": cpu.map((r) => fmt(r, 3)).join(" "),
      })),
    ),
  );
  return scrapes;
}

async function main() {
  printMachine("telemetry: throughput with tracing exported and /metrics scraped vs off (issue 10)");
  console.log(
    `${ROUNDS} round(s), order alternating; phases of ${SECONDS} s after ${WARMUP_SECONDS} s warm-up; ${CONNECTIONS} connections; "on" = OTLP/HTTP export to a local receiver + GET /metrics every 1 s`,
  );
  const fixture = await startFixture();
  const sink = await startSink();
  const servers: Record<string, Ours> = {};
  try {
    for (const [name, env] of Object.entries(CONFIGS)) servers[name] = await startOurs(fixture.url, env(sink.endpoint));
    const names = Object.keys(CONFIGS);
    await warmUp(Object.values(servers));
    // results[load][config] = req/s per round; cpu[load][config] = API CPU ms per request per round
    const results: Record<string, Record<string, number[]>> = {};
    const cpu: Record<string, Record<string, number[]>> = {};
    const errors: Record<string, number> = {};
    let scrapes = 0;
    if (PAIRED) scrapes = await pairedRounds(servers, names);
    for (let round = 1; !PAIRED && round <= ROUNDS; round++) {
      const order = names.map((_, i) => names[(i + round - 1) % names.length]!); // each config goes first in turn
      for (const [load, measure] of Object.entries(LOADS)) {
        for (const name of order) {
          const ours = servers[name]!;
          const [count, keyCount] = ACCOUNTS[load as keyof typeof ACCOUNTS];
          const accounts = await seedAccounts(ours.server.url, `${round}-${load}`, count, keyCount);
          await measure(ours, accounts, WARMUP_SECONDS);
          const cpuBefore = cpuSecondsOf(ours.server.pid)!;
          const phase = measure(ours, accounts, SECONDS);
          if (name !== "off") scrapes += await scraped(ours.server.url, phase);
          const r = await phase;
          await caughtUp(ours.server.url);
          const msPerRequest = ((cpuSecondsOf(ours.server.pid)! - cpuBefore) * 1000) / (r.reqPerSec * SECONDS);
          ((results[load] ??= {})[name] ??= []).push(r.reqPerSec);
          ((cpu[load] ??= {})[name] ??= []).push(msPerRequest);
          errors[load] = (errors[load] ?? 0) + r.errors;
          console.log(
            `round ${round} ${load}, ${name}: ${fmt(r.reqPerSec)} req/s, API CPU ${fmt(msPerRequest, 3)} ms/req${r.errors ? `, ${r.errors} errors` : ""}`,
          );
        }
      }
    }
    const received = sink.received();
    if (received.exports === 0 && names.some((n) => n !== "off" && !n.includes("no trace")))
      throw new Error("the receiver got no span: tracing was not on");
    console.log(
      `\nreceiver: ${received.exports} OTLP exports, ${fmt(received.bytes / 1e6, 1)} MB of spans; ${scrapes} scrapes of /metrics answered 200`,
    );
    printTable(
      Object.entries(results).flatMap(([load, byConfig]) =>
        names.map((name) => {
          const ratio = median(byConfig[name]!) / median(byConfig.off!);
          const cpuOf = cpu[load]!;
          return {
            load,
            config: name,
            "req/s (median)": fmt(median(byConfig[name]!)),
            "÷ off": name === "off" ? "-" : fmt(ratio, 3),
            "per round ÷ off": name === "off" ? "-" : byConfig[name]!.map((v, i) => fmt(v / byConfig.off![i]!, 3)).join(" "),
            "target ≥ 0.95": name === "off" ? "-" : ratio >= 0.95 ? "met" : "MISSED",
            "API CPU ms/req (median)": fmt(median(cpuOf[name]!), 3),
            "÷ off by CPU": name === "off" ? "-" : fmt(median(cpuOf.off!) / median(cpuOf[name]!), 3),
            "per round by CPU": name === "off" ? "-" : cpuOf[name]!.map((v, i) => fmt(cpuOf.off![i]! / v, 3)).join(" "),
            "errors (all configs)": name === "off" ? errors[load]! : "",
          };
        }),
      ),
    );
  } finally {
    closeLoad();
    for (const s of Object.values(servers)) await s.stop();
    await sink.close();
    await fixture.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
