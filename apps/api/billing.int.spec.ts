import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

describe("billing over HTTP (SQLite)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it("pays, tracks usage and reads the balance", async () => {
    const pay = await t.app.inject({
      method: "POST",
      url: "/billing/payment/process",
      headers: t.admin,
      payload: { userId: "u1", amount: "10" },
    });
    expect(pay.statusCode, pay.body).toBe(201);
    expect(pay.json()).toMatchObject({ userId: "u1", amount: "10", balance: "10" });
    const use = await t.app.inject({
      method: "POST",
      url: "/billing/usage/track",
      headers: t.admin,
      payload: { userId: "u1", provider: "openai", model: "gpt-4o-mini", promptTokens: 1000, completionTokens: 500 },
    });
    expect(use.statusCode, use.body).toBe(201);
    // 1000 × 0.15 + 500 × 0.60 per million = 0.00045 USD
    expect(use.json()).toMatchObject({ cost: "0.00045", balance: "9.99955" });
    const balance = await t.app.inject({ url: `/billing/balance/u1?minPosition=${use.json().position}`, headers: t.admin });
    expect(balance.statusCode, balance.body).toBe(200);
    expect(balance.json()).toMatchObject({ userId: "u1", balance: "9.99955", currency: "USD" });
  });
});
