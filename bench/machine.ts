import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";

// Shared by every bench script: the machine the figures were taken on, a plain-text table, and memory
// readings from /proc (Linux; elsewhere the readings are null and the tables say "n/a").

export interface Machine {
  cores: number;
  model: string;
  memoryGb: number;
  node: string;
  platform: string;
  date: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cores: list.length,
    model: list[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

export function printMachine(title: string): Machine {
  const m = machine();
  console.log(`\n== ${title}`);
  console.log(`machine: ${m.cores} cores (${m.model}), ${m.memoryGb} GB RAM, Node ${m.node}, ${m.platform}, ${m.date}`);
  console.log(
    `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (1/5/15 min; above the core count, other processes compete for CPU)`,
  );
  return m;
}

/** A markdown table, columns padded to their widest cell; columns of figures (a number, maybe a unit) right-aligned. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const headers = Object.keys(rows[0]!);
  const cells = rows.map((r) => headers.map((h) => String(r[h] ?? "")));
  const width = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const figure = /^(-?[\d,.]+( ?[^\s\d]+)?|n\/a|-|)$/;
  const numeric = headers.map((_, i) => cells.every((c) => figure.test(c[i]!)));
  const line = (values: string[]) => `| ${values.map((v, i) => (numeric[i] ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join(" | ")} |`;
  console.log(line(headers));
  console.log(`|${width.map((w, i) => (numeric[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`);
  for (const c of cells) console.log(line(c));
}

/** VmRSS (current) and VmHWM (peak) of a process in MB, from /proc/<pid>/status; null where unreadable. */
export function memoryOf(pid: number | "self" = "self"): { rssMb: number | null; peakMb: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
    };
    return { rssMb: kb("VmRSS"), peakMb: kb("VmHWM") };
  } catch {
    return { rssMb: null, peakMb: null };
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null where unreadable. */
export const cpuSecondsOf = (pid: number | "self" = "self"): number | null => statCpuSeconds(`/proc/${pid}/stat`);

/** CPU seconds each thread of `pid` has used so far (thread id → seconds), from /proc/<pid>/task; the main thread's id is `pid` */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const seconds = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (seconds !== null) out.set(tid, seconds); // null: the thread ended meanwhile
  }
  return out;
}

function statCpuSeconds(file: string): number | null {
  try {
    const stat = readFileSync(file, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the name in (...) may hold spaces
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/** the child processes of `pid`, from /proc/<pid>/task/<pid>/children (npm start has none: its projector is a thread) */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds all cores have spent busy so far (everything but idle and iowait), from /proc/stat. */
export function systemBusySeconds(): number | null {
  try {
    const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = ticks;
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
  } catch {
    return null;
  }
}

/** Samples VmRSS of `pid` every `everyMs` until stopped; returns the highest sample: what the program holds
 * at one instant. `npm start` is one process (the API, the projector and relay thread, the SQLite writer
 * thread), so its RSS counts every page once; should it ever start child processes, their RSS is added. */
export function sampleRss(pid: number | "self", everyMs = 250) {
  let max: number | null = null;
  const take = () => {
    const own = memoryOf(pid).rssMb;
    const children = pid === "self" ? [] : childrenOf(pid);
    const rssMb = own === null ? null : children.reduce((sum, child) => sum + (memoryOf(child).rssMb ?? 0), own);
    if (rssMb !== null && (max === null || rssMb > max)) max = rssMb;
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop(): number | null {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

export const fmt = (n: number | null, digits = 0) =>
  n === null || !Number.isFinite(n) ? "n/a" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * The disk's own commit cost under `dir`: `samples` times, one at a time, a 4 KiB write into a
 * preallocated 4 MiB file (as a WAL past its first checkpoint is rewritten in place) then fdatasync,
 * each timed; p50 / p99 in ms. Any durable write here waits at least this long.
 */
export function fdatasyncMs(dir: string, samples = 2000): { p50: number; p99: number } {
  const file = join(mkdtempSync(join(dir, "aggregator-bench-disk-")), "probe");
  const fd = openSync(file, "w+");
  const page = Buffer.alloc(4096, 7);
  const slots = 1024;
  try {
    for (let i = 0; i < slots; i++) writeSync(fd, page, 0, page.length, i * page.length);
    fsyncSync(fd);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      writeSync(fd, page, 0, page.length, (i % slots) * page.length);
      fdatasyncSync(fd);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const at = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
    return { p50: at(50), p99: at(99) };
  } finally {
    closeSync(fd);
    rmSync(dirname(file), { recursive: true, force: true });
  }
}
