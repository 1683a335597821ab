import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

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
  return m;
}

/** A markdown table, columns padded to their widest cell: the first left-aligned, the others right. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const headers = Object.keys(rows[0]!);
  const cells = rows.map((r) => headers.map((h) => String(r[h] ?? "")));
  const width = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const numeric = headers.map((_, i) => i > 0);
  const line = (values: string[]) =>
    `| ${values.map((v, i) => (numeric[i] ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join(" | ")} |`;
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

/** Samples VmRSS of `pid` every `everyMs` until stopped; returns the highest sample. */
export function sampleRss(pid: number | "self", everyMs = 250) {
  let max: number | null = null;
  const take = () => {
    const { rssMb } = memoryOf(pid);
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
