import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { balanceProjection } from "../../projections/balances.ts";
import { rebuildProjections } from "../../projections/rebuild.ts";
import { startGatewayHarness, type GatewayHarness } from "../../test/harness/gateway-harness.ts";
import { ADMIN_TOKEN, testApp } from "../../test/harness/platform.ts";
import type { AddressInfo } from "node:net";

// The routes the console reads beyond the seed's: who am I, the account list, system status,
// provider health, the dashboard's top providers, the report's day × model × provider rows and the
// live tail of GET /events.

let h: GatewayHarness;
let failOpenai = false;
const get = async (url: string, token = ADMIN_TOKEN) => {
  const res = await h.t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: res.json() };
};
const post = async (url: string, payload: object) => {
  const res = await h.t.app.inject({ method: "POST", url, headers: h.t.admin, payload });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
};

beforeAll(async () => {
  h = await startGatewayHarness((r) => (failOpenai && r.provider === "openai" ? { status: 500 } : undefined));
  for (const user of ["op-b", "op-a", "op-a2", "zz-other"]) await h.fund(user, "10");
});
afterAll(() => h.close());

describe("GET /auth/me", () => {
  it("names the admin, or the key's user, id, scopes and limits, never its secret", async () => {
    expect(await get("/auth/me")).toEqual({ status: 200, body: { kind: "admin" } });
    const key = await post("/auth/api-keys", {
      userId: "op-a",
      name: "me",
      scopes: ["chat"],
      limits: { requestsPerMinute: 7, budget: "2.5" },
    });
    const me = await get("/auth/me", key.key);
    expect(me).toEqual({
      status: 200,
      body: { kind: "user", userId: "op-a", keyId: key.id, scopes: ["chat"], limits: { requestsPerMinute: 7, budget: "2.5" } },
    });
    expect(JSON.stringify(me.body)).not.toContain(key.key.slice(-20));
    expect((await get("/auth/me", `${key.key.slice(0, -1)}x`)).status).toBe(401);
  });
});

describe("GET /billing/accounts", () => {
  it("lists accounts in id order with balance, held and available, filtered by prefix, paged by cursor", async () => {
    const all = await get("/billing/accounts");
    expect(all.body.items.map((a: { userId: string }) => a.userId)).toEqual(["op-a", "op-a2", "op-b", "zz-other"]);
    expect(all.body.items[0]).toMatchObject({
      userId: "op-a",
      balance: "10",
      held: "0",
      available: "10",
      currency: "USD",
      transactions: 1,
    });
    expect(all.body).toMatchObject({ total: 4, nextCursor: null });
    const first = await get("/billing/accounts?prefix=op-&limit=2");
    expect(first.body).toMatchObject({ total: 3, nextCursor: "op-a2" });
    expect(first.body.items.map((a: { userId: string }) => a.userId)).toEqual(["op-a", "op-a2"]);
    const second = await get("/billing/accounts?prefix=op-&limit=2&cursor=op-a2");
    expect(second.body).toMatchObject({ total: 3, nextCursor: null, items: [{ userId: "op-b" }] });
    expect((await get("/billing/accounts?prefix=nobody")).body).toEqual({ items: [], total: 0, nextCursor: null });
  });

  it("refuses a prefix outside the id alphabet, and any API key", async () => {
    expect((await get("/billing/accounts?prefix=%3Cscript%3E")).status).toBe(400);
    const key = await post("/auth/api-keys", { userId: "op-b", name: "lister", scopes: ["billing:read", "keys"] });
    expect((await get("/billing/accounts", key.key)).status).toBe(403);
  });
});

describe("GET /orchestrator/providers", () => {
  it("counts each provider's outcomes, error rate and latency; a failing provider is seen failing", async () => {
    const { key } = await h.key("op-a");
    failOpenai = true;
    try {
      const res = await h
        .client(key)
        .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
      expect(res.choices[0]!.message.content).toBeTruthy(); // served by the fallback
    } finally {
      failOpenai = false;
    }
    const { body } = await get("/orchestrator/providers");
    const byName = Object.fromEntries(body.providers.map((p: { provider: string }) => [p.provider, p]));
    expect(byName.openai).toMatchObject({
      configured: true,
      circuit: "closed",
      consecutiveFailures: 1,
      recent: { windowSeconds: 300, requests: 1, failures: 1, errorRate: 1 },
    });
    expect(byName.openrouter).toMatchObject({
      configured: true,
      circuit: "closed",
      consecutiveFailures: 0,
      recent: { requests: 1, failures: 0, errorRate: 0 },
    });
    expect(byName.openrouter.latencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe("usage views", () => {
  it("the report has one row per day × provider × model; the dashboard ranks providers", async () => {
    await post("/billing/usage/track", {
      userId: "op-b",
      provider: "openai",
      model: "gpt-4o",
      promptTokens: 10,
      completionTokens: 5,
      timestamp: "2026-03-01T10:00:00Z",
    });
    await post("/billing/usage/track", {
      userId: "op-b",
      provider: "openrouter",
      model: "gpt-4o",
      promptTokens: 20,
      completionTokens: 5,
      timestamp: "2026-03-01T11:00:00Z",
    });
    const last = await post("/billing/usage/track", {
      userId: "op-b",
      provider: "openrouter",
      model: "gpt-4o",
      promptTokens: 30,
      completionTokens: 5,
      timestamp: "2026-03-02T11:00:00Z",
    });
    const report = await get(`/billing/report/op-b?from=2026-03-01&to=2026-03-02&minPosition=${last.position}`);
    expect(
      report.body.daily.map((d: Record<string, unknown>) => [d.day, d.provider, d.model, d.requests, d.promptTokens, d.tokens]),
    ).toEqual([
      ["2026-03-01", "openai", "gpt-4o", 1, 10, 15],
      ["2026-03-01", "openrouter", "gpt-4o", 1, 20, 25],
      ["2026-03-02", "openrouter", "gpt-4o", 1, 30, 35],
    ]);
    const dash = await get("/analytics/dashboard?granularity=day&from=2026-03-01T00:00:00Z&to=2026-03-02T23:00:00Z");
    expect(dash.body.topProviders).toEqual([
      { provider: "openrouter", requests: 2, tokens: 60 },
      { provider: "openai", requests: 1, tokens: 15 },
    ]);
  });
});

describe("GET /system/status", () => {
  it("reports stores, projector checkpoint and lag, projections, rebuilds in progress and the relay", async () => {
    await h.t.platform.projector.catchUp(5000);
    const { status, body } = await get("/system/status");
    expect(status).toBe(200);
    const head = await h.t.platform.events.headPosition();
    expect(body.eventStore).toMatchObject({ kind: "sqlite", status: "up", headPosition: head });
    expect(body.readStore).toMatchObject({ kind: "sqlite", status: "up" });
    expect(body.projector).toEqual({ inProcess: true, checkpoint: head, lag: 0 });
    const { name, collection } = balanceProjection;
    expect(body.projections.find((p: { name: string }) => p.name === name)).toEqual({ name, collection, documents: 4 });
    expect(body.relay).toEqual({ enabled: false, topic: "aggregator.events", checkpoint: null, lag: null });
    expect(body.rebuilds).toEqual([]);
    // a rebuild built but not switched over keeps its checkpoint: in progress
    await rebuildProjections({
      events: h.t.platform.events,
      reads: h.t.platform.reads,
      projections: [balanceProjection],
      switchOver: false,
    });
    expect((await get("/system/status")).body.rebuilds).toEqual([
      { projection: "balances", collection: "balances__rebuild", position: head, lag: 0 },
    ]);
  });
});

describe("GET /events?follow=true", () => {
  it("stays open: sends what is there after `after`, then each new event as it is appended", async () => {
    const head = await h.t.platform.events.headPosition();
    const res = await fetch(`${h.url}/events?follow=true&after=${head - 1}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const reader = res.body!.getReader();
    let text = "";
    const nextLines = async (n: number) => {
      while (text.split("\n").length - 1 < n) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += new TextDecoder().decode(value);
      }
      return text
        .split("\n")
        .slice(0, n)
        .map((l) => JSON.parse(l));
    };
    expect((await nextLines(1)).map((e) => e.position)).toEqual([head]);
    const paid = await post("/billing/payment/process", { userId: "op-follow", amount: "3" });
    const lines = await nextLines(3);
    expect(lines.slice(1).map((e) => e.type)).toEqual(["payment_processed", "transaction_created"]);
    expect(lines.at(-1).position).toBe(paid.position);
    await reader.cancel();
  });

  it("does not hold the server's shutdown: closing the app ends every open tail", async () => {
    const t = await testApp();
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const res = await fetch(`${url}/events?follow=true`, { headers: t.admin });
    expect(res.status).toBe(200); // headers arrive before any event does
    const reader = res.body!.getReader();
    await t.close();
    expect((await reader.read()).done).toBe(true);
  });
});
