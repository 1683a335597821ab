import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountStream } from "../../domain/events.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { startHoldSweeper } from "./hold-sweeper.ts";
import { reserve, settle, type Hold } from "./settlement.ts";
import { holds } from "../../projections/holds.ts";

describe("expired holds", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it("a hold nobody settles is released as expired by the sweeper; a late settle still charges once", async () => {
    const pay = await t.app.inject({
      method: "POST",
      url: "/billing/payment/process",
      headers: t.admin,
      payload: { userId: "s1", amount: "1" },
    });
    expect(pay.statusCode).toBe(201);
    const now = t.platform.now();
    const ctx = { actor: { type: "system" as const, id: "test" }, correlationId: "c1", now };
    const hold: Hold = {
      userId: "s1",
      apiKeyId: "k1",
      requestId: "req_1",
      reservationId: "rsv_1",
      usageId: "use_1",
      amount: 5000,
      expiresAt: new Date(Date.parse(now) + 1000).toISOString(),
      startedAt: now,
    };
    await reserve(t.platform, ctx, hold);
    await t.platform.projector.catchUp(5000);
    const later = new Date(Date.parse(now) + 2000).toISOString();
    const sweeper = startHoldSweeper({ ...t.platform, now: () => later }, { intervalMs: 3_600_000 });
    try {
      expect(await sweeper.sweepOnce()).toBe(1);
      const events = await t.platform.events.readStream(accountStream("s1"));
      expect(events.at(-1)).toMatchObject({ type: "usage_released", data: { reservationId: "rsv_1", amount: 5000, reason: "expired" } });
      await t.platform.projector.catchUp(5000);
      expect(await holds(t.platform.reads).get("s1|rsv_1")).toMatchObject({ status: "expired" });
      expect(await sweeper.sweepOnce()).toBe(0);
      const balance = await t.app.inject({ url: "/billing/balance/s1", headers: t.admin });
      expect(balance.json()).toMatchObject({ balance: "1", held: "0" });

      const usage = {
        provider: "openai",
        model: "gpt-4o-mini",
        promptTokens: 100,
        completionTokens: 100,
        prices: { promptPerMillion: 150_000, completionPerMillion: 600_000 },
        source: "provider" as const,
      };
      expect((await settle(t.platform, { ...ctx, now: later }, hold, usage)).cost).toBe(75);
      expect((await settle(t.platform, { ...ctx, now: later }, hold, usage)).cost).toBe(75); // a retry charges nothing twice
      const charges = (await t.platform.events.readStream(accountStream("s1"))).filter((e) => e.type === "ai_usage");
      expect(charges).toHaveLength(1);
      expect(charges[0]!.data).toMatchObject({ usageId: "use_1", cost: 75 });
    } finally {
      await sweeper.stop();
    }
  });
});
