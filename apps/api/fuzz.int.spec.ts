import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// Hundreds of malformed bodies to every POST route: only 4xx problem+json, and the event store unchanged.
const POST_ROUTES = [
  "/billing/payment/process",
  "/billing/payment/refund",
  "/billing/transaction",
  "/billing/usage/track",
  "/auth/api-keys",
  "/analytics/track-event",
  "/analytics/events/track",
];

const hostileValue = fc.oneof(
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.constantFrom("1e400", "0x10", "-0", "12.3456789", " 5", "NaN", "Infinity", "__proto__", "", "\u0000"),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
);

// near-misses of valid bodies: every field present but at least one wrong, or extra fields
const malformedBody = fc.oneof(
  fc.record(
    { userId: hostileValue, amount: hostileValue, type: hostileValue, paymentId: hostileValue, name: hostileValue },
    { requiredKeys: [] },
  ),
  fc.record({ userId: fc.constant("fz"), amount: fc.constant("1"), unexpected: hostileValue }),
  fc.record({
    userId: fc.constant("fz"),
    provider: hostileValue,
    model: hostileValue,
    promptTokens: hostileValue,
    completionTokens: hostileValue,
  }),
  fc.constantFrom({ __proto__: { admin: true } }, JSON.parse('{"__proto__": {"polluted": 1}}'), [], "just a string", 42, null),
  fc.record({ userId: fc.constant("fz"), type: fc.constantFrom("credit", "debit", "adjustment", "refund"), amount: hostileValue }),
);

describe("malformed input", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it.each(POST_ROUTES)("POST %s: only 4xx problem+json, nothing appended", async (url) => {
    await fc.assert(
      fc.asyncProperty(malformedBody, async (body) => {
        const head = await t.platform.events.headPosition();
        const res = await t.app.inject({
          method: "POST",
          url,
          headers: { ...t.admin, "content-type": "application/json" },
          payload: JSON.stringify(body),
        });
        if (res.statusCode < 300) {
          // a body that happens to be valid (a credit of a fuzzed but legal amount) may pass; then it
          // must really be a valid command: no field outside the schema, and its events appended for
          // the user it names
          expect(res.headers["content-type"]).toContain("application/json");
          expect(Object.keys(body as object)).not.toContain("unexpected");
          const appended = await t.platform.events.readAll({ after: head });
          expect(appended.length).toBeGreaterThan(0);
          const userId = (body as { userId?: unknown }).userId;
          if (typeof userId === "string") for (const e of appended) expect((e.data as { userId?: string }).userId).toBe(userId);
          return;
        }
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.headers["content-type"]).toContain("application/problem+json");
        expect(await t.platform.events.headPosition()).toBe(head);
      }),
      { numRuns: 150 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("non-JSON, oversize and wrong content types are 4xx", async () => {
    const cases = [
      { payload: "{not json", type: "application/json", status: 400 },
      { payload: "amount=1", type: "application/x-www-form-urlencoded", status: 415 },
      { payload: JSON.stringify({ userId: "x", amount: "1", pad: "x".repeat(2 * 1024 * 1024) }), type: "application/json", status: 413 },
    ];
    for (const c of cases) {
      const res = await t.app.inject({
        method: "POST",
        url: "/billing/payment/process",
        headers: { ...t.admin, "content-type": c.type },
        payload: c.payload,
      });
      expect(res.statusCode).toBe(c.status);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
  });

  it("the OpenAPI document lists every route", async () => {
    const doc = (await t.app.inject({ url: "/openapi.json" })).json();
    const paths = Object.keys(doc.paths);
    for (const url of [
      ...POST_ROUTES,
      "/billing/balance/{userId}",
      "/billing/transactions/{userId}",
      "/billing/report/{userId}",
      "/auth/api-keys/{keyId}",
      "/analytics/metrics",
      "/analytics/dashboard",
      "/analytics/stats/collection",
      "/analytics/events/summary",
      "/health",
      "/ready",
      "/metrics",
    ]) {
      expect(paths).toContain(url);
    }
  });
});
