import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { ExpectedRevision } from "../../domain/event-store.ts";
import { accountStream, type NewEvent } from "../../domain/events.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// Idempotency-Key retries against failures of the event store (README "Guarantees"): a 5xx releases
// the key and the retry decides the same ids; a commit whose answer was lost makes the retry a
// domain-level duplicate, never a second charge; keys are scoped per caller. The store's append is
// wrapped to fail or wait on the test's command, so every case is a fact, not a timing bet.

type Append = (stream: string, events: NewEvent[], expected: ExpectedRevision) => Promise<unknown>;

describe("Idempotency-Key under store failures", () => {
  let t: TestApp;
  /** every append's events, in call order */
  let appended: NewEvent[][];
  /** replaces the store's append; `real` is the original */
  const wrapAppend = (wrapper: (real: Append, stream: string, events: NewEvent[], expected: ExpectedRevision) => Promise<unknown>) => {
    const store = t.platform.events;
    const real: Append = store.append.bind(store);
    appended = [];
    return vi.spyOn(store, "append").mockImplementation(((stream: string, events: NewEvent[], expected: ExpectedRevision) => {
      appended.push(events);
      return wrapper(real, stream, events, expected);
    }) as typeof store.append);
  };
  beforeAll(async () => {
    t = await testApp();
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => t.close());

  const post = (url: string, payload: object, key: string, headers = t.admin) =>
    t.app.inject({ method: "POST", url, headers: { ...headers, "idempotency-key": key }, payload });
  const accountEvents = (userId: string) => t.platform.events.readStream(accountStream(userId));

  it("a 5xx releases the key; the retry runs again and decides the same ids", async () => {
    let failures = 1;
    wrapAppend(async (real, ...args) => {
      if (failures-- > 0) throw new Error("the disk went away");
      return real(...args);
    });
    const body = { userId: "i5xx", amount: "3" };
    const first = await post("/billing/payment/process", body, "pay-5xx-0001");
    expect(first.statusCode).toBe(500);
    expect(await accountEvents("i5xx")).toEqual([]);
    const retry = await post("/billing/payment/process", body, "pay-5xx-0001");
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBeUndefined(); // it ran again
    const [failed, succeeded] = appended;
    expect(succeeded!.map((e) => e.metadata.eventId)).toEqual(failed!.map((e) => e.metadata.eventId));
    const decided = failed!.find((e) => e.type === "payment_processed")!.data as { paymentId: string };
    expect(retry.json()).toMatchObject({ paymentId: decided.paymentId, balance: "3" });
    // now done: a third attempt replays the stored answer
    const third = await post("/billing/payment/process", body, "pay-5xx-0001");
    expect(third.headers["idempotent-replayed"]).toBe("true");
    expect(third.body).toBe(retry.body);
  });

  const committed: [string, string, object, string, string][] = [
    // funded with 3, then a payment of 3 once: 6
    ["payment", "/billing/payment/process", { userId: "ilost1", amount: "3" }, "PAYMENT.DUPLICATE", "6"],
    // funded with 3; 1000 × 2.5 + 1000 × 10 micro-USD (gpt-4o per token) = 12 500 micro-USD once: 2.9875
    [
      "usage",
      "/billing/usage/track",
      { userId: "ilost2", provider: "openai", model: "gpt-4o", promptTokens: 1000, completionTokens: 1000 },
      "USAGE.DUPLICATE",
      "2.9875",
    ],
  ];

  it.each(committed)(
    "%s committed but its answer lost (5xx): the retry is a domain duplicate, charged once",
    async (_, url, body, code, balance) => {
      const userId = (body as { userId: string }).userId;
      await t.app.inject({ method: "POST", url: "/billing/payment/process", headers: t.admin, payload: { userId, amount: "3" } });
      const key = `lost-answer-${userId}`;
      let losses = 1;
      wrapAppend(async (real, ...args) => {
        const result = await real(...args);
        if (losses-- > 0) throw new Error("connection reset after the commit");
        return result;
      });
      const first = await post(url, body, key);
      expect(first.statusCode).toBe(500);
      const before = await accountEvents(userId);
      const retry = await post(url, body, key);
      expect(retry.statusCode).toBe(409);
      expect(retry.json().code).toBe(code);
      expect(appended).toHaveLength(1); // the retry appended nothing
      const after = await accountEvents(userId);
      expect(after).toEqual(before);
      expect(after.at(-1)).toMatchObject({ type: "transaction_created", data: { balanceAfter: Number(balance) * 1_000_000 } });
    },
  );

  it("a request still in flight answers 409 to its duplicate, then replays once done", async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    wrapAppend(async (real, ...args) => {
      if (appended.length === 1) await gate; // only the first request waits
      return real(...args);
    });
    const body = { userId: "iflight", amount: "2" };
    const first = post("/billing/payment/process", body, "pay-in-flight-01");
    await vi.waitFor(() => expect(appended).toHaveLength(1)); // decided; its append waits on the gate
    const duplicate = await post("/billing/payment/process", body, "pay-in-flight-01");
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().code).toBe("IDEMPOTENCY.IN_FLIGHT");
    open();
    const done = await first;
    expect(done.statusCode).toBe(201);
    const replay = await post("/billing/payment/process", body, "pay-in-flight-01");
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toBe(done.body);
    expect(appended).toHaveLength(1);
  });

  it("keys are scoped per caller: two callers using one key get independent results", async () => {
    const callers = [];
    for (const userId of ["iscope-a", "iscope-b"]) {
      const created = await t.app.inject({
        method: "POST",
        url: "/auth/api-keys",
        headers: t.admin,
        payload: { userId, name: "keys", scopes: ["keys"] },
      });
      expect(created.statusCode, created.body).toBe(201);
      callers.push({ userId, headers: t.bearer(created.json().key as string) });
    }
    // the same key and the same body: were keys global, the second caller would get the first's answer
    const answers = [];
    for (const caller of callers)
      answers.push(await post("/auth/api-keys", { name: "laptop", scopes: ["keys"] }, "shared-key-0001", caller.headers));
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201]);
    expect(answers.map((a) => a.headers["idempotent-replayed"])).toEqual([undefined, undefined]);
    expect(answers.map((a) => a.json().userId)).toEqual(["iscope-a", "iscope-b"]);
    expect(answers[0]!.json().id).not.toBe(answers[1]!.json().id);
    // and the admin, a third caller, with the same key on another route runs too
    const admin = await post("/billing/payment/process", { userId: "iscope-a", amount: "1" }, "shared-key-0001");
    expect(admin.statusCode).toBe(201);
  });
});
