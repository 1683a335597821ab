import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { formatMoney, parseMoney } from "../../domain/money.ts";
import { startGatewayHarness, type GatewayHarness } from "../../test/harness/gateway-harness.ts";
import { ADMIN_TOKEN } from "../../test/harness/platform.ts";

// Money and limits under concurrency. In-flight requests are held at the fixture behind a gate the
// test opens, so "all reservations happen before any settlement" is a fact, not a timing bet.

const ask = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "count me" }], max_tokens: 1000 };

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const statusOf = (outcome: PromiseSettledResult<unknown>) =>
  outcome.status === "fulfilled" ? 200 : outcome.reason instanceof APIError ? outcome.reason.status : -1;

describe("gateway money and limits", () => {
  let h: GatewayHarness;
  let n = 0;
  const user = async (amount: string, limits?: Record<string, unknown>) => {
    const userId = `l${++n}`;
    await h.fund(userId, amount);
    const { key } = await h.key(userId, limits);
    return { userId, key, client: h.client(key) };
  };
  /** the hold for `ask`, as /proxy/validate-request quotes it */
  const holdFor = async (key: string) => {
    const r = await h.t.app.inject({ method: "POST", url: "/proxy/validate-request", headers: h.t.bearer(key), payload: ask });
    expect(r.statusCode, r.body).toBe(200);
    return parseMoney(r.json().funds.required as string);
  };
  beforeAll(async () => {
    h = await startGatewayHarness();
  });
  afterAll(() => h.close());

  it("balance for 10 holds, 50 requests at once: 10 served, 40 refused with 402, balance never below zero", async () => {
    const { userId, key, client } = await user("1");
    const hold = await holdFor(key);
    await h.t.app.inject({
      method: "POST",
      url: "/billing/transaction",
      headers: h.t.admin,
      payload: { userId, type: "debit", amount: formatMoney(1_000_000 - 10 * hold) },
    });
    expect((await h.ledger(userId)).balance).toBe(10 * hold);
    const upstream = gate();
    const before = h.fixture.received.length;
    h.fixture.script(() => ({ gate: upstream.promise, usage: { prompt_tokens: 15, completion_tokens: 1000 } }));
    let refused = 0;
    const calls = Array.from({ length: 50 }, () =>
      client.chat.completions.create(ask).catch((error: unknown) => {
        refused++;
        throw error;
      }),
    );
    const settled = Promise.allSettled(calls);
    await vi.waitFor(() => expect(refused).toBe(40), { timeout: 30_000 });
    expect(h.fixture.received.length - before).toBe(10);
    upstream.open();
    const outcomes = await settled;
    expect(outcomes.filter((o) => statusOf(o) === 200)).toHaveLength(10);
    expect(outcomes.filter((o) => statusOf(o) === 402)).toHaveLength(40);
    const refusal = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    expect((refusal.reason as APIError).error).toMatchObject({ code: "GATEWAY.INSUFFICIENT_FUNDS" });
    const ledger = await h.ledger(userId);
    expect(ledger.held).toBe(0);
    expect(ledger.balance).toBeGreaterThanOrEqual(0);
    expect(ledger.balance).toBe(10 * hold - 10 * 603); // 15 × 0.15 + 1000 × 0.60 per million = 602.25 → 603
  });

  it("requestsPerMinute → 429 with Retry-After", async () => {
    h.fixture.script(() => ({}));
    const { client } = await user("1", { requestsPerMinute: 2 });
    await client.chat.completions.create(ask);
    await client.chat.completions.create(ask);
    const error = (await client.chat.completions.create(ask).catch((e: unknown) => e)) as APIError;
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: "RATE_LIMIT.REQUESTS" });
    const retryAfter = Number(error.headers?.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(61); // whole seconds: the oldest second leaves the window 61 s after it began
  });

  it("tokensPerMinute → 429 once billed tokens fill the window", async () => {
    h.fixture.script(() => ({ usage: { prompt_tokens: 30, completion_tokens: 40 } }));
    const { client } = await user("1", { tokensPerMinute: 100 });
    const small = { ...ask, max_tokens: 50 };
    await client.chat.completions.create(small); // reserves ≤ 60 tokens, trued up to the 70 billed
    const error = (await client.chat.completions.create(small).catch((e: unknown) => e)) as APIError;
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: "RATE_LIMIT.TOKENS" });
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("a key budget is never overshot: concurrent holds count against it, then settled spend does", async () => {
    const probe = await user("1");
    const hold = await holdFor(probe.key);
    const { userId, client } = await user("1", { budget: formatMoney(2 * hold) });
    const upstream = gate();
    h.fixture.script(() => ({ gate: upstream.promise, usage: { prompt_tokens: 10, completion_tokens: 1000 } }));
    let refused = 0;
    const calls = Array.from({ length: 6 }, () =>
      client.chat.completions.create(ask).catch((error: unknown) => {
        refused++;
        throw error;
      }),
    );
    const settled = Promise.allSettled(calls);
    await vi.waitFor(() => expect(refused).toBe(4), { timeout: 30_000 });
    upstream.open();
    const outcomes = await settled;
    expect(outcomes.filter((o) => statusOf(o) === 200)).toHaveLength(2);
    const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected").map((o) => o.reason as APIError);
    expect(refusals.every((e) => e.status === 429 && e.error && (e.error as { code: string }).code === "API_KEY.BUDGET_EXCEEDED")).toBe(
      true,
    );
    expect(refusals.every((e) => e.headers?.get("retry-after") === "1")).toBe(true); // holds in flight may still be released
    // spent 2 × 602 of 2 × 603: another hold no longer fits and nothing is in flight → the SDK should not retry
    const after = (await client.chat.completions.create(ask).catch((e: unknown) => e)) as APIError;
    expect(after.status).toBe(429);
    expect(after.headers?.get("x-should-retry")).toBe("false");
    const spent = (await h.events(userId))
      .filter((e) => e.type === "ai_usage")
      .reduce((sum, e) => sum + (e.data as { cost: number }).cost, 0);
    expect(spent).toBe(2 * 602); // 10 × 0.15 + 1000 × 0.60 per million = 601.5 → 602
    expect(spent).toBeLessThanOrEqual(2 * hold);
    expect((await h.ledger(userId)).held).toBe(0);
  });

  it("validate-request: route, estimate and funds without calling upstream", async () => {
    const { key } = await user("0.001");
    const before = h.fixture.received.length;
    const ok = await h.t.app.inject({ method: "POST", url: "/proxy/validate-request", headers: h.t.bearer(key), payload: ask });
    expect(ok.json()).toMatchObject({
      valid: true,
      model: "gpt-4o-mini",
      route: { provider: "openai", upstreamId: "gpt-4o-mini" },
      fallbacks: [{ provider: "openrouter" }],
      estimate: { promptTokens: 9, maxCompletionTokens: 1000, maxCost: "0.000603" },
      funds: { available: "0.001", required: "0.000603", sufficient: true },
    });
    const poor = await h.t.app.inject({
      method: "POST",
      url: "/proxy/validate-request",
      headers: h.t.bearer(key),
      payload: { ...ask, max_tokens: 16_000 },
    });
    expect(poor.json().funds.sufficient).toBe(false);
    const unknown = await h.t.app.inject({
      method: "POST",
      url: "/proxy/validate-request",
      headers: h.t.bearer(key),
      payload: { ...ask, model: "gpt-9" },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe("MODEL.NOT_FOUND");
    const tooLong = await h.t.app.inject({
      method: "POST",
      url: "/proxy/validate-request",
      headers: h.t.bearer(key),
      payload: { ...ask, max_tokens: 100_000 },
    });
    expect(tooLong.json()).toMatchObject({ status: 422, code: "REQUEST.MAX_TOKENS" });
    const bad = await h.t.app.inject({
      method: "POST",
      url: "/proxy/validate-request",
      headers: h.t.bearer(key),
      payload: { model: "gpt-4o-mini", messages: [] },
    });
    expect(bad.statusCode).toBe(400);
    expect(h.fixture.received.length).toBe(before);
  });

  it("GET /v1/models in OpenAI's shape; the proxy takes our API keys only", async () => {
    const { client } = await user("1");
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual(
      expect.arrayContaining(["gpt-4o-mini", "gpt-4o", "claude-3.5-sonnet", "llama-3.1-8b-instruct"]),
    );
    expect(models[0]).toMatchObject({ object: "model", owned_by: expect.any(String) });
    const stranger = new OpenAI({ apiKey: "sk-not-ours", baseURL: `${h.url}/v1`, maxRetries: 0 });
    expect(((await stranger.chat.completions.create(ask).catch((e: unknown) => e)) as APIError).status).toBe(401);
    const admin = new OpenAI({ apiKey: ADMIN_TOKEN, baseURL: `${h.url}/v1`, maxRetries: 0 });
    expect(((await admin.chat.completions.create(ask).catch((e: unknown) => e)) as APIError).status).toBe(403);
    const created = await h.t.app.inject({
      method: "POST",
      url: "/auth/api-keys",
      headers: h.t.admin,
      payload: { userId: "reader", name: "ro", scopes: ["billing:read"] },
    });
    const readOnly = h.client(created.json().key as string);
    const refused = (await readOnly.chat.completions.create(ask).catch((e: unknown) => e)) as APIError;
    expect(refused.status).toBe(403);
    expect(refused.error).toMatchObject({ code: "AUTH.SCOPE_MISSING" });
  });
});
