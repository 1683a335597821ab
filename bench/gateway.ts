// Issue 4 "Measure": latency the gateway adds over calling the upstream fixture directly, same run.
//   node --import tsx bench/gateway.ts        (BENCH_SECONDS, default 15, per measured phase)
// 1. non-streaming at RATE (500) requests/s, open loop: the fixture directly, then POST /v1/chat/completions
//    through `npm start` (auth, per-key limits, hold, upstream call, settlement: two durable appends).
// 2. STREAMS (100) concurrent streams, each started when the previous one ended: time to first token,
//    directly, then through the gateway (which holds [DONE] until the settlement is durable).
// 3. diagnostic (where /dev/shm exists): the same through a second `npm start` whose DATA_DIR is on tmpfs,
//    so fsync is nearly free: the gap between the two gateway rows is the price of durable appends here.
// Processes on 127.0.0.1 only: the fixture, the servers, this driver. Latency is taken here with
// performance.now(): autocannon's histogram has 1 ms resolution, too coarse for a 2 ms target.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { sseData, SseSplitter } from "../application/gateway/sse.ts";
import { startServer } from "../test/harness/server.ts";
import { cpuSecondsOf, printMachine, printTable } from "./machine.ts";

const ROOT = resolve(import.meta.dirname, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP_SECONDS = 3;
const RATE = Number(process.env.BENCH_RATE ?? 500);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 100);
const USERS = 20;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const UPSTREAM_KEY = "bench-upstream-key-0123456789";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (n: number) => `${n.toFixed(2)} ms`;

interface Target {
  url: URL;
  headers: () => Record<string, string>;
}
interface Outcome {
  ok: boolean;
  /** HTTP status, 0 for a transport error */
  status: number;
  /** request sent → whole answer (plain) or first content token (stream) */
  ms: number;
  /** plain: an x-aggregator-cost header (the charge was durable before the answer); stream: [DONE] seen */
  settled: boolean;
}

function request(target: Target, body: string, stream: boolean): Promise<Outcome> {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const req = http.request(
      target.url,
      { method: "POST", agent, headers: { "content-type": "application/json", ...target.headers() } },
      (res) => {
        let first = NaN;
        let done = false;
        const splitter = new SseSplitter();
        res.on("data", (chunk: Buffer) => {
          if (!stream) return;
          for (const event of splitter.push(chunk)) {
            const data = sseData(event);
            if (data === "[DONE]") done = true;
            else if (Number.isNaN(first) && data?.includes('"content":"t')) first = performance.now() - t0;
          }
        });
        res.on("end", () => {
          const ok = res.statusCode === 200;
          const status = res.statusCode ?? 0;
          resolvePromise(
            stream
              ? { ok: ok && done, status, ms: first, settled: done }
              : { ok, status, ms: performance.now() - t0, settled: res.headers["x-aggregator-cost"] !== undefined },
          );
        });
        res.on("error", () => resolvePromise({ ok: false, status: 0, ms: NaN, settled: false }));
      },
    );
    req.on("error", () => resolvePromise({ ok: false, status: 0, ms: NaN, settled: false }));
    req.end(body);
  });
}

interface Phase {
  latencies: number[];
  errors: number;
  /** failures by status, e.g. "402×3" */
  failures: string;
  settled: number;
  requests: number;
  seconds: number;
}
const summarise = (outcomes: Outcome[], seconds: number): Phase => ({
  latencies: outcomes
    .filter((o) => o.ok)
    .map((o) => o.ms)
    .sort((a, b) => a - b),
  errors: outcomes.filter((o) => !o.ok).length,
  failures: [...outcomes.filter((o) => !o.ok).reduce((m, o) => m.set(o.status, (m.get(o.status) ?? 0) + 1), new Map<number, number>())]
    .map(([status, count]) => `${status === 0 ? "transport" : status}×${count}`)
    .join(" "),
  settled: outcomes.filter((o) => o.settled).length,
  requests: outcomes.length,
  seconds,
});

/** open loop: `rate` requests per second whatever the answers take, so slow answers cannot hide load */
async function atRate(target: Target, body: string, rate: number, seconds: number): Promise<Phase> {
  const total = rate * seconds;
  const pending: Promise<Outcome>[] = [];
  const start = performance.now();
  while (pending.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (pending.length < due) pending.push(request(target, body, false));
    await sleep(1);
  }
  const outcomes = await Promise.all(pending);
  return summarise(outcomes, (performance.now() - start) / 1000);
}

/** closed loop: `concurrency` streams at all times, each started when the previous one ended */
async function concurrentStreams(target: Target, body: string, concurrency: number, seconds: number): Promise<Phase> {
  const outcomes: Outcome[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) outcomes.push(await request(target, body, true));
    }),
  );
  return summarise(outcomes, (performance.now() - start) / 1000);
}

async function startFixture() {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/upstream-server.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

async function seed(url: string): Promise<string[]> {
  const admin = { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` };
  const keys: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const userId = `bench-${i}`;
    const pay = await fetch(`${url}/billing/payment/process`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ userId, amount: "100000" }),
    });
    if (pay.status !== 201) throw new Error(`seeding ${userId}: ${pay.status} ${await pay.text()}`);
    const key = await fetch(`${url}/auth/api-keys`, { method: "POST", headers: admin, body: JSON.stringify({ userId, name: "bench" }) });
    if (key.status !== 201) throw new Error(`key for ${userId}: ${key.status} ${await key.text()}`);
    keys.push(((await key.json()) as { key: string }).key);
  }
  return keys;
}

/** `npm start` on a fresh DATA_DIR under `parent`, with its providers at the fixture and USERS funded keys */
async function startGateway(parent: string, fixtureUrl: string) {
  const dir = mkdtempSync(join(parent, "aggregator-bench-gateway-"));
  const server = await startServer({
    DATA_DIR: dir,
    ADMIN_TOKEN,
    LOG_LEVEL: "warn",
    OPENAI_BASE_URL: `${fixtureUrl}/openai/v1`,
    OPENAI_API_KEY: UPSTREAM_KEY,
    OPENROUTER_BASE_URL: `${fixtureUrl}/openrouter/v1`,
    OPENROUTER_API_KEY: UPSTREAM_KEY,
  });
  const keys = await seed(server.url);
  let k = 0;
  const target: Target = {
    url: new URL(`${server.url}/v1/chat/completions`),
    headers: () => ({ authorization: `Bearer ${keys[k++ % keys.length]}` }),
  };
  return {
    pid: server.pid,
    target,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main() {
  printMachine("gateway: latency added over the upstream fixture (issue 4)");
  console.log(
    `phases: ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up; ${RATE} req/s non-streaming (open loop); ${STREAMS} concurrent streams; ${USERS} funded accounts, one key each`,
  );
  const fixture = await startFixture();
  // the diagnostic gateway keeps DATA_DIR on tmpfs, where fsync is nearly free: the difference between
  // the two gateway rows is what durable appends cost on this disk, the rest is the gateway's own work
  const gateways = [
    { name: "through the gateway", parent: tmpdir() },
    ...(existsSync("/dev/shm") ? [{ name: "diagnostic: gateway, DATA_DIR on tmpfs", parent: "/dev/shm" }] : []),
  ];
  const servers: Awaited<ReturnType<typeof startGateway>>[] = [];
  try {
    for (const g of gateways) servers.push(await startGateway(g.parent, fixture.url));
    const direct: Target = {
      url: new URL(`${fixture.url}/openai/v1/chat/completions`),
      headers: () => ({ authorization: `Bearer ${UPSTREAM_KEY}` }),
    };
    const messages = [{ role: "user", content: "Say hello to the benchmark." }];
    const plain = JSON.stringify({ model: "gpt-4o-mini", messages, max_tokens: 64 });
    const streamed = JSON.stringify({
      model: "gpt-4o-mini",
      messages,
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });

    const rows: Record<string, string | number>[] = [];
    const added: Record<string, string | number>[] = [];
    const row = (phase: string, path: string, p: Phase, serverCores: number | null, settled: boolean) => ({
      phase,
      path,
      requests: p.requests,
      "rate/s": (p.requests / p.seconds).toFixed(0),
      p50: ms(pct(p.latencies, 50)),
      p99: ms(pct(p.latencies, 99)),
      max: ms(p.latencies.at(-1) ?? NaN),
      errors: p.errors ? `${p.errors} (${p.failures})` : 0,
      "settled before end": settled ? `${p.settled}/${p.requests}` : "-",
      "server cores": serverCores === null ? "-" : serverCores.toFixed(2),
    });
    const run = async (name: string, measure: (t: Target, s: number) => Promise<Phase>) => {
      const d = await measure(direct, SECONDS);
      rows.push(row(name, "fixture directly", d, null, false));
      for (const [i, server] of servers.entries()) {
        await measure(server.target, WARMUP_SECONDS);
        const cpu0 = cpuSecondsOf(server.pid);
        const g = await measure(server.target, SECONDS);
        const cores = cpu0 === null ? null : (cpuSecondsOf(server.pid)! - cpu0) / g.seconds;
        rows.push(row(name, gateways[i]!.name, g, cores, true));
        const a50 = pct(g.latencies, 50) - pct(d.latencies, 50);
        const a99 = pct(g.latencies, 99) - pct(d.latencies, 99);
        const target = i === 0 ? "p50 ≤ 2 ms, p99 ≤ 10 ms" : "(diagnostic)";
        added.push({
          metric: name,
          path: gateways[i]!.name,
          "added p50": ms(a50),
          "added p99": ms(a99),
          target,
          reached: i > 0 ? "-" : a50 <= 2 && a99 <= 10 ? "yes" : "NO",
        });
      }
    };
    await run(`plain, ${RATE} req/s`, (t, s) => atRate(t, plain, RATE, s));
    await run(`stream TTFT, ${STREAMS} concurrent`, (t, s) => concurrentStreams(t, streamed, STREAMS, s));
    console.log("\nLatency (plain: request → whole answer; stream: request → first content token)");
    printTable(rows);
    console.log("\nAdded by the gateway (gateway percentile − direct percentile, same run)");
    printTable(added);
  } finally {
    for (const server of servers) await server.stop();
    await fixture.stop();
    agent.destroy();
  }
}

await main();
