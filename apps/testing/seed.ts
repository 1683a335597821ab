import type { TestApp } from "./platform.ts";

// Realistic history through the real command path (HTTP → decider → append): payments, usage,
// credits/debits/adjustments, a refund, API keys and analytics, for several accounts.

async function ok(t: TestApp, method: "POST", url: string, payload: object) {
  const res = await t.app.inject({ method, url, headers: t.admin, payload });
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode}: ${res.body}`);
  return res.json() as { position: number };
}

export interface SeedOptions {
  accounts?: number;
  /** usage records per account */
  usage?: number;
  prefix?: string;
}

/** Returns the user ids; waits until the projector has applied everything. */
export async function seedHistory(t: TestApp, options: SeedOptions = {}): Promise<string[]> {
  const { accounts = 4, usage = 5, prefix = "acct" } = options;
  const users = Array.from({ length: accounts }, (_, i) => `${prefix}-${i}`);
  await Promise.all(users.map(async (userId, i) => {
    await ok(t, "POST", "/billing/payment/process", { userId, amount: `${10 + i}.25`, paymentId: `${userId}-pay-1` });
    await ok(t, "POST", "/auth/api-keys", { userId, name: "default" });
    for (let n = 0; n < usage; n++) {
      await ok(t, "POST", "/billing/usage/track", {
        userId, provider: n % 2 ? "openai" : "openrouter", model: n % 3 ? "gpt-4o-mini" : "gpt-4o", promptTokens: 100 * (n + 1), completionTokens: 50 * (n + i + 1),
      });
    }
    await ok(t, "POST", "/billing/transaction", { userId, type: "credit", amount: "1.5" });
    await ok(t, "POST", "/billing/transaction", { userId, type: "debit", amount: "0.75" });
    await ok(t, "POST", "/billing/transaction", { userId, type: "adjustment", amount: "-0.000123" });
    await ok(t, "POST", "/billing/payment/process", { userId, amount: "5", paymentId: `${userId}-pay-2` });
    await ok(t, "POST", "/billing/payment/refund", { userId, paymentId: `${userId}-pay-2`, amount: "2" });
    await ok(t, "POST", "/analytics/track-event", { userId, name: "dashboard_opened", properties: { n: i } });
  }));
  if (!(await t.platform.projector.catchUp(10_000))) throw new Error("projector did not catch up");
  return users;
}
