import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./server.ts";

// A throwaway Prometheus server (Debian's package) scraping the given targets every second, and
// promtool's strict exposition check. Its first scrape comes ~5 s after start (target discovery runs
// every 5 s): wait for `up == 1` before asking for anything else.

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export async function startPrometheus(bin: string, targets: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
  const jobs = Object.entries(targets).map(([job, target]) => `  - job_name: ${job}\n    static_configs: [{ targets: ["${target}"] }]`);
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n${jobs.join("\n")}\n`,
  );
  const port = await freePort();
  const child = spawn(
    bin,
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;

  async function query(promql: string): Promise<PromSample[]> {
    const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await response.json()) as { status: string; error?: string; data: { result: PromSample[] } };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  }
  /** polls `promql` until `accept` holds for its answer; throws with the last answer and the server log after `ms` */
  async function waitFor(promql: string, accept: (result: PromSample[]) => boolean, ms = 60_000): Promise<PromSample[]> {
    const deadline = Date.now() + ms;
    let last: PromSample[] | string = "no answer";
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${log}`);
      try {
        last = await query(promql);
        if (accept(last)) return last;
      } catch (error) {
        last = String(error);
      }
      if (Date.now() > deadline) throw new Error(`${promql}: last answer ${JSON.stringify(last)}\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    url,
    query,
    waitFor,
    async close() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `promtool check metrics` on an exposition: exit 0 clean, 3 lint problems (listed in `output`), 1 does not parse */
export async function promtoolCheck(bin: string, exposition: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(bin, ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  child.stdin!.end(exposition);
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}
