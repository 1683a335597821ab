// Load shapes for bench/gateway.ts: an open loop at a fixed rate, N concurrent streams, and a closed
// loop at C connections for the most requests per second. Latency is taken here with
// performance.now() (autocannon's histogram has 1 ms resolution, too coarse for a 1 ms target);
// the closed loop uses autocannon only for its request count.
import http from "node:http";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { sseData, SseSplitter } from "../application/gateway/sse.ts";

export interface Target {
  name: string;
  url: URL;
  /** headers of the next request (a key per request where keys rotate) */
  headers: () => Record<string, string>;
}

export interface Outcome {
  ok: boolean;
  /** HTTP status, 0 for a transport error */
  status: number;
  /** request sent → whole answer (plain) or first content token (stream) */
  ms: number;
  /** plain: an x-aggregator-cost header (the charge was durable before the answer); stream: [DONE] seen */
  settled: boolean;
}

export interface Phase {
  latencies: number[];
  errors: number;
  /** failures by status, e.g. "402×3" */
  failures: string;
  settled: number;
  requests: number;
  seconds: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
export const median = (values: number[]) =>
  pct(
    [...values].sort((a, b) => a - b),
    50,
  );
export const closeLoad = () => agent.destroy();

export function request(target: Target, body: string, stream: boolean): Promise<Outcome> {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const failed = () => resolvePromise({ ok: false, status: 0, ms: NaN, settled: false });
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
        res.on("error", failed);
      },
    );
    req.on("error", failed);
    req.end(body);
  });
}

function summarise(outcomes: Outcome[], seconds: number): Phase {
  const failures = new Map<number, number>();
  for (const o of outcomes) if (!o.ok) failures.set(o.status, (failures.get(o.status) ?? 0) + 1);
  return {
    latencies: outcomes
      .filter((o) => o.ok)
      .map((o) => o.ms)
      .sort((a, b) => a - b),
    errors: outcomes.filter((o) => !o.ok).length,
    failures: [...failures].map(([status, count]) => `${status === 0 ? "transport" : status}×${count}`).join(" "),
    settled: outcomes.filter((o) => o.settled).length,
    requests: outcomes.length,
    seconds,
  };
}

/** open loop: `rate` requests per second whatever the answers take, so slow answers cannot hide load */
export async function atRate(target: Target, body: string, rate: number, seconds: number): Promise<Phase> {
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
export async function concurrentStreams(target: Target, body: string, concurrency: number, seconds: number): Promise<Phase> {
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

interface CannonResult {
  requests: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon; // CommonJS, no type declarations

/** closed loop, `connections` at once, plain requests: the most answers per second (2xx only count) */
export async function maxThroughput(target: Target, body: string, connections: number, seconds: number) {
  const r = await autocannon({
    url: target.url.href,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        body,
        setupRequest: (req: { headers?: Record<string, string> }) => ({
          ...req,
          headers: { ...req.headers, "content-type": "application/json", ...target.headers() },
        }),
      },
    ],
  });
  return { reqPerSec: r.requests.average, errors: r.non2xx + r.errors + r.timeouts };
}
