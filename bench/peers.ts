// The processes bench/gateway.ts measures besides our own server: the upstream fixture and a peer
// gateway, Portkey's open-source AI gateway (@portkey-ai/gateway, a TypeScript router with no billing).
// Portkey is installed outside the project's dependencies, into .bench/portkey (gitignored), by this
// script when it is missing: it never enters package.json. Pinned: @portkey-ai/gateway 1.15.2 with
// @hono/node-server 1.13.5, its own lockfile's version (newer ones break every streamed request,
// Portkey-AI/gateway issue #1389), forced by an npm override.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../test/harness/server.ts";
import type { DurableKind } from "./durable-floor.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PORTKEY_DIR = join(ROOT, ".bench", "portkey");
const PORTKEY = { "@portkey-ai/gateway": "1.15.2", "@hono/node-server": "1.13.5" };

export interface Peer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

/** a bench script in its own process that prints {"url": ...} once listening */
async function startScript(script: string, env: Record<string, string> = {}): Promise<Peer> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  const { url } = JSON.parse(line) as { url: string };
  return { url, pid: child.pid!, stop: () => stopChild(child) };
}

/** bench/upstream-server.ts in its own process */
export const startFixture = () => startScript("bench/upstream-server.ts");

/** bench/bare-server.ts (a bare fastify POST route, the HTTP baseline of bench/core.ts) in its own process */
export const startBareServer = () => startScript("bench/bare-server.ts");

/**
 * bench/bare-proxy.ts (fastify + undici, passing through to the fixture, nothing else) in its own process;
 * `durable`: each request's billing events made durable too (bench/durable-floor.ts)
 */
export const startBareProxy = (fixtureUrl: string, durable?: DurableKind) =>
  startScript("bench/bare-proxy.ts", { UPSTREAM: fixtureUrl, ...(durable ? { DURABLE: durable } : {}) });

const installed = (pkg: string) => {
  try {
    return (JSON.parse(readFileSync(join(PORTKEY_DIR, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
};

/** installs the pinned Portkey gateway into .bench/portkey unless it is already there */
export function ensurePortkey(): string {
  const entry = join(PORTKEY_DIR, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  if (Object.entries(PORTKEY).every(([pkg, version]) => installed(pkg) === version) && existsSync(entry)) return entry;
  mkdirSync(PORTKEY_DIR, { recursive: true });
  const manifest = {
    private: true,
    description: "peer for npm run bench -- gateway; not a project dependency",
    dependencies: PORTKEY,
    overrides: { "@hono/node-server": PORTKEY["@hono/node-server"] },
  };
  writeFileSync(join(PORTKEY_DIR, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`installing @portkey-ai/gateway ${PORTKEY["@portkey-ai/gateway"]} into ${PORTKEY_DIR} (once)`);
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", PORTKEY_DIR], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (!existsSync(entry)) throw new Error(`Portkey install: ${entry} missing`);
  return entry;
}

/** Portkey's gateway on 127.0.0.1 (headless: no UI, no log stream); resolves once it answers */
export async function startPortkey(): Promise<Peer> {
  const entry = ensurePortkey();
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", join(ROOT, "bench", "loopback-only.mjs"), entry, `--port=${port}`, "--headless"], {
    cwd: PORTKEY_DIR,
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`Portkey exited ${child.exitCode}`);
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error("Portkey not answering after 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid!, stop: () => stopChild(child) };
}

/** the headers that make Portkey forward a request to the fixture as an OpenAI-compatible provider */
export const portkeyHeaders = (fixtureUrl: string, upstreamKey: string) => ({
  "x-portkey-provider": "openai",
  "x-portkey-custom-host": `${fixtureUrl}/openai/v1`,
  authorization: `Bearer ${upstreamKey}`,
});
