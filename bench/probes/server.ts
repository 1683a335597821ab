// The server and loads the probed benches share (bench/commit-wait.ts, bench/memory.ts): `npm start` of a
// checkout with a bench-only probe preloaded through NODE_OPTIONS (never in production), its accounts and
// keys, and the two loads of issue 13: durable trackUsage at 64 connections and the gateway at 300 req/s.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, SERVER_NODE_FLAGS } from "../../test/harness/server.ts";
import { atRate } from "../load.ts";

export const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
export const UPSTREAM_KEY = "bench-upstream-key-0123456789";
const admin = { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` };
type Cannon = (options: Record<string, unknown>) => Promise<{ requests: { average: number }; non2xx: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;
const RUN = Date.now().toString(36);
let sent = 0; // request ids (x-request-id, the events' correlation id) are unique over the whole run

export const upstreamEnv = (fixtureUrl: string) => ({
  OPENAI_BASE_URL: `${fixtureUrl}/openai/v1`,
  OPENAI_API_KEY: UPSTREAM_KEY,
  OPENROUTER_BASE_URL: `${fixtureUrl}/openrouter/v1`,
  OPENROUTER_API_KEY: UPSTREAM_KEY,
});

/** `npm start` of checkout `root` (its V8 flags unless `flags` is given, a fresh DATA_DIR) with `probe` preloaded; `out`: where it writes */
export async function startProbed(root: string, probe: string, env: Record<string, string>, flags = SERVER_NODE_FLAGS) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "aggregator-bench-probed-"));
  const out = join(dir, "probe");
  const child = spawn(process.execPath, [...flags, "--import", "tsx", "apps/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      NODE_OPTIONS: `--import ${probe}`,
      PROBE_OUT: out,
      DATA_DIR: dir,
      ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || i > 300) throw new Error(`server in ${root} not ready`);
    if (
      await fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    out,
    signal: () => child.kill("SIGUSR2"),
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function fund(url: string, userIds: string[]) {
  for (const userId of userIds) {
    const res = await fetch(`${url}/billing/payment/process`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ userId, amount: "100000" }),
    });
    if (res.status !== 201) throw new Error(`funding ${userId}: ${res.status} ${await res.text()}`);
  }
}

/** 64 funded accounts and 20 more with a key each; returns the keys */
export async function seed(url: string): Promise<string[]> {
  await fund(
    url,
    Array.from({ length: 64 }, (_, i) => `bench-${i}`),
  );
  const keys: string[] = [];
  for (let i = 0; i < 20; i++) {
    await fund(url, [`gw-${i}`]);
    const res = await fetch(`${url}/auth/api-keys`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ userId: `gw-${i}`, name: "bench" }),
    });
    keys.push(((await res.json()) as { key: string }).key);
  }
  return keys;
}

export interface Load {
  name: string;
  /** the route whose requests it sends */
  path: string;
  run(url: string, seconds: number, keys: string[]): Promise<string>;
}

const PLAIN = JSON.stringify({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello to the benchmark." }],
  max_tokens: 64,
});

export const LOADS: Load[] = [
  {
    name: "trackUsage, 64 connections",
    path: "/billing/usage/track",
    async run(url, seconds) {
      // durable trackUsage at 64 connections on 64 accounts (bench/core.ts's first phase)
      const r = await autocannon({
        url: `${url}/billing/usage/track`,
        connections: 64,
        duration: seconds,
        requests: [
          {
            method: "POST",
            setupRequest: (req: Record<string, unknown>) => {
              const i = sent++;
              const body = {
                userId: `bench-${i % 64}`,
                provider: "openai",
                model: "gpt-4o-mini",
                promptTokens: 10 + (i % 50),
                completionTokens: 5,
              };
              return { ...req, headers: { ...admin, "x-request-id": `b-${i}-${RUN}` }, body: JSON.stringify(body) };
            },
          },
        ],
      });
      return `${Math.round(r.requests.average)} req/s, non-2xx ${r.non2xx}`;
    },
  },
  {
    name: "gateway plain, 300 req/s",
    path: "/v1/chat/completions",
    async run(url, seconds, keys) {
      const target = {
        name: "ours",
        url: new URL(`${url}/v1/chat/completions`),
        headers: () => ({ authorization: `Bearer ${keys[sent % keys.length]}`, "x-request-id": `b-${sent++}-${RUN}` }),
      };
      const p = await atRate(target, PLAIN, 300, seconds);
      return `${Math.round(p.requests / p.seconds)} req/s, errors ${p.errors} ${p.failures}`;
    },
  },
];
