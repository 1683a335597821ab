import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// Platform totals past 2^53 micro-USD over HTTP: maximal payments, usage and refunds on several
// accounts; every total is the exact decimal the test computes itself with BigInt.

const MAX = 2n ** 53n - 1n; // the largest single amount
const usd = (micro: bigint) => {
  const digits = micro.toString().padStart(7, "0");
  const fraction = digits.slice(-6).replace(/0+$/, "");
  return digits.slice(0, -6) + (fraction ? `.${fraction}` : "");
};
const micro = (decimal: string) => {
  const [whole, fraction = ""] = decimal.split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
};

describe("exact totals at any size", () => {
  let t: TestApp;
  let position = 0;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  const post = async (url: string, payload: object) => {
    const res = await t.app.inject({ method: "POST", url, headers: t.admin, payload });
    expect(res.statusCode, res.body).toBe(201);
    position = Math.max(position, res.json().position);
  };
  const get = async (url: string) => {
    const res = await t.app.inject({ url: `${url}${url.includes("?") ? "&" : "?"}minPosition=${position}`, headers: t.admin });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const track = (userId: string) =>
    post("/billing/usage/track", { userId, provider: "openai", model: "gpt-4o", promptTokens: 1, completionTokens: 1, cost: usd(MAX) });

  it("metrics, dashboard and reports answer 200 with exact sums after maximal amounts on several accounts", async () => {
    let payments = 0n,
      refunds = 0n,
      revenue = 0n;
    for (const userId of ["big-a", "big-b", "big-c"]) {
      await post("/billing/payment/process", { userId, amount: usd(MAX), paymentId: `pay-${userId}` });
      payments += MAX;
    }
    await track("big-a");
    await track("big-a"); // usage is never refused for funds: big-a's balance goes to -MAX
    await track("big-b");
    revenue += 3n * MAX;
    await post("/billing/payment/refund", { userId: "big-c", paymentId: "pay-big-c" });
    refunds += MAX;
    await post("/billing/payment/process", { userId: "small", amount: "0.000001" });
    payments += 1n;
    expect(payments > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);

    const metrics = await get("/analytics/metrics");
    expect(metrics).toMatchObject({ accounts: 4, requests: 3, payments: usd(payments), refunds: usd(refunds), revenue: usd(revenue) });
    expect(metrics.payments).toBe("27021597764.222974");

    for (const granularity of ["hour", "day"]) {
      const d = await get(`/analytics/dashboard?granularity=${granularity}`);
      expect(d.totals).toMatchObject({ requests: 3, cost: usd(revenue), payments: usd(payments), refunds: usd(refunds), activeUsers: 2 });
      expect(d.buckets.reduce((sum: bigint, b: { payments: string }) => sum + micro(b.payments), 0n)).toBe(payments);
      expect(d.topModels).toEqual([{ model: "gpt-4o", requests: 3, tokens: 6, cost: usd(revenue) }]);
    }

    const report = await get("/billing/report/big-a");
    expect(report.totals).toMatchObject({ requests: 2, cost: usd(2n * MAX) });
    expect(report.byModel).toEqual([expect.objectContaining({ model: "gpt-4o", cost: usd(2n * MAX) })]);
  });

  it("keeps answering as the totals grow", async () => {
    for (let i = 0; i < 3; i++) await post("/billing/payment/process", { userId: `more-${i}`, amount: usd(MAX) });
    const metrics = await get("/analytics/metrics");
    expect(metrics.payments).toBe(usd(6n * MAX + 1n));
    expect((await get("/analytics/dashboard")).totals.payments).toBe(usd(6n * MAX + 1n));
  });
});
