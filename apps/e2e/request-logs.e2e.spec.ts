import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";
import { UPSTREAM_KEYS } from "../../test/harness/gateway-harness.ts";
import { startServer } from "../../test/harness/server.ts";

// README "Operations › Logs": at the default level (info) every request gives exactly one JSON line —
// method, route pattern, status, duration, request id, and for an API key its user and public prefix —
// and nothing else reaches stdout but JSON lines; no warning reaches stderr. No line carries a secret:
// the admin token, an API key, the upstream key, an Idempotency-Key or what the user sent to the model.

const ADMIN = "request-logs-admin-token-0123456789";
const PROMPT = "my private question about 42 dragons";
const IDEMPOTENCY = "logs-idempotency-key-0001";

describe("logs: one JSON line per request at info, no secret, nothing but JSON on stdout", () => {
  const dir = mkdtempSync(join(tmpdir(), "request-logs-"));
  let fixture: UpstreamFixture;
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    fixture = await startUpstreamFixture(() => ({ usage: { prompt_tokens: 4, completion_tokens: 2 } }));
    server = await startServer({
      DATA_DIR: dir,
      ADMIN_TOKEN: ADMIN,
      KAFKA_BROKERS: "", // no relay: the shell of an engines run may name brokers
      LOG_LEVEL: "info",
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      OPENAI_API_KEY: UPSTREAM_KEYS.openai,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await fixture?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("N requests give N request lines, all JSON, none with a key or a prompt", { timeout: 60_000 }, async () => {
    let n = 0;
    const send = (path: string, init: { token?: string; body?: object; headers?: Record<string, string> } = {}) =>
      fetch(`${server.url}${path}`, {
        method: init.body ? "POST" : "GET",
        headers: {
          "x-request-id": `logs-${n++}`,
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...(init.body ? { "content-type": "application/json" } : {}),
          ...init.headers,
        },
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
      });
    const pay = { token: ADMIN, body: { userId: "logs", amount: "5" }, headers: { "idempotency-key": IDEMPOTENCY } };
    const paid = await send("/billing/payment/process", pay);
    expect(paid.status).toBe(201);
    const { position } = (await paid.json()) as { position: number }; // the read models follow in npm start's child
    expect((await send("/billing/payment/process", pay)).headers.get("idempotent-replayed")).toBe("true");
    const created = await send("/auth/api-keys", { token: ADMIN, body: { userId: "logs", name: "laptop" } });
    const { key } = (await created.json()) as { key: string };
    const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: PROMPT }] };
    for (let i = 0; i < 3; i++) expect((await send("/v1/chat/completions", { token: key, body: chat })).status).toBe(200);
    expect((await send("/v1/chat/completions", { token: `${key.slice(0, -1)}x`, body: chat })).status).toBe(401);
    expect((await send(`/billing/balance/logs?minPosition=${position}`, { token: key })).status).toBe(200);
    expect((await send("/no/such/route")).status).toBe(404);
    expect((await send("/health")).status).toBe(200);
    expect(await server.stop()).toBe(0); // SIGTERM: every line is flushed

    const lines = server.stdout().split("\n").filter(Boolean);
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line on stdout: ${line}`);
      }
    });
    expect(server.stderr()).toBe(""); // no deprecation or other warning
    const requests = parsed.filter((l) => l.msg === "request" && String(l.reqId).startsWith("logs-"));
    expect(requests.map((l) => l.reqId).sort()).toEqual(Array.from({ length: n }, (_, i) => `logs-${i}`).sort());
    for (const line of requests) {
      expect(line).toMatchObject({ level: 30, method: expect.any(String), route: expect.any(String), status: expect.any(Number) });
      expect(line.ms).toEqual(expect.any(Number));
    }
    const chats = requests.filter((l) => l.route === "/v1/chat/completions");
    expect(chats.filter((l) => l.status === 200)).toEqual(
      Array(3).fill(expect.objectContaining({ userId: "logs", keyPrefix: key.split("_")[1], method: "POST" })),
    );
    expect(chats.find((l) => l.status === 401)).toMatchObject({ code: "AUTH.INVALID_TOKEN" });
    expect(requests.find((l) => l.reqId === `logs-${n - 2}`)).toMatchObject({ route: "unmatched", status: 404, code: "ROUTE.NOT_FOUND" });
    // where the admin token file would be announced, the start-up lines are JSON too
    expect(parsed.some((l) => String(l.msg).startsWith("AI Aggregator listening on "))).toBe(true);

    for (const secret of [ADMIN, key, key.slice(-30), UPSTREAM_KEYS.openai, IDEMPOTENCY, PROMPT]) {
      expect(lines.filter((l) => l.includes(secret))).toEqual([]);
    }
  });
});
