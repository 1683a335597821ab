import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  return port;
}

/**
 * The V8 flags of `npm start` (package.json, Dockerfile, docker-compose.yml): an old-space cap that makes
 * V8 collect at a live heap of tens of MB instead of letting garbage grow to ~130 MB first, and 8 MiB
 * semi-spaces instead of up to 16 (~16 MB less peak RSS, no measurable throughput cost; BENCHMARKS.md, issue 13).
 */
export const SERVER_NODE_FLAGS = ["--max-old-space-size=192", "--max-semi-space-size=8"];

/**
 * `npm start` as a user runs it — the compiled program (node dist/main.js; vitest's globalSetup builds it
 * from the sources under test) — on its own port; resolves when /ready answers. `nodeFlags` go before
 * the program (a benchmark's `--cpu-prof`, which NODE_OPTIONS does not allow).
 */
export async function startServer(env: Record<string, string>, nodeFlags: string[] = []) {
  const port = Number(env.PORT ?? (await freePort()));
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeFlags, "dist/main.js"], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    output += d;
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (i > 300) throw new Error(`server not ready after 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    /** the server process, e.g. to read its /proc/<pid>/status (benchmarks) */
    pid: child.pid!,
    output: () => output,
    /** stdout alone (JSON log lines) */
    stdout: () => stdout,
    stderr: () => stderr,
    /** SIGTERM and wait: graceful shutdown */
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      return code as number | null;
    },
    kill() {
      child.kill("SIGKILL");
      return once(child, "exit");
    },
  };
}
