import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// The edge checks input, the deciders check state. Each row is a rule that used to be
// re-checked by a decider and is now the route schema's alone: refused with 400 REQUEST.INVALID naming
// the field, before any command runs, so nothing is appended. The rules on state (duplicates, funds,
// over-refunds, budgets…) stay in the deciders: domain/refusals.unit.spec.ts.

type Row = [what: string, url: string, body: Record<string, unknown>, field: string];

const pay = (body: object) => ({ userId: "edge", amount: "1", ...body });
const refund = (body: object) => ({ userId: "edge", paymentId: "pay-edge", ...body });
const credit = (body: object) => ({ userId: "edge", type: "credit", amount: "1", ...body });
const usage = (body: object) => ({
  userId: "edge",
  provider: "openai",
  model: "gpt-4o-mini",
  promptTokens: 1,
  completionTokens: 1,
  ...body,
});
const key = (body: object) => ({ userId: "edge", name: "laptop", ...body });
const track = (body: object) => ({ name: "signup", userId: "edge", ...body });

const rows: Row[] = [
  ["a blank paymentId", "/billing/payment/process", pay({ paymentId: " " }), "body.paymentId"],
  ["a zero payment", "/billing/payment/process", pay({ amount: "0" }), "body.amount"],
  ["a payment of 7 fraction digits", "/billing/payment/process", pay({ amount: "0.0000001" }), "body.amount"],
  ["a payment in EUR", "/billing/payment/process", pay({ currency: "EUR" }), "body.currency"],
  ["a blank method", "/billing/payment/process", pay({ method: "  " }), "body.method"],
  ["a long externalRef", "/billing/payment/process", pay({ externalRef: "x".repeat(201) }), "body.externalRef"],
  ["a blank refundId", "/billing/payment/refund", refund({ refundId: "" }), "body.refundId"],
  ["a zero refund", "/billing/payment/refund", refund({ amount: "0" }), "body.amount"],
  ["a long refund reason", "/billing/payment/refund", refund({ reason: "x".repeat(501) }), "body.reason"],
  ["a negative credit", "/billing/transaction", credit({ amount: "-1" }), "body.amount"],
  ["a zero debit", "/billing/transaction", credit({ type: "debit", amount: "0" }), "body.amount"],
  ["a zero adjustment", "/billing/transaction", credit({ type: "adjustment", amount: "0" }), "body.amount"],
  ["an unknown transaction type", "/billing/transaction", credit({ type: "gift" }), "body.type"],
  ["a blank description", "/billing/transaction", credit({ description: " " }), "body.description"],
  ["a blank usageId", "/billing/usage/track", usage({ usageId: "" }), "body.usageId"],
  ["negative prompt tokens", "/billing/usage/track", usage({ promptTokens: -1 }), "body.promptTokens"],
  ["fractional completion tokens", "/billing/usage/track", usage({ completionTokens: 1.5 }), "body.completionTokens"],
  ["token counts beyond the limit", "/billing/usage/track", usage({ promptTokens: Number.MAX_SAFE_INTEGER }), "body.promptTokens"],
  ["a negative cost", "/billing/usage/track", usage({ cost: "-0.000001" }), "body.cost"],
  ["a blank provider", "/billing/usage/track", usage({ provider: " " }), "body.provider"],
  ["a blank model", "/billing/usage/track", usage({ model: "" }), "body.model"],
  ["a blank service", "/billing/usage/track", usage({ service: "  " }), "body.service"],
  ["a blank requestId", "/billing/usage/track", usage({ requestId: "" }), "body.requestId"],
  ["a blank apiKeyId", "/billing/usage/track", usage({ apiKeyId: "" }), "body.apiKeyId"],
  ["a usage timestamp without an offset", "/billing/usage/track", usage({ timestamp: "2026-01-01T00:00:00" }), "body.timestamp"],
  ["a blank key name", "/auth/api-keys", key({ name: "   " }), "body.name"],
  ["a key name of 101 characters", "/auth/api-keys", key({ name: "x".repeat(101) }), "body.name"],
  ["an unknown scope", "/auth/api-keys", key({ scopes: ["admin"] }), "body.scopes.0"],
  ["scopes that are no list", "/auth/api-keys", key({ scopes: "chat" }), "body.scopes"],
  ["limits that are no object", "/auth/api-keys", key({ limits: [] }), "body.limits"],
  ["a negative key budget", "/auth/api-keys", key({ limits: { budget: "-1" } }), "body.limits.budget"],
  ["a fractional rate", "/auth/api-keys", key({ limits: { requestsPerMinute: 1.5 } }), "body.limits.requestsPerMinute"],
  ["a blank userId", "/auth/api-keys", key({ userId: "" }), "body.userId"],
  ["an event name that is no string", "/analytics/track-event", track({ name: 42 }), "body.name"],
  ["a blank event name", "/analytics/track-event", track({ name: "  " }), "body.name"],
  ["an event name of 201 characters", "/analytics/track-event", track({ name: "x".repeat(201) }), "body.name"],
  ["properties that are a list", "/analytics/track-event", track({ properties: [] }), "body.properties"],
  // 16 385 bytes of JSON: one over the limit (values are at most 2 000 characters each)
  [
    "properties one byte over 16 KiB of JSON",
    "/analytics/track-event",
    track({
      properties: {
        b: "x".repeat(2000),
        c: "x".repeat(2000),
        d: "x".repeat(2000),
        e: "x".repeat(2000),
        f: "x".repeat(2000),
        g: "x".repeat(2000),
        h: "x".repeat(2000),
        i: "x".repeat(2000),
        j: "x".repeat(321),
      },
    }),
    "body.properties",
  ],
  ["a bad event timestamp", "/analytics/track-event", track({ timestamp: "last tuesday" }), "body.timestamp"],
];

describe("the edge checks input (rules that left the deciders)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
    const paid = await t.app.inject({
      method: "POST",
      url: "/billing/payment/process",
      headers: t.admin,
      payload: { userId: "edge", amount: "5", paymentId: "pay-edge" },
    });
    expect(paid.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  it.each(rows)("%s: 400 naming the field, nothing appended", async (_what, url, payload, field) => {
    const head = await t.platform.events.headPosition();
    const r = await t.app.inject({ method: "POST", url, headers: t.admin, payload });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ code: "REQUEST.INVALID" });
    expect(r.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await t.platform.events.headPosition()).toBe(head);
  });

  it("accepts what lies just inside each bound", async () => {
    const ok = async (url: string, payload: object, status: number) => {
      const r = await t.app.inject({ method: "POST", url, headers: t.admin, payload });
      expect(r.statusCode, r.body).toBe(status);
    };
    // 16 384 bytes of JSON exactly: the last text one character shorter than above
    const properties = {
      b: "x".repeat(2000),
      c: "x".repeat(2000),
      d: "x".repeat(2000),
      e: "x".repeat(2000),
      f: "x".repeat(2000),
      g: "x".repeat(2000),
      h: "x".repeat(2000),
      i: "x".repeat(2000),
      j: "x".repeat(320),
    };
    expect(Buffer.byteLength(JSON.stringify(properties))).toBe(16_384);
    await ok("/analytics/track-event", track({ properties, name: "x".repeat(200) }), 202);
    await ok("/auth/api-keys", key({ name: "x".repeat(100) }), 201);
    await ok("/billing/payment/process", pay({ amount: "0.000001", method: " card ", externalRef: "x".repeat(200) }), 201);
    await ok("/billing/transaction", credit({ type: "adjustment", amount: "-0.000001" }), 201);
    await ok("/billing/usage/track", usage({ promptTokens: 0, completionTokens: 0, cost: "0" }), 201);
  });
});
