import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missing } from "../../test/engines/require-engine.ts";
import { startServer } from "../../test/harness/server.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";

// Schemathesis (PyPI; .ci/run installs it into .engines/schemathesis) against a live `npm start`: every
// operation of /openapi.json, with its default checks (server errors, status codes, content types,
// response schemas and headers, positive and negative data, auth, undeclared methods), once with the
// admin token and once with an API key that holds every scope. The gateway's upstream is the local
// fixture, so chat completions are really served and metered. Settings: apps/api/schemathesis.toml.
// Pitfall: schemathesis reuses ids it has seen (GET /auth/api-keys lists the calling key), so a run
// that may revoke keys can revoke the very key it calls with, and every later request is a 401 that
// "passes". Each run therefore gets a fresh key, the key's own run leaves out the revocation route
// (a second run covers it alone, where it sees no key id), and each run must end with its key valid.
// The key runs go first: the admin run may refund the seeded payment and drain the account.

const ROOT = resolve(import.meta.dirname, "../..");
const ADMIN = "schemathesis-admin-token-0123456789";
/** the seeded account the config's dictionaries point owner routes at (apps/api/schemathesis.toml) */
const USER = "st-user";
const MAX_EXAMPLES = Number(process.env.SCHEMATHESIS_MAX_EXAMPLES ?? 25);
const SEED = process.env.SCHEMATHESIS_SEED ?? "20261130";

function schemathesisBinary(): string | undefined {
  const candidates = [process.env.SCHEMATHESIS_BIN, join(ROOT, ".engines/schemathesis/bin/st"), "st"].filter((c): c is string =>
    Boolean(c),
  );
  const found = candidates.find((bin) => (bin.includes("/") ? existsSync(bin) : spawnSync(bin, ["--version"]).status === 0));
  return found ?? missing("schemathesis", "st not installed");
}

const REVOKE = "deleteAuthApiKeysByKeyId";

/** runs `st run` to the end over the operations `select` names (or all) */
function schemathesis(
  bin: string,
  cwd: string,
  url: string,
  token: string,
  select: string[] = [],
): Promise<{ code: number | null; output: string; seconds: number }> {
  const args = [
    "--config-file",
    join(ROOT, "apps/api/schemathesis.toml"),
    "run",
    `${url}/openapi.json`,
    "-H",
    `Authorization: Bearer ${token}`,
  ];
  args.push("--max-examples", String(MAX_EXAMPLES), "--seed", SEED, "--no-color", "--request-timeout", "30", ...select);
  const started = performance.now();
  return new Promise((done, fail) => {
    // run in a scratch directory: schemathesis keeps caches (crashes, examples) in its working directory
    const child = spawn(bin, args, { cwd, env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, output, seconds: (performance.now() - started) / 1000 }));
  });
}

const summaryOf = (output: string) =>
  output
    .trim()
    .split("\n")
    .filter((line) => /={5,}.*(passed|failure|error|in \d)/.test(line) || /^\s*\d+ generated/.test(line))
    .join("\n");

const bin = schemathesisBinary();

describe.skipIf(!bin)("schemathesis over every operation (npm start, upstream fixture)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "aggregator-st-"));
  let upstream: UpstreamFixture;
  let server: Awaited<ReturnType<typeof startServer>>;
  let mint: () => Promise<string>;

  beforeAll(async () => {
    upstream = await startUpstreamFixture();
    server = await startServer({
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      OPENAI_BASE_URL: upstream.baseUrl("openai"),
      OPENROUTER_BASE_URL: upstream.baseUrl("openrouter"),
      OPENAI_API_KEY: "sk-fixture-openai-0123456789",
      OPENROUTER_API_KEY: "sk-or-fixture-0123456789",
    });
    const post = async (path: string, body: object) => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path} → ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, unknown>>;
    };
    // an account that can pay for what the fuzzer asks of the gateway, with history for its reports
    await post("/billing/payment/process", { userId: USER, amount: "1000000", paymentId: "st-pay-1" });
    await post("/billing/usage/track", {
      userId: USER,
      provider: "openai",
      model: "gpt-4o-mini",
      promptTokens: 1000,
      completionTokens: 500,
    });
    let keys = 0;
    mint = async () =>
      String(
        (
          await post("/auth/api-keys", {
            userId: USER,
            name: `schemathesis-${++keys}`,
            scopes: ["chat", "billing:read", "keys", "analytics:write"],
          })
        ).key,
      );
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function expectNoFailures(who: string, token: string, select: string[] = []) {
    const run = await schemathesis(bin!, dataDir, server.url, token, select);
    console.log(
      `schemathesis as ${who}, ${MAX_EXAMPLES} examples per operation, seed ${SEED}: ${run.seconds.toFixed(0)} s\n${summaryOf(run.output)}`,
    );
    if (run.code !== 0) console.log(run.output);
    expect(run.code).toBe(0);
    expect(server.output()).not.toMatch(/"level":50/); // the server logged no error
    // the run was not a string of 401s: its key still works
    const still = await fetch(`${server.url}/billing/balance/${USER}`, { headers: { authorization: `Bearer ${token}` } });
    expect(still.status).toBe(200);
    return run.output;
  }

  it("as an API key with every scope: no failures, chat completions served by the upstream", async () => {
    const before = upstream.received.length;
    const [, selected, all] = /Selected: (\d+)\/(\d+)/.exec(
      await expectNoFailures("an API key", await mint(), ["--exclude-operation-id", REVOKE]),
    )!;
    expect(Number(selected)).toBe(Number(all) - 1);
    expect(upstream.received.length - before).toBeGreaterThan(10);
    expect(await expectNoFailures("an API key (revocation)", await mint(), ["--include-operation-id", REVOKE])).toMatch(/Selected: 1\/\d+/);
  }, 1_200_000);

  it("as the admin token: no failures", async () => {
    expect(await expectNoFailures("the admin token", ADMIN)).toMatch(/Selected: (\d+)\/\1\b/);
  }, 1_200_000);
});
