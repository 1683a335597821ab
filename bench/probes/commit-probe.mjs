// Bench-only probe (never loaded by npm start): `NODE_OPTIONS="--import ./bench/probes/commit-probe.mjs"`
// on a server records where a durable request waits between arriving and its group commit being
// acknowledged, without one line of production code: Node's HTTP diagnostics channels give arrival
// and response end; the Worker class is swapped (syncBuiltinESMExports) so the SQLite event store's
// writer starts under commit-probe-writer.mjs and its posts and replies are timed here. The matching
// is by correlation id: the load sends an x-request-id, which the API makes the correlation id of its events.
// Times: process.hrtime (one monotonic clock for every thread), in ms. SIGUSR2 clears what was
// recorded (after a warm-up); at exit the records go to PROBE_OUT as JSON.
import dc from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { monitorEventLoopDelay } from "node:perf_hooks";
import wt from "node:worker_threads";

const now = () => Number(process.hrtime.bigint()) / 1e6;
const WRAPPER = new URL("./commit-probe-writer.mjs", import.meta.url);
const CORRELATION = /"correlationId":"([^"]+)"/;

let requests = [];
let batches = [];
const bySeq = new Map();
let seq = 0;
let takenSeq = 0;
let flushScheduledAt = null; // while the store's setImmediate(flush) runs: when it was scheduled
const arrived = new WeakMap();
let loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

dc.subscribe("http.server.request.start", ({ request }) => arrived.set(request, now()));
dc.subscribe("http.server.response.finish", ({ request, response }) => {
  const arrive = arrived.get(request);
  if (arrive !== undefined)
    requests.push({ id: String(request.headers["x-request-id"]), url: request.url, status: response.statusCode, arrive, finish: now() });
});

// the store schedules its post to the writer with setImmediate(flush): the wait of that loop turn
const setImmediateOriginal = globalThis.setImmediate;
globalThis.setImmediate = function (fn, ...args) {
  if (typeof fn !== "function" || fn.name !== "flush") return setImmediateOriginal(fn, ...args);
  const at = now();
  return setImmediateOriginal(() => {
    flushScheduledAt = at;
    try {
      fn(...args);
    } finally {
      flushScheduledAt = null;
    }
  });
};

function instrument(worker) {
  const post = worker.postMessage.bind(worker);
  worker.postMessage = (message, transfer) => {
    if (message?.type === "commit") {
      const b = {
        seq: ++seq,
        scheduled: flushScheduledAt,
        posted: now(),
        appends: message.batch.length,
        ids: [...new Set(message.batch.flatMap((a) => a.rows.map((r) => CORRELATION.exec(r.metadata)?.[1])))],
      };
      bySeq.set(b.seq, b);
      batches.push(b);
    }
    return post(message, transfer);
  };
  const emit = worker.emit.bind(worker);
  worker.emit = (event, ...args) => {
    const reply = args[0];
    if (event !== "message" || !reply?.__probe) return emit(event, ...args);
    const received = now();
    const { taken, done } = reply.__probe;
    delete reply.__probe;
    const group = taken.map((t) => {
      const b = bySeq.get(++takenSeq) ?? {};
      bySeq.delete(takenSeq);
      return Object.assign(b, { taken: t, committed: done, received });
    });
    const appends = group.reduce((n, b) => n + (b.appends ?? 0), 0);
    const result = emit(event, ...args);
    const settled = now(); // the store's settle ran: every append of the transaction resolved
    for (const b of group) Object.assign(b, { settled, groupMessages: group.length, groupAppends: appends, commitStart: taken.at(-1) });
    return result;
  };
}

class ProbedWorker extends wt.Worker {
  constructor(filename, options = {}) {
    const writer = String(filename).endsWith("event-writer.worker.mjs");
    super(
      writer ? WRAPPER : filename,
      writer ? { ...options, workerData: { ...options.workerData, probedWriter: String(filename) } } : options,
    );
    if (writer) instrument(this);
  }
}
wt.Worker = ProbedWorker;
syncBuiltinESMExports();

process.on("SIGUSR2", () => {
  requests = [];
  batches = batches.filter((b) => b.taken === undefined); // posted, not replied yet: kept for their reply
  loopDelay.disable();
  loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
});

process.on("exit", () => {
  if (!process.env.PROBE_OUT) return;
  const eld = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, mean: loopDelay.mean / 1e6 };
  writeFileSync(process.env.PROBE_OUT, JSON.stringify({ requests, batches, loopDelay: eld }));
});
