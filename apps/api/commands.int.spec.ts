import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountStream } from "../../domain/events.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { IDEMPOTENCY_RETENTION_MS, idempotencyRecords } from "./idempotency.ts";

describe("commands over HTTP", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: "POST", url, headers: { ...t.admin, ...headers }, payload });

  it("50 concurrent trackUsage on one account: charges sum exactly to the balance drop, one event set each", async () => {
    await post("/billing/payment/process", { userId: "hot", amount: "1" });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post("/billing/usage/track", {
          userId: "hot",
          provider: "openai",
          model: "gpt-4o-mini",
          promptTokens: 100 + i,
          completionTokens: 7 * i,
        }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(50).fill(201));
    const events = await t.platform.events.readStream(accountStream("hot"));
    const usages = events.filter((e) => e.type === "ai_usage");
    const charges = events.filter((e) => e.type === "transaction_created" && e.data.type === "usage");
    expect(usages).toHaveLength(50);
    expect(charges).toHaveLength(50);
    const charged = charges.reduce((sum, e) => sum + (e.data as { amount: number }).amount, 0);
    const balance = await t.app.inject({
      url: `/billing/balance/hot?minPosition=${Math.max(...results.map((r) => r.json().position))}`,
      headers: t.admin,
    });
    expect(balance.json().balance).toBe(((1_000_000 + charged) / 1_000_000).toString());
    // revisions are gap-free and every balanceAfter follows from the one before
    let running = 0;
    for (const [i, e] of events.entries()) {
      expect(e.revision).toBe(i);
      if (e.type === "transaction_created") {
        running += e.data.amount;
        expect(e.data.balanceAfter).toBe(running);
      }
    }
  });

  it("Idempotency-Key: same key and body replays the response with no new events; another body is 422", async () => {
    const key = { "idempotency-key": "pay-0001-retry-safe" };
    const first = await post("/billing/payment/process", { userId: "idem", amount: "3" }, key);
    const head = await t.platform.events.headPosition();
    const second = await post("/billing/payment/process", { userId: "idem", amount: "3" }, key);
    expect(second.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(await t.platform.events.headPosition()).toBe(head);
    const other = await post("/billing/payment/process", { userId: "idem", amount: "4" }, key);
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe("IDEMPOTENCY.KEY_REUSED");
    expect(await t.platform.events.headPosition()).toBe(head);
  });

  // "409 while in flight" is proven deterministically in idempotency-retries.int.spec.ts
  it("Idempotency-Key: concurrent duplicates execute once; each answer is the one 201 or a 409", async () => {
    const key = { "idempotency-key": "usage-concurrent-0001" };
    const body = { userId: "idem2", provider: "openai", model: "gpt-4o", promptTokens: 10, completionTokens: 10 };
    const results = await Promise.all(Array.from({ length: 5 }, () => post("/billing/usage/track", body, key)));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201).length).toBeGreaterThanOrEqual(1);
    expect(codes.every((c) => c === 201 || c === 409)).toBe(true);
    const bodies = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.body));
    expect(bodies.size).toBe(1);
    const events = await t.platform.events.readStream(accountStream("idem2"));
    expect(events.filter((e) => e.type === "ai_usage")).toHaveLength(1);
  });

  it("Idempotency-Key: after the 24 h retention the same key is a new request with new ids", async () => {
    const key = { "idempotency-key": "pay-retention-0001" };
    const first = await post("/billing/payment/process", { userId: "ret", amount: "1" }, key);
    expect(first.statusCode).toBe(201);
    const records = idempotencyRecords(t.platform.reads);
    const [record] = await records.find({ state: "done" }, { sort: { claimedAt: -1 }, limit: 1 });
    await records.put({ ...record!, claimedAt: record!.claimedAt - IDEMPOTENCY_RETENTION_MS - 1 });
    const again = await post("/billing/payment/process", { userId: "ret", amount: "1" }, key);
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBeUndefined();
    expect(again.json().paymentId).not.toBe(first.json().paymentId);
    expect(again.json().balance).toBe("2");
  });

  it("validation failure does not claim the key: the corrected request with the same key runs", async () => {
    const key = { "idempotency-key": "txn-fix-after-400-01" };
    expect((await post("/billing/transaction", { userId: "v", type: "credit", amount: "1.0000001" }, key)).statusCode).toBe(400);
    expect((await post("/billing/transaction", { userId: "v", type: "credit", amount: "1" }, key)).statusCode).toBe(201);
  });

  it("rules: debit beyond balance 422, over-refund 422, unknown payment 404, nothing appended", async () => {
    const pay = await post("/billing/payment/process", { userId: "r", amount: "10", paymentId: "pay-r-1" });
    expect(pay.statusCode).toBe(201);
    const head = await t.platform.events.headPosition();
    const debit = await post("/billing/transaction", { userId: "r", type: "debit", amount: "10.000001" });
    expect(debit.statusCode).toBe(422);
    expect(debit.json().code).toBe("ACCOUNT.INSUFFICIENT_FUNDS");
    expect((await post("/billing/payment/refund", { userId: "r", paymentId: "pay-r-1", amount: "11" })).statusCode).toBe(422);
    expect((await post("/billing/payment/refund", { userId: "r", paymentId: "nope" })).statusCode).toBe(404);
    expect(await t.platform.events.headPosition()).toBe(head);
    const part = await post("/billing/payment/refund", { userId: "r", paymentId: "pay-r-1", amount: "4" });
    expect(part.json()).toMatchObject({ amount: "4", balance: "6", paymentId: "pay-r-1" });
    const rest = await post("/billing/payment/refund", { userId: "r", paymentId: "pay-r-1" });
    expect(rest.json()).toMatchObject({ amount: "6", balance: "0" });
    expect((await post("/billing/payment/refund", { userId: "r", paymentId: "pay-r-1", amount: "0.000001" })).statusCode).toBe(422);
  });

  it("money: decimal strings and numbers in, strings out; too precise or overflowing is 400", async () => {
    expect((await post("/billing/payment/process", { userId: "m", amount: 0.1 })).json().balance).toBe("0.1");
    expect((await post("/billing/payment/process", { userId: "m", amount: "0.000150" })).json().balance).toBe("0.10015");
    for (const amount of ["0.0000001", "1e3", "NaN", "", "99999999999999999999", -1, 1.5e-7]) {
      const res = await post("/billing/payment/process", { userId: "m", amount });
      expect(res.statusCode, String(amount)).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
  });

  it("balance asOf folds the stream up to that instant", async () => {
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await post("/billing/payment/process", { userId: "tt", amount: "2" });
    const then = await t.app.inject({ url: `/billing/balance/tt?asOf=${before}`, headers: t.admin });
    expect(then.json().balance).toBe("0");
    const now = await t.app.inject({ url: `/billing/balance/tt?asOf=${new Date().toISOString()}`, headers: t.admin });
    expect(now.json().balance).toBe("2");
  });

  it("unknown account: 404 problem+json", async () => {
    const res = await t.app.inject({ url: "/billing/balance/nobody", headers: t.admin });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ status: 404, code: "ACCOUNT.NOT_FOUND", title: "Not Found" });
  });
});
