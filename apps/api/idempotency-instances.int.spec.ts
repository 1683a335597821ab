import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountStream } from "../../domain/events.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// README "Idempotency-Key" across instances: two API instances on one event store and one read store
// (one DATA_DIR). A retry that lands on the other instance replays the answer or gets 409 while the
// first is in flight, never a second effect; the cluster test does the same across processes on
// PostgreSQL + FerretDB.
describe("Idempotency-Key across two instances", () => {
  let a: TestApp, b: TestApp;
  beforeAll(async () => {
    a = await testApp();
    b = await testApp({ DATA_DIR: a.dataDir, RUN_PROJECTOR: "false" });
  });
  afterAll(async () => {
    await b.close(false);
    await a.close();
  });

  const pay = (on: TestApp, key: string, amount = "5") =>
    on.app.inject({
      method: "POST",
      url: "/billing/payment/process",
      headers: { ...on.admin, "idempotency-key": key },
      payload: { userId: "idem", amount },
    });

  it("20 concurrent sends of one payment over both instances: one payment; the others replay it or get 409", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => pay(i % 2 ? b : a, "pay-across-0001")));
    const ran = answers.filter((r) => r.statusCode === 201 && r.headers["idempotent-replayed"] === undefined);
    const replayed = answers.filter((r) => r.headers["idempotent-replayed"] === "true");
    const inFlight = answers.filter((r) => r.statusCode === 409);
    expect(ran).toHaveLength(1);
    expect(replayed.length + inFlight.length).toBe(19);
    expect(replayed.every((r) => r.statusCode === 201 && r.body === ran[0]!.body)).toBe(true);
    expect(inFlight.every((r) => r.json().code === "IDEMPOTENCY.IN_FLIGHT")).toBe(true);
    const payments = (await a.platform.events.readStream(accountStream("idem"))).filter((e) => e.type === "payment_processed");
    expect(payments).toHaveLength(1);

    // once done, a retry on either instance replays byte for byte; another body is 422
    for (const on of [a, b]) {
      const retry = await pay(on, "pay-across-0001");
      expect(retry.headers["idempotent-replayed"]).toBe("true");
      expect(retry.body).toBe(ran[0]!.body);
    }
    expect((await pay(b, "pay-across-0001", "6")).statusCode).toBe(422);
    expect((await a.platform.events.readStream(accountStream("idem"))).filter((e) => e.type === "payment_processed")).toHaveLength(1);
  });
});
