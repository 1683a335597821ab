// Issue 13 item 5: what holds the memory of `npm start` under the trackUsage and gateway loads.
//   node --import tsx bench/memory.ts        (BENCH_SECONDS per load, default 10)
// The server runs as `npm start` does (SERVER_NODE_FLAGS), plus the bench-only probe
// bench/probes/memory-probe.mjs (no production code). Per load: peak RSS sampled every 100 ms; near
// the end of the load a breakdown (process.memoryUsage, V8 spaces and code, each worker's own heap,
// /proc/self/smaps by kind of mapping); after the load a heap snapshot of the main isolate, summed by
// constructor (self sizes). Prints tables, never asserts.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { closeLoad } from "./load.ts";
import { fmt, memoryOf, printMachine, printTable, sampleRss } from "./machine.ts";
import { startFixture } from "./peers.ts";
import { LOADS, seed, startProbed, upstreamEnv } from "./probes/server.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PROBE = join(ROOT, "bench", "probes", "memory-probe.mjs");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const mb = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Report {
  usage: NodeJS.MemoryUsage;
  spaces: { name: string; size: number; used: number }[];
  code: { code_and_metadata_size: number; bytecode_and_metadata_size: number; external_script_source_size: number };
  workers: { file: string; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }[];
  smaps: Record<string, number>;
}

async function report(signal: () => void, out: string, n: number): Promise<Report> {
  signal();
  for (let i = 0; i < 600 && !existsSync(`${out}.${n}.json`); i++) await sleep(50);
  await sleep(200); // written whole (one writeFileSync), then read
  return JSON.parse(readFileSync(`${out}.${n}.json`, "utf8")) as Report;
}

/** a .heapsnapshot's nodes summed by type and constructor name (self sizes) */
function byConstructor(file: string) {
  const snap = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const [type, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const types = snap.snapshot.meta.node_types[0];
  const sums = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const t = types[snap.nodes[i + type!]!]!;
    const key = t === "object" || t === "closure" ? `${t} ${snap.strings[snap.nodes[i + name!]!]}` : `(${t})`;
    const s = sums.get(key) ?? sums.set(key, { bytes: 0, count: 0 }).get(key)!;
    s.bytes += snap.nodes[i + size!]!;
    s.count++;
    total += snap.nodes[i + size!]!;
  }
  // long strings are mostly source text (modules kept for lazy compilation and stack traces)
  let long = 0;
  let longCount = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length)
    if (types[snap.nodes[i + type!]!] === "string" && snap.nodes[i + size!]! >= 4096) {
      long += snap.nodes[i + size!]!;
      longCount++;
    }
  return { total, long, longCount, top: [...sums].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 18) };
}

function printReport(r: Report) {
  const u = r.usage;
  const workers = r.workers.map((w) => ({
    part: `worker ${w.file.split("/").pop()}: V8 heap (total / used)`,
    size: `${mb(w.heapTotal)} / ${mb(w.heapUsed)}`,
  }));
  printTable([
    { part: "RSS", size: mb(u.rss) },
    { part: "main isolate: V8 heap (total / used)", size: `${mb(u.heapTotal)} / ${mb(u.heapUsed)}` },
    ...r.spaces.filter((s) => s.size > 2 ** 20).map((s) => ({ part: `  ${s.name} (size / used)`, size: `${mb(s.size)} / ${mb(s.used)}` })),
    {
      part: "  of which code + metadata / bytecode",
      size: `${mb(r.code.code_and_metadata_size)} / ${mb(r.code.bytecode_and_metadata_size)}`,
    },
    { part: "main isolate: external (of which ArrayBuffers)", size: `${mb(u.external)} (${mb(u.arrayBuffers)})` },
    ...workers,
  ]);
  printTable(
    Object.entries(r.smaps)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, kb]) => ({ "mapping (smaps)": kind, rss: mb(kb * 1024) })),
  );
}

async function main() {
  printMachine("memory: what holds the RSS of npm start under load (issue 13, item 5)");
  const fixture = await startFixture();
  try {
    for (const load of LOADS) {
      const server = await startProbed(ROOT, PROBE, upstreamEnv(fixture.url));
      const keys = await seed(server.url);
      const idle = await report(server.signal, server.out, 1);
      await load.run(server.url, 3, keys);
      const rss = sampleRss(server.pid, 100);
      const during = load.run(server.url, SECONDS, keys);
      await sleep(SECONDS * 800);
      const loaded = await report(server.signal, server.out, 2);
      const said = await during;
      const peak = rss.stop();
      writeFileSync(`${server.out}.snapshot`, "");
      await report(server.signal, server.out, 3);
      for (let i = 0; i < 600 && readFileSync(`${server.out}.snapshot`).length === 0; i++) await sleep(100);
      await sleep(2000); // the snapshot is written in one go; it is whole once the size stops growing
      const snapshot = byConstructor(`${server.out}.snapshot`);
      await server.stop();
      server.remove();
      console.log(
        `\n### ${load.name}: ${said}; peak RSS sampled ${fmt(peak, 1)} MB (VmHWM at the end ${fmt(memoryOf(server.pid).peakMb, 1)} MB)`,
      );
      console.log("\nidle, after seeding:");
      printReport(idle);
      console.log(`\nat ${Math.round(SECONDS * 0.8)} s into the load:`);
      printReport(loaded);
      console.log(`\nheap snapshot after the load, ${mb(snapshot.total)} of self sizes, by constructor:`);
      printTable(snapshot.top.map(([what, s]) => ({ what, bytes: mb(s.bytes), count: s.count })));
      console.log(`strings of 4 KiB or more: ${mb(snapshot.long)} in ${snapshot.longCount}`);
    }
  } finally {
    closeLoad();
    await fixture.stop();
  }
}

await main();
