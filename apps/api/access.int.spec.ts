import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// Scopes, owner rule, what a key may mint, and when a revocation takes effect.
describe("access rules", () => {
  let t: TestApp;
  const ALL = ["chat", "billing:read", "keys", "analytics:write"];

  const mint = async (headers: Record<string, string>, payload: object) =>
    t.app.inject({ method: "POST", url: "/auth/api-keys", headers, payload });
  const adminMint = async (userId: string, name: string, extra: object = {}) => {
    const r = await mint(t.admin, { userId, name, ...extra });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; key: string; scopes: string[]; limits: Record<string, unknown>; position: number };
  };

  beforeAll(async () => {
    t = await testApp();
    for (const userId of ["alice", "bob"]) {
      await t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId, amount: "5" } });
    }
  });
  afterAll(() => t.close());

  it("a chat-only key cannot read balance, history, report, audit trail or keys, nor revoke a key (403)", async () => {
    const chat = await adminMint("alice", "chat-only", { scopes: ["chat"] });
    const victim = await adminMint("alice", "victim");
    const reads = [
      "/billing/balance/alice",
      "/billing/balance/alice?asOf=2030-01-01T00:00:00Z",
      "/billing/transactions/alice",
      "/billing/report/alice",
      "/audit/transactions/alice",
      "/audit/verify/alice",
      "/auth/api-keys",
    ];
    for (const url of reads) {
      const res = await t.app.inject({ url, headers: t.bearer(chat.key) });
      expect(res.statusCode, url).toBe(403);
      expect(res.json().code, url).toBe("AUTH.SCOPE_MISSING");
    }
    const revoke = await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${victim.id}`, headers: t.bearer(chat.key) });
    expect(revoke.statusCode).toBe(403);
    expect((await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(victim.key) })).statusCode).toBe(200);
  });

  it("the default scopes are chat and billing:read; analytics:write can be granted", async () => {
    expect((await adminMint("alice", "default")).scopes).toEqual(["chat", "billing:read"]);
    const writer = await adminMint("alice", "writer", { scopes: ["analytics:write"] });
    const tracked = await t.app.inject({
      method: "POST",
      url: "/analytics/track-event",
      headers: t.bearer(writer.key),
      payload: { name: "opened" },
    });
    expect(tracked.statusCode).toBe(202);
  });

  it("a minted key's scopes are a subset of its creator's (403 otherwise); admin mints anything", async () => {
    const creator = await adminMint("alice", "creator", { scopes: ["chat", "keys"] });
    const over = await mint(t.bearer(creator.key), { name: "wider", scopes: ["chat", "billing:read"] });
    expect(over.statusCode).toBe(403);
    expect(over.json()).toMatchObject({ code: "API_KEY.SCOPE_EXCEEDS_CREATOR", detail: expect.stringContaining("billing:read") });
    const within = await mint(t.bearer(creator.key), { name: "narrower", scopes: ["chat"] });
    expect(within.statusCode).toBe(201);
    // omitted: the default scopes the creator has
    expect((await mint(t.bearer(creator.key), { name: "defaults" })).json().scopes).toEqual(["chat"]);
    const keysOnly = await adminMint("alice", "keys-only", { scopes: ["keys"] });
    expect((await mint(t.bearer(keysOnly.key), { name: "nothing-left" })).json().code).toBe("API_KEY.SCOPE_EXCEEDS_CREATOR");
    expect((await adminMint("alice", "everything", { scopes: ALL })).scopes).toEqual(ALL);
  });

  it("a minted key's limits are at least as tight as its creator's: inherited when omitted, 403 when looser", async () => {
    const limits = { requestsPerMinute: 10, tokensPerMinute: 1000, budget: "2" };
    const creator = await adminMint("alice", "bounded", { scopes: ["chat", "keys"], limits });
    const inherited = await mint(t.bearer(creator.key), { name: "inherits", scopes: ["chat"] });
    expect(inherited.json().limits).toEqual({ requestsPerMinute: 10, tokensPerMinute: 1000, budget: "2" });
    const tighter = await mint(t.bearer(creator.key), {
      name: "tighter",
      scopes: ["chat"],
      limits: { requestsPerMinute: 5, budget: "1.5" },
    });
    expect(tighter.json().limits).toEqual({ requestsPerMinute: 5, tokensPerMinute: 1000, budget: "1.5" });
    for (const looser of [{ requestsPerMinute: 11 }, { tokensPerMinute: 1001 }, { budget: "2.000001" }]) {
      const res = await mint(t.bearer(creator.key), { name: "looser", scopes: ["chat"], limits: looser });
      expect(res.statusCode, JSON.stringify(looser)).toBe(403);
      expect(res.json().code).toBe("API_KEY.LIMITS_EXCEED_CREATOR");
    }
    // a creator without limits passes on what is asked
    const free = await adminMint("alice", "unbounded", { scopes: ["keys"] });
    expect((await mint(t.bearer(free.key), { name: "asked", scopes: ["keys"], limits: { requestsPerMinute: 99 } })).json().limits).toEqual({
      requestsPerMinute: 99,
    });
  });

  it("a key acts only for its own user: another user's id is 404 on every owner route", async () => {
    const bob = await adminMint("bob", "bob-all", { scopes: ALL });
    for (const url of [
      "/billing/balance/alice",
      "/billing/transactions/alice",
      "/billing/report/alice",
      "/audit/transactions/alice",
      "/audit/verify/alice",
      "/auth/api-keys?userId=alice",
    ]) {
      const res = await t.app.inject({ url, headers: t.bearer(bob.key) });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    const asAlice = await mint(t.bearer(bob.key), { userId: "alice", name: "hijack", scopes: ["chat"] });
    expect(asAlice.statusCode).toBe(404);
    const list = await t.app.inject({ url: `/auth/api-keys?minPosition=${bob.position}`, headers: t.bearer(bob.key) });
    expect(new Set(list.json().items.map((k: { userId: string }) => k.userId))).toEqual(new Set(["bob"]));
  });

  it("a revocation is effective on the acknowledging instance before its answer: the next request is 401", async () => {
    const key = await adminMint("alice", "revoke-me", { scopes: ALL });
    expect((await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(key.key) })).statusCode).toBe(200); // cached as active
    const revoked = await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${key.id}`, headers: t.bearer(key.key) });
    expect(revoked.statusCode).toBe(200);
    const after = await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(key.key) });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe("AUTH.KEY_REVOKED");
    // once the read model has it, the next revocation drops it from the instance's own list: still refused
    await t.platform.projector.waitFor(revoked.json().position);
    const next = await adminMint("alice", "revoke-me-too");
    expect((await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${next.id}`, headers: t.admin })).statusCode).toBe(200);
    for (const token of [key.key, next.key])
      expect((await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(token) })).statusCode).toBe(401);
  });

  it("a garbage or tampered token is 401 and says nothing about the store", async () => {
    const { key } = await adminMint("alice", "tamper");
    for (const token of ["nope", `${key.slice(0, -1)}x`, "aia_AAAAAAAAAAAA_" + "x".repeat(46)]) {
      const res = await t.app.inject({ url: "/billing/balance/alice", headers: t.bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toMatch(/sqlite|api_keys|secretHash|select/i);
    }
  });

  it("an active key name is unique per user (409) and free again after revocation", async () => {
    const first = await adminMint("alice", "unique");
    expect((await mint(t.admin, { userId: "alice", name: "unique" })).statusCode).toBe(409);
    await t.app.inject({ method: "DELETE", url: `/auth/api-keys/${first.id}`, headers: t.admin });
    expect((await mint(t.admin, { userId: "alice", name: "unique" })).statusCode).toBe(201);
  });
});
