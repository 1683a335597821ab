// Issues 4 and 13 "Measure": what the gateway adds over calling the upstream fixture directly, and what a
// peer (Portkey's open-source gateway, no billing) adds over the same fixture, in the same run.
//   npm run bench -- gateway   (BENCH_SECONDS per phase, default 10; BENCH_ROUNDS, default 3;
//                               BENCH_PEER=none leaves Portkey out; BENCH_TMPFS=1 adds ours on tmpfs;
//                               BENCH_FLOOR=none leaves the bare proxy and the durable floors out; BENCH_BEFORE=<dir>: a built
//                               checkout of another commit, measured too, right after ours in each round)
// Each round measures every target in turn (the fixture directly, ours = `npm start`, Portkey, and the
// floor: bench/bare-proxy.ts, fastify + undici passing requests through with nothing else; and the durable
// floors: the same proxy making each request's billing events durable before it answers, bench/durable-floor.ts):
// 1. plain at RATE (300) req/s, open loop: request → whole answer;
// 2. STREAMS (50) concurrent streams, each started when the previous one ended: request → first token;
// 3. CONNECTIONS (64) connections, closed loop, plain: the most answers per second.
// Ours makes durable (fsynced) appends per request (hold, settlement: on a plain request mostly one
// append carries both) and sends the answer, or [DONE], only after the settlement: every answer is
// checked for it. Figures per round, then the
// median of the rounds. Peak RSS: VmRSS sampled every 100 ms during each load, and VmHWM at the end.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer } from "../test/harness/server.ts";
import { atRate, closeLoad, concurrentStreams, maxThroughput, median, pct, type Phase, type Target } from "./load.ts";
import { childrenOf, cpuSecondsOf, fdatasyncMs, fmt, memoryOf, printMachine, printTable, sampleRss } from "./machine.ts";
import type { DurableKind } from "./durable-floor.ts";
import { portkeyHeaders, startBareProxy, startFixture, startPortkey, type Peer } from "./peers.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 3;
const RATE = Number(process.env.BENCH_RATE ?? 300);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const USERS = 20;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const UPSTREAM_KEY = "bench-upstream-key-0123456789";
const ms = (n: number) => `${n.toFixed(2)} ms`;
const FLOOR = "floor: bare proxy (fastify + undici)";
/** the bare proxy, and the same billing durably (bench/durable-floor.ts): its events through our store, or inline */
const FLOORS: [string, DurableKind | undefined][] = [
  [FLOOR, undefined],
  ["durable floor: + fsync, our store", "store"],
  ["durable floor: + fsync, inline", "inline"],
];

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

/**
 * `npm start` (through the test harness, as every test starts it) on a fresh DATA_DIR under `parent`;
 * `checkout`: another built checkout of this repository, started through its own harness (its dist/)
 */
async function startOurs(name: string, parent: string, fixtureUrl: string, checkout?: string) {
  const dir = mkdtempSync(join(parent, "aggregator-bench-gateway-"));
  const start: typeof startServer = checkout
    ? ((await import(join(resolve(checkout), "test", "harness", "server.ts"))) as { startServer: typeof startServer }).startServer
    : startServer;
  const server = await start({
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
    name,
    url: new URL(`${server.url}/v1/chat/completions`),
    headers: () => ({ authorization: `Bearer ${keys[k++ % keys.length]}` }),
  };
  const stop = async () => {
    const code = await server.stop();
    rmSync(dir, { recursive: true, force: true });
    if (code !== 0) console.error(`${name} exited ${code}:\n${server.output()}`);
  };
  return { target, pid: server.pid, ours: true, stop };
}

type Measured = { target: Target; pid: number | null; ours: boolean; stop(): Promise<unknown> };
const asMeasured = (name: string, peer: Peer, path: string, headers: Record<string, string>): Measured => ({
  target: { name, url: new URL(`${peer.url}${path}`), headers: () => headers },
  pid: peer.pid,
  ours: false,
  stop: peer.stop,
});

interface Sample {
  p50: number;
  p99: number;
  reqPerSec: number;
  errors: string;
  settled: string;
  rssMb: number | null;
  /** CPU (user + system, every thread, child processes too) per request answered in the phase, in ms */
  cpuMs: number | null;
}

/** CPU seconds used so far by `pid` and its child processes (USER_HZ resolution: 10 ms) */
const cpuOfTree = (pid: number) => [pid, ...childrenOf(pid)].reduce((sum, p) => sum + (cpuSecondsOf(p) ?? 0), 0);

async function main() {
  printMachine("gateway: latency and throughput added over the upstream fixture, ours and Portkey's (issues 4, 13)");
  console.log(
    `${ROUNDS} round(s); phases of ${SECONDS} s after ${WARMUP_SECONDS} s warm-up; plain at ${RATE} req/s (open loop); ${STREAMS} concurrent streams; max throughput at ${CONNECTIONS} connections; ${USERS} funded accounts, one key each`,
  );
  // the disk's own commit cost where ours keeps its data, before any server runs (and again at the end)
  const diskBefore = fdatasyncMs(tmpdir());
  console.log(
    `disk under ${tmpdir()}: 4 KiB write + fdatasync p50 ${ms(diskBefore.p50)}, p99 ${ms(diskBefore.p99)} (2,000, one at a time)`,
  );
  const fixture = await startFixture();
  const measured: Measured[] = [];
  try {
    measured.push({
      target: {
        name: "fixture directly",
        url: new URL(`${fixture.url}/openai/v1/chat/completions`),
        headers: () => ({ authorization: `Bearer ${UPSTREAM_KEY}` }),
      },
      pid: null,
      ours: false,
      stop: async () => undefined,
    });
    measured.push(await startOurs("ours (npm start)", tmpdir(), fixture.url));
    const before = process.env.BENCH_BEFORE;
    if (before) measured.push(await startOurs(`before: ${before}`, tmpdir(), fixture.url, before));
    if (process.env.BENCH_TMPFS === "1" && existsSync("/dev/shm"))
      measured.push(await startOurs("diagnostic: ours, DATA_DIR on tmpfs", "/dev/shm", fixture.url));
    if (process.env.BENCH_PEER !== "none")
      measured.push(
        asMeasured("Portkey gateway 1.15.2", await startPortkey(), "/v1/chat/completions", portkeyHeaders(fixture.url, UPSTREAM_KEY)),
      );
    if (process.env.BENCH_FLOOR !== "none")
      for (const [name, durable] of FLOORS)
        measured.push(
          asMeasured(name, await startBareProxy(fixture.url, durable), "/v1/chat/completions", { authorization: `Bearer ${UPSTREAM_KEY}` }),
        );

    const messages = [{ role: "user", content: "Say hello to the benchmark." }];
    const plain = JSON.stringify({ model: "gpt-4o-mini", messages, max_tokens: 64 });
    const streamed = JSON.stringify({
      model: "gpt-4o-mini",
      messages,
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
    const loads = {
      [`plain, ${RATE} req/s`]: (t: Target, s: number) => atRate(t, plain, RATE, s),
      [`stream TTFT, ${STREAMS} concurrent`]: (t: Target, s: number) => concurrentStreams(t, streamed, STREAMS, s),
      [`max throughput, ${CONNECTIONS} connections`]: (t: Target, s: number) => maxThroughput(t, plain, CONNECTIONS, s),
    };
    // results[load][target] = one Sample per round
    const results: Record<string, Record<string, Sample[]>> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [load, measure] of Object.entries(loads)) {
        for (const m of measured) {
          await measure(m.target, WARMUP_SECONDS);
          const rss = m.pid === null ? null : sampleRss(m.pid, 100);
          const cpuBefore = m.pid === null ? 0 : cpuOfTree(m.pid);
          const r = await measure(m.target, SECONDS);
          const cpuSeconds = m.pid === null ? null : cpuOfTree(m.pid) - cpuBefore;
          const rssMb = rss?.stop() ?? null;
          const phase = "latencies" in r ? (r as Phase) : null;
          const answered = phase ? phase.requests : (r as { reqPerSec: number }).reqPerSec * SECONDS;
          const cpuMs = cpuSeconds === null || answered === 0 ? null : (cpuSeconds * 1000) / answered;
          const sample: Sample = phase
            ? {
                p50: pct(phase.latencies, 50),
                p99: pct(phase.latencies, 99),
                reqPerSec: phase.requests / phase.seconds,
                errors: phase.errors ? `${phase.errors} (${phase.failures})` : "0",
                settled: m.ours ? `${phase.settled}/${phase.requests}` : "-",
                rssMb,
                cpuMs,
              }
            : {
                p50: NaN,
                p99: NaN,
                reqPerSec: (r as { reqPerSec: number }).reqPerSec,
                errors: String((r as { errors: number }).errors),
                settled: "-",
                rssMb,
                cpuMs,
              };
          ((results[load] ??= {})[m.target.name] ??= []).push(sample);
        }
      }
      console.log(`round ${round}/${ROUNDS} done`);
    }

    const direct = measured[0]!.target.name;
    const perRound: Record<string, string | number>[] = [];
    const summary: Record<string, string | number>[] = [];
    const med = new Map<string, { addedP50: number; addedP99: number; ratio: number; rssMb: number; cpuMs: number }>(); // by `${load}|${target}`
    for (const [load, byTarget] of Object.entries(results)) {
      const latency = !load.startsWith("max throughput");
      for (const m of measured) {
        const samples = byTarget[m.target.name]!;
        samples.forEach((s, i) =>
          perRound.push({
            round: i + 1,
            load,
            target: m.target.name,
            ...(latency
              ? {
                  p50: ms(s.p50),
                  p99: ms(s.p99),
                  "added p50": m.pid === null ? "-" : ms(s.p50 - byTarget[direct]![i]!.p50),
                  "added p99": m.pid === null ? "-" : ms(s.p99 - byTarget[direct]![i]!.p99),
                }
              : { p50: "-", p99: "-", "added p50": "-", "added p99": "-" }),
            "req/s": fmt(s.reqPerSec),
            "÷ direct": fmt(s.reqPerSec / byTarget[direct]![i]!.reqPerSec, 3),
            errors: s.errors,
            "settled before end": s.settled,
            "peak RSS (sampled)": s.rssMb === null ? "-" : `${fmt(s.rssMb, 1)} MB`,
            "CPU per request": s.cpuMs === null ? "-" : ms(s.cpuMs),
          }),
        );
        if (m.pid === null) continue;
        const addedP50 = median(samples.map((s, i) => s.p50 - byTarget[direct]![i]!.p50));
        const addedP99 = median(samples.map((s, i) => s.p99 - byTarget[direct]![i]!.p99));
        const ratio = median(samples.map((s, i) => s.reqPerSec / byTarget[direct]![i]!.reqPerSec));
        const rssMb = Math.max(...samples.map((s) => s.rssMb ?? NaN));
        const cpuMs = median(samples.map((s) => s.cpuMs ?? NaN));
        med.set(`${load}|${m.target.name}`, { addedP50, addedP99, ratio, rssMb, cpuMs });
        summary.push({
          load,
          target: m.target.name,
          "added p50 (median)": latency ? ms(addedP50) : "-",
          "added p99 (median)": latency ? ms(addedP99) : "-",
          "req/s ÷ direct (median)": latency ? "-" : fmt(ratio, 3),
          "peak RSS (max sample)": `${fmt(rssMb, 1)} MB`,
          "CPU per request (median)": ms(cpuMs),
        });
      }
    }
    console.log(
      "\nPer round (plain: request → whole answer; stream: request → first content token; added = target − fixture directly, same round)",
    );
    printTable(perRound);
    console.log(`\nMedians over ${ROUNDS} round(s)`);
    printTable(summary);
    const [plainLoad, streamLoad, maxLoad] = Object.keys(loads) as [string, string, string];
    const ours = measured[1]!.target.name;
    const peer = measured.find((m) => m.target.name.startsWith("Portkey"))?.target.name;
    const get = (load: string, target = ours) => med.get(`${load}|${target}`)!;
    const verdict = (ok: boolean) => (ok ? "yes" : "NO");
    const targets = [
      {
        metric: `added p50 / p99, plain at ${RATE} req/s`,
        measured: `${ms(get(plainLoad).addedP50)} / ${ms(get(plainLoad).addedP99)}`,
        target: "≤ 1.0 ms / ≤ 5 ms",
        reached: verdict(get(plainLoad).addedP50 <= 1 && get(plainLoad).addedP99 <= 5),
      },
      {
        metric: `added time to first token p99, ${STREAMS} streams`,
        measured: ms(get(streamLoad).addedP99),
        target: "≤ 10 ms",
        reached: verdict(get(streamLoad).addedP99 <= 10),
      },
      {
        metric: `max throughput at ${CONNECTIONS} connections ÷ fixture directly`,
        measured: fmt(get(maxLoad).ratio, 3),
        target: "≥ 0.15",
        reached: verdict(get(maxLoad).ratio >= 0.15),
      },
      ...(peer
        ? [
            {
              metric: `added p50, plain: ours vs ${peer}`,
              measured: `${ms(get(plainLoad).addedP50)} vs ${ms(get(plainLoad, peer).addedP50)}`,
              target: "ours ≤ peer",
              reached: verdict(get(plainLoad).addedP50 <= get(plainLoad, peer).addedP50),
            },
            {
              metric: `max throughput: ours ÷ ${peer}`,
              measured: fmt(get(maxLoad).ratio / get(maxLoad, peer).ratio, 2),
              target: "(reported)",
              reached: "-",
            },
          ]
        : []),
      ...[plainLoad, streamLoad, maxLoad].map((load) => ({
        metric: `peak RSS of ours (max 100 ms sample), ${load}`,
        measured: `${fmt(get(load).rssMb, 1)} MB`,
        target: "≤ 200 MB",
        reached: verdict(get(load).rssMb <= 200),
      })),
    ];
    console.log("\nTargets (issue 13; medians of the rounds)");
    printTable(targets);
    if (measured.some((m) => m.target.name === FLOOR)) {
      // What no gateway here can beat: the bare proxy's own cost, and with each request's billing events made
      // durable on its path (a plain answer waits for its settlement, a stream's first token for its hold)
      const disk = fdatasyncMs(tmpdir());
      console.log(
        `\nFloors (disk at the end: fdatasync p50 ${ms(disk.p50)}, p99 ${ms(disk.p99)}; at the start ${ms(diskBefore.p50)} / ${ms(diskBefore.p99)})`,
      );
      const rows: [string, string, string, (m: ReturnType<typeof get>) => string][] = [
        ["added p50, plain", "≤ 1.0 ms", plainLoad, (m) => ms(m.addedP50)],
        ["added p99, plain", "≤ 5 ms", plainLoad, (m) => ms(m.addedP99)],
        ["added TTFT p99, streams", "≤ 10 ms", streamLoad, (m) => ms(m.addedP99)],
        ["max throughput ÷ fixture", "≥ 0.15", maxLoad, (m) => fmt(m.ratio, 3)],
        // what the latency and throughput targets come down to on two shared cores: CPU taken from the others
        ...[plainLoad, streamLoad, maxLoad].map((load): [string, string, string, (m: ReturnType<typeof get>) => string] => [
          `CPU per request, ${load}`,
          "-",
          load,
          (m) => ms(m.cpuMs),
        ]),
      ];
      const floors = FLOORS.map(([name]) => name).filter((name) => measured.some((m) => m.target.name === name));
      printTable(
        rows.map(([metric, target, load, show]) => ({
          metric,
          target,
          ours: show(get(load)),
          ...Object.fromEntries(floors.map((name) => [name, show(get(load, name))])),
        })),
      );
    }
    console.log("\nPeak RSS over the whole run (VmHWM; npm start is one process: the API and its projector thread)");
    printTable(
      measured
        .filter((m) => m.pid !== null)
        .map((m) => ({
          process: m.target.name,
          VmHWM: `${fmt(memoryOf(m.pid!).peakMb, 1)} MB`,
          "RSS now": `${fmt(memoryOf(m.pid!).rssMb, 1)} MB`,
        })),
    );
  } finally {
    for (const m of measured) await m.stop();
    await fixture.stop();
    closeLoad();
  }
}

await main();
