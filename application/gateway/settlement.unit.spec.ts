import { describe, expect, it } from "vitest";
import { accountDecider, RECENT_IDS } from "../../domain/account.ts";
import type { EventStore } from "../../domain/event-store.ts";
import { accountStream, type RecordedEvent } from "../../domain/events.ts";
import { createMemoryEventStore } from "../../infra/memory/event-store.ts";
import { createCommandHandler } from "../commands/command-handler.ts";
import { chargeFor, release, reserve, settle, type Hold, type SettledUsage } from "./settlement.ts";

// The money side of one gateway request on an in-memory store: hold → settle (capped at the hold,
// one append) or release; late settlement after the hold was released; retries. Expected costs are
// worked out by hand: prices in micro-USD per million tokens.

const NOW = "2026-01-01T00:00:00.000Z";
const ctx = { actor: { type: "system" as const, id: "test" }, correlationId: "c1", now: NOW };
const hold = (amount: number, id = "1"): Hold => ({
  userId: "u1",
  apiKeyId: "k1",
  requestId: `req_${id}`,
  reservationId: `rsv_${id}`,
  usageId: `use_${id}`,
  amount,
  expiresAt: "2026-01-01T00:10:00.000Z",
  startedAt: "2025-12-31T23:59:59.000Z",
});
// 2.5 and 10 micro-USD per token (gpt-4o)
const PRICES = { promptPerMillion: 2_500_000, completionPerMillion: 10_000_000, catalogVersion: "test" };
const usage = (promptTokens: number, completionTokens: number, source: SettledUsage["source"] = "provider"): SettledUsage => ({
  provider: "openai",
  model: "gpt-4o",
  promptTokens,
  completionTokens,
  prices: PRICES,
  source,
});

async function platform(balance = 1_000_000) {
  const events = createMemoryEventStore();
  const p = { events, accounts: createCommandHandler(events).for(accountDecider, accountStream) };
  await p.accounts.handle(
    "u1",
    {
      type: "processPayment",
      now: NOW,
      data: { userId: "u1", paymentId: "p1", transactionId: "txn_p1", amount: balance, currency: "USD", method: "card" },
    },
    ctx,
  );
  const stream = () => events.readStream(accountStream("u1"));
  return { p, events, stream };
}
const kinds = (events: RecordedEvent[]) => events.map((e) => e.type).slice(2); // after the payment
const balanceOf = (events: RecordedEvent[]) => events.findLast((e) => e.type === "transaction_created")!.data as { balanceAfter: number };

describe("chargeFor", () => {
  it("is the rounded-up cost below the hold, the hold above it", () => {
    // 10 × 2.5 + 3 × 10 = 25 + 30 = 55
    expect(chargeFor(usage(10, 3), { amount: 100 })).toBe(55);
    expect(chargeFor(usage(10, 3), { amount: 55 })).toBe(55);
    expect(chargeFor(usage(10, 3), { amount: 54 })).toBe(54);
    // 1 × 2.5 = 2.5 → 3
    expect(chargeFor(usage(1, 0), { amount: 100 })).toBe(3);
  });
});

describe("reserve → settle | release", () => {
  it("settles in ONE append: ai_usage + transaction_created + usage_released, at the request's start time", async () => {
    const { p, events, stream } = await platform();
    await reserve(p, ctx, hold(1000));
    const head = await events.headPosition();
    const result = await settle(p, { ...ctx, now: "2026-01-01T00:00:05.000Z" }, hold(1000), usage(100, 20));
    // 100 × 2.5 + 20 × 10 = 250 + 200 = 450
    expect(result).toEqual({ cost: 450, position: head + 3 });
    const all = await stream();
    expect(kinds(all)).toEqual(["usage_reserved", "ai_usage", "transaction_created", "usage_released"]);
    expect(all.slice(-3).map((e) => e.position)).toEqual([head + 1, head + 2, head + 3]);
    expect(all.at(-3)!.data).toMatchObject({
      userId: "u1",
      usageId: "use_1",
      requestId: "req_1",
      reservationId: "rsv_1",
      service: "chat",
      resource: "chat.completions",
      provider: "openai",
      model: "gpt-4o",
      promptTokens: 100,
      completionTokens: 20,
      cost: 450,
      prices: PRICES,
      apiKeyId: "k1",
      timestamp: "2025-12-31T23:59:59.000Z",
      usageSource: "provider",
    });
    expect(all.at(-2)!.data).toMatchObject({ transactionId: "txn_use_1", amount: -450, balanceAfter: 1_000_000 - 450 });
    expect(all.at(-1)!.data).toMatchObject({ reservationId: "rsv_1", amount: 1000, reason: "settled" });
  });

  it("a lingering hold (plain request) and its settlement or release go in ONE append, neither waiting for the linger", async () => {
    const { events, stream } = await platform();
    const appends: string[][] = [];
    const counting = {
      ...events,
      append: (...args: Parameters<typeof events.append>) => (appends.push(args[1].map((e) => e.type)), events.append(...args)),
    };
    const q = { events: counting, accounts: createCommandHandler(counting).for(accountDecider, accountStream) };
    const lingering = { ...ctx, lingerMs: 60_000 }; // far beyond the test's timeout: nothing may wait for it
    const held = reserve(q, lingering, hold(1000, "a"));
    await settle(q, ctx, hold(1000, "a"), usage(10, 3));
    await held;
    const releasing = reserve(q, lingering, hold(1000, "b"));
    await release(q, ctx, hold(1000, "b"), "failed");
    await releasing;
    expect(appends).toEqual([
      ["usage_reserved", "ai_usage", "transaction_created", "usage_released"],
      ["usage_reserved", "usage_released"],
    ]);
    expect(kinds(await stream())).toEqual([
      "usage_reserved",
      "ai_usage",
      "transaction_created",
      "usage_released",
      "usage_reserved",
      "usage_released",
    ]);
  });

  it("caps the charge at the hold", async () => {
    const { p, stream } = await platform();
    await reserve(p, ctx, hold(133));
    // 1000 × 2.5 + 5000 × 10 = 52 500, capped at 133
    expect((await settle(p, ctx, hold(133), usage(1000, 5000, "counted"))).cost).toBe(133);
    const all = await stream();
    expect(all.at(-3)!.data).toMatchObject({ cost: 133, promptTokens: 1000, completionTokens: 5000, usageSource: "counted" });
    expect(balanceOf(all).balanceAfter).toBe(1_000_000 - 133);
  });

  it("a hold released before the settlement (expired) still gets its charge once, as plain usage", async () => {
    const { p, events, stream } = await platform();
    await reserve(p, ctx, hold(1000));
    await release(p, ctx, hold(1000), "expired");
    const first = await settle(p, ctx, hold(1000), usage(100, 20));
    expect(first).toEqual({ cost: 450, position: await events.headPosition() });
    expect(kinds(await stream())).toEqual(["usage_reserved", "usage_released", "ai_usage", "transaction_created"]);
    // a retry of the same settlement: charged already, nothing appended, the head as position
    const retry = await settle(p, ctx, hold(1000), usage(100, 20));
    expect(retry).toEqual({ cost: 450, position: await events.headPosition() });
    const all = await stream();
    expect(all.filter((e) => e.type === "ai_usage")).toHaveLength(1);
    expect(balanceOf(all).balanceAfter).toBe(1_000_000 - 450);
  });

  it("on an account that forgot old ids, hold and settlement ask the store nothing; settling the same hold again still charges once", async () => {
    const { events, stream } = await platform();
    const asked: string[][] = [];
    const watched: EventStore = {
      ...events,
      usedIds: async (s, keys) => (asked.push(keys), events.usedIds!(s, keys)),
    };
    const q = { events: watched, accounts: createCommandHandler(watched).for(accountDecider, accountStream) };
    for (let i = 0; i < RECENT_IDS + 2; i++) {
      await reserve(q, ctx, hold(1000, `old${i}`));
      await settle(q, ctx, hold(1000, `old${i}`), usage(1, 0));
    }
    asked.length = 0;
    await reserve(q, ctx, hold(1000, "new"));
    const first = await settle(q, ctx, hold(1000, "new"), usage(100, 20));
    expect(asked).toEqual([]); // the gateway drew these ids for this request: no earlier event holds them
    // the same settlement again (say, a retry whose charge did commit): the hold is released, so it goes the
    // late-charge way, which is not fresh and is refused as charged already
    expect(await settle(q, ctx, hold(1000, "new"), usage(100, 20))).toEqual({ cost: 450, position: first.position });
    const charges = (await stream()).filter((e) => e.type === "ai_usage" && (e.data as { usageId: string }).usageId === "use_new");
    expect(charges).toHaveLength(1);
  });

  it("release appends usage_released with its reason; releasing again is a no-op", async () => {
    const { p, stream } = await platform();
    await reserve(p, ctx, hold(1000));
    await release(p, ctx, hold(1000), "cancelled");
    await release(p, ctx, hold(1000), "failed");
    const all = await stream();
    expect(kinds(all)).toEqual(["usage_reserved", "usage_released"]);
    expect(all.at(-1)!.data).toMatchObject({ reservationId: "rsv_1", amount: 1000, reason: "cancelled" });
    expect(balanceOf(all).balanceAfter).toBe(1_000_000);
  });

  it("refusals pass through: insufficient funds, a key budget, a settlement of another request", async () => {
    const { p, stream } = await platform(500);
    await expect(reserve(p, ctx, hold(501))).rejects.toMatchObject({ code: "ACCOUNT.INSUFFICIENT_FUNDS" });
    await expect(reserve(p, ctx, hold(300), 299)).rejects.toMatchObject({ code: "API_KEY.BUDGET_EXCEEDED" });
    await reserve(p, ctx, hold(300), 300);
    expect((await stream()).at(-1)!.data).toMatchObject({ reservationId: "rsv_1", amount: 300, apiKeyId: "k1", requestId: "req_1" });
    await expect(settle(p, ctx, { ...hold(300), requestId: "req_other" }, usage(1, 1))).rejects.toMatchObject({
      code: "RESERVATION.REQUEST_MISMATCH",
    });
  });

  it("a store failure is not mistaken for a released hold or a duplicate", async () => {
    const { p, events } = await platform();
    await reserve(p, ctx, hold(1000));
    const failing: EventStore = { ...events, append: async () => Promise.reject(new Error("disk full")) };
    const broken = { events: failing, accounts: createCommandHandler(failing).for(accountDecider, accountStream) };
    await expect(settle(broken, ctx, hold(1000), usage(1, 1))).rejects.toThrow("disk full");
    await expect(release(broken, ctx, hold(1000), "failed")).rejects.toThrow("disk full");
    await release(p, ctx, hold(1000), "expired"); // now the late charge goes through trackUsage, which fails too
    await expect(settle(broken, ctx, hold(1000), usage(1, 1))).rejects.toThrow("disk full");
  });
});
