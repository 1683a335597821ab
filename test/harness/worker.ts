import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { SERVER_NODE_FLAGS } from "./server.ts";

const ROOT = resolve(import.meta.dirname, "../..");

/** a pino line of the program's log */
export interface LogLine {
  time: number;
  msg: string;
  [field: string]: unknown;
}

/**
 * A program as users run it — compiled (dist/projector.js, dist/relay.js; vitest's global setup builds
 * dist/) — as its own process, logging at info; resolves once its output contains `ready`.
 */
export async function startWorker(program: string, env: Record<string, string>, ready: string) {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, program], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let partial = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d;
    const text = partial + d.toString("utf8");
    const parts = text.split("\n");
    partial = parts.pop()!;
    for (const part of parts) {
      if (!part.startsWith("{")) continue;
      const line = JSON.parse(part) as LogLine;
      lines.push(line);
      for (const w of waiters) {
        if (!w.match(line)) continue;
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  child.stderr.on("data", (d) => (output += d));
  /** the first log line (past or future) that matches */
  const logged = (match: (l: LogLine) => boolean, timeoutMs = 60_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`${program}: no such log line after ${timeoutMs} ms:\n${output}`)), timeoutMs);
      waiters.add({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  const exited = once(child, "exit");
  for (let i = 0; !output.includes(ready); i++) {
    if (child.exitCode !== null) throw new Error(`${program} exited ${child.exitCode}:\n${output}`);
    if (i > 600) throw new Error(`${program} not ready after 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    output: () => output,
    logged,
    /** SIGTERM and wait */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
    /** SIGKILL: no shutdown, no lease given back */
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export type Worker = Awaited<ReturnType<typeof startWorker>>;
