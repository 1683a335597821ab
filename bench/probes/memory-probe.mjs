// Bench-only probe (never loaded by npm start): `NODE_OPTIONS="--import ./bench/probes/memory-probe.mjs"`
// on a server. Each SIGUSR2 writes `${PROBE_OUT}.<n>.json`: process.memoryUsage(), the main
// isolate's heap spaces and code statistics, every worker thread's own heap (each worker starts under
// memory-probe-worker.mjs, which answers on a BroadcastChannel), and /proc/self/smaps summed by kind
// of mapping. When `${PROBE_OUT}.snapshot` exists, a heap snapshot of the main isolate goes there.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import v8 from "node:v8";
import wt from "node:worker_threads";

const OUT = process.env.PROBE_OUT;
const WRAPPER = new URL("./memory-probe-worker.mjs", import.meta.url);
const channel = new wt.BroadcastChannel("aggregator-memory-probe");
channel.unref();
const answers = [];
channel.onmessage = ({ data }) => data.answer && answers.push(data.answer);

class ProbedWorker extends wt.Worker {
  constructor(filename, options = {}) {
    super(WRAPPER, { ...options, workerData: { ...options.workerData, probedWorker: String(filename) } });
  }
}
wt.Worker = ProbedWorker;
syncBuiltinESMExports();

/** kB of Rss per kind of mapping: V8 and malloc share the anonymous ones; file-backed are code and data files */
function smaps() {
  const kinds = {};
  let kind = "";
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1];
      kind = !path
        ? "anonymous"
        : path.startsWith("[")
          ? path
          : path.endsWith(".node")
            ? "native addons (.node)"
            : /\.(db|db-wal|db-shm)$/.test(path)
              ? "SQLite files (mapped)"
              : path.includes("/node") && !path.includes(".so")
                ? "node binary"
                : "shared libraries and other files";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kinds[kind] = (kinds[kind] ?? 0) + Number(rss[1]);
  }
  return kinds;
}

let n = 0;
process.on("SIGUSR2", () => {
  const i = ++n;
  answers.length = 0;
  channel.postMessage({ ask: i });
  setTimeout(() => {
    const report = {
      at: new Date().toISOString(),
      usage: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, size: s.space_size, used: s.space_used_size })),
      code: v8.getHeapCodeStatistics(),
      workers: [...answers],
      smaps: smaps(),
    };
    writeFileSync(`${OUT}.${i}.json`, JSON.stringify(report));
    if (existsSync(`${OUT}.snapshot`)) v8.writeHeapSnapshot(`${OUT}.snapshot`);
  }, 300);
});
