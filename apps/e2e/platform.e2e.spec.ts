import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../test/harness/server.ts";

// Drives `npm start` over real HTTP as a user would, on the embedded SQLite default.
const ADMIN = "e2e-admin-token-0123456789abcdef";
const dataDir = mkdtempSync(join(tmpdir(), "aggregator-e2e-"));

async function call(url: string, method: string, path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: text ? JSON.parse(text) : null };
}

describe("the platform end to end (npm start, SQLite)", () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("keys, payments, usage, queries, revocation, restart", async () => {
    const env = { DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN };
    let server = await startServer(env);
    const api = (method: string, path: string, token: string | null, body?: unknown) => call(server.url, method, path, token, body);

    const key = await api("POST", "/auth/api-keys", ADMIN, { userId: "alice", name: "laptop", scopes: ["chat", "billing:read", "keys"] });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    expect(key.body.key).toMatch(/^aia_/);
    const userKey: string = key.body.key;

    const pay = await api("POST", "/billing/payment/process", ADMIN, { userId: "alice", amount: "25.5", method: "card" });
    expect(pay.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const use = await api("POST", "/billing/usage/track", ADMIN, {
        userId: "alice",
        provider: "openai",
        model: "gpt-4o",
        promptTokens: 1000,
        completionTokens: 1000,
      });
      expect(use.status).toBe(201);
      expect(use.body.cost).toBe("0.0125"); // 1000 × 2.5 + 1000 × 10 per million
    }
    const credit = await api("POST", "/billing/transaction", ADMIN, { userId: "alice", type: "credit", amount: 1 });
    expect(credit.status).toBe(201);
    const position = credit.body.position;

    const balance = await api("GET", `/billing/balance/alice?minPosition=${position}`, userKey);
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({ userId: "alice", balance: "26.4625", currency: "USD" });

    const history = await api("GET", "/billing/transactions/alice?limit=2", userKey);
    expect(history.body.items.map((t: { type: string }) => t.type)).toEqual(["credit", "usage"]);
    const page2 = await api("GET", `/billing/transactions/alice?limit=10&cursor=${history.body.nextCursor}`, userKey);
    expect(page2.body.items.map((t: { type: string }) => t.type)).toEqual(["usage", "usage", "payment"]);
    expect(page2.body.nextCursor).toBeNull();

    const report = await api("GET", "/billing/report/alice", userKey);
    expect(report.body.totals).toMatchObject({ requests: 3, promptTokens: 3000, completionTokens: 3000, tokens: 6000, cost: "0.0375" });
    expect(report.body.byModel).toEqual([expect.objectContaining({ provider: "openai", model: "gpt-4o", requests: 3 })]);

    const dashboard = await api("GET", "/analytics/dashboard?granularity=day", ADMIN);
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.totals).toMatchObject({ requests: 3, tokens: 6000, cost: "0.0375", payments: "25.5", activeUsers: 1 });
    expect(dashboard.body.topModels[0]).toMatchObject({ model: "gpt-4o", requests: 3 });

    const metrics = await api("GET", "/analytics/metrics", ADMIN);
    expect(metrics.body).toMatchObject({ accounts: 1, requests: 3, tokens: 6000, revenue: "0.0375", payments: "25.5", refunds: "0" });
    const summary = await api("GET", "/analytics/events/summary", ADMIN);
    expect(summary.body.byType).toEqual(
      expect.arrayContaining([
        { type: "transaction_created", count: 5 },
        { type: "ai_usage", count: 3 },
      ]),
    );
    const stats = await api("GET", "/analytics/stats/collection", ADMIN);
    expect(stats.body.collections).toEqual(
      expect.arrayContaining([
        { name: "balances", documents: 1 },
        { name: "transactions", documents: 5 },
      ]),
    );

    const revoke = await api("DELETE", `/auth/api-keys/${key.body.id}`, userKey);
    expect(revoke.status).toBe(200);
    expect((await api("DELETE", `/auth/api-keys/${key.body.id}`, ADMIN)).status).toBe(409);

    expect(await server.stop()).toBe(0);
    server = await startServer(env);
    const after = await api("GET", "/billing/balance/alice", ADMIN);
    expect(after.body).toMatchObject({ balance: "26.4625", position });
    const keys = await api("GET", "/auth/api-keys?userId=alice", ADMIN);
    expect(keys.body.items).toEqual([expect.objectContaining({ id: key.body.id, status: "revoked" })]);
    expect(JSON.stringify(keys.body)).not.toContain(userKey);
    expect((await api("GET", "/billing/balance/alice", userKey)).status).toBe(401);
    const pay2 = await api("POST", "/billing/payment/process", ADMIN, { userId: "alice", amount: "1" });
    expect(pay2.body.balance).toBe("27.4625");
    await server.stop();
  });
});
