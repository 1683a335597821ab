import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UPSTREAM_KEYS } from "../../test/harness/gateway-harness.ts";
import { startServer } from "../../test/harness/server.ts";
import { startUpstreamFixture, type UpstreamFixture } from "../../test/fixtures/upstream-fixture.ts";

// README "Secrets": upstream keys, the admin token and API key secrets never reach a log line, even at
// LOG_LEVEL=trace. `npm start` as a user runs it, every log line captured; the traffic covers success,
// streams, upstream errors that echo the upstream key, a tampered key and an API key creation.
const ADMIN = "logs-admin-token-0123456789abcdef";

describe("secrets stay out of logs (LOG_LEVEL=trace)", () => {
  const dir = mkdtempSync(join(tmpdir(), "logs-"));
  let fixture: UpstreamFixture;
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    fixture = await startUpstreamFixture((r) => {
      const content = String((r.body?.messages as { content: string }[] | undefined)?.[0]?.content);
      if (content === "fail") return { status: 500, errorBody: { error: { message: `upstream down, key ${UPSTREAM_KEYS.openai}` } } };
      if (content === "reject") return { status: 400, errorBody: { error: { message: `bad request for ${UPSTREAM_KEYS.openai}` } } };
      if (content === "cut") return { content: ["a", "b", "c"], cutAfterChunks: 1 };
      return { usage: { prompt_tokens: 5, completion_tokens: 3 } };
    });
    server = await startServer({
      DATA_DIR: dir,
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: "trace",
      OPENAI_BASE_URL: fixture.baseUrl("openai"),
      OPENAI_API_KEY: UPSTREAM_KEYS.openai,
      OPENROUTER_BASE_URL: fixture.baseUrl("openrouter"),
      OPENROUTER_API_KEY: UPSTREAM_KEYS.openrouter,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await fixture?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const admin = (path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  it("no upstream key, admin token or API key secret in any log line", async () => {
    expect((await admin("/billing/payment/process", { userId: "logs", amount: "5" }, { "idempotency-key": "logs-pay-0001" })).status).toBe(
      201,
    );
    const created = await admin("/auth/api-keys", { userId: "logs", name: "laptop" });
    expect(created.status).toBe(201);
    const secret = ((await created.json()) as { key: string }).key;
    const client = new OpenAI({ apiKey: secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const ask = (content: string) => ({ model: "gpt-4o-mini", messages: [{ role: "user" as const, content }] });
    await client.chat.completions.create(ask("hi"));
    for await (const _ of await client.chat.completions.create({ ...ask("stream"), stream: true }));
    expect(await client.chat.completions.create(ask("fail")).catch((e: { status: number }) => e.status)).toBe(502);
    expect(await client.chat.completions.create(ask("reject")).catch((e: { status: number }) => e.status)).toBe(400);
    await (async () => {
      for await (const _ of await client.chat.completions.create({ ...ask("cut"), stream: true }));
    })().catch(() => undefined);
    const tampered = new OpenAI({ apiKey: `${secret.slice(0, -1)}x`, baseURL: `${server.url}/v1`, maxRetries: 0 });
    expect(await tampered.chat.completions.create(ask("hi")).catch((e: { status: number }) => e.status)).toBe(401);
    expect(await server.stop()).toBe(0); // SIGTERM: every log line is flushed

    const lines = server.output().split("\n").filter(Boolean);
    // the logs are really on: a debug line for every request above
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(8);
    for (const secretText of [UPSTREAM_KEYS.openai, UPSTREAM_KEYS.openrouter, ADMIN, secret, secret.slice(-40)]) {
      expect(lines.filter((l) => l.includes(secretText))).toEqual([]);
    }
  });
});
