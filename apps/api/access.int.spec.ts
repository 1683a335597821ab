import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../testing/platform.ts";

// Cross-tenant and role matrix: another user's key → 404, a user key on admin routes → 403, no token → 401.
describe("access rules", () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let aliceKeyId: string;

  beforeAll(async () => {
    t = await testApp();
    for (const userId of ["alice", "bob"]) {
      await t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId, amount: "5" } });
    }
    const a = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "alice", name: "k" } });
    const b = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "bob", name: "k" } });
    alice = a.json().key;
    aliceKeyId = a.json().id;
    bob = b.json().key;
    await t.platform.projector.catchUp();
  });
  afterAll(() => t.close());

  const ownerRoutes = ["/billing/balance/alice", "/billing/transactions/alice", "/billing/report/alice", "/auth/api-keys?userId=alice"];

  it.each(ownerRoutes)("GET %s: owner 200, another user's key 404, no token 401", async (url) => {
    expect((await t.app.inject({ url, headers: t.bearer(alice) })).statusCode).toBe(200);
    const foreign = await t.app.inject({ url, headers: t.bearer(bob) });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.headers["content-type"]).toContain("application/problem+json");
    expect((await t.app.inject({ url })).statusCode).toBe(401);
  });

  it("another user's key cannot revoke alice's key (404), nor see it in its list", async () => {
    expect((await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${aliceKeyId}`, headers: t.bearer(bob) })).statusCode).toBe(404);
    const list = await t.app.inject({ url: "/auth/api-keys", headers: t.bearer(bob) });
    expect(list.json().items.map((k: { userId: string }) => k.userId)).toEqual(["bob"]);
  });

  const adminRoutes: [string, string, unknown?][] = [
    ["POST", "/billing/payment/process", { userId: "alice", amount: "1" }],
    ["POST", "/billing/payment/refund", { userId: "alice", paymentId: "p" }],
    ["POST", "/billing/transaction", { userId: "alice", type: "credit", amount: "1" }],
    ["POST", "/billing/usage/track", { userId: "alice", provider: "openai", model: "gpt-4o", promptTokens: 1, completionTokens: 1 }],
    ["GET", "/analytics/metrics"],
    ["GET", "/analytics/dashboard"],
    ["GET", "/analytics/stats/collection"],
    ["GET", "/analytics/events/summary"],
  ];

  it.each(adminRoutes)("%s %s: user key 403, no token 401, admin 2xx", async (method, url, payload) => {
    const asUser = await t.app.inject({ method: method as "GET", url, headers: t.bearer(alice), ...(payload ? { payload: payload as object } : {}) });
    expect(asUser.statusCode).toBe(403);
    expect(asUser.json().code).toBe("AUTH.ADMIN_ONLY");
    expect((await t.app.inject({ method: method as "GET", url, ...(payload ? { payload: payload as object } : {}) })).statusCode).toBe(401);
  });

  it("a garbage or tampered token is 401 and says nothing about the store", async () => {
    for (const token of ["nope", `${alice.slice(0, -1)}x`, "aia_AAAAAAAAAAAA_" + "x".repeat(46)]) {
      const res = await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toMatch(/sqlite|api_keys|secretHash|select/i);
    }
  });

  it("a revoked key is refused within the auth cache TTL", async () => {
    const k = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "alice", name: "temp" } });
    const key = k.json().key;
    expect((await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(key) })).statusCode).toBe(200);
    const revoked = await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${k.json().id}`, headers: t.admin });
    await t.platform.projector.waitFor(revoked.json().position);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(key) })).statusCode).toBe(401);
  });

  it("an active key name is unique per user (409) and free again after revocation", async () => {
    const again = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "alice", name: "k" } });
    expect(again.statusCode).toBe(409);
    await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${aliceKeyId}`, headers: t.admin });
    const reuse = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "alice", name: "k" } });
    expect(reuse.statusCode).toBe(201);
  });
});
