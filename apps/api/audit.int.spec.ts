import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../domain/events.ts";
import { verifyChain } from "../../domain/hash-chain.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { seedHistory } from "../../test/fixtures/seed.ts";
import { balances } from "../../projections/balances.ts";

let t: TestApp;
let ownKey: string;
beforeAll(async () => {
  t = await testApp();
  await seedHistory(t, { accounts: 2, usage: 3, prefix: "au" });
  ownKey = (
    await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "au-0", name: "auditor" } })
  ).json().key;
  expect(await t.platform.projector.catchUp(5000)).toBe(true);
});
afterAll(() => t.close());

const get = (url: string, headers = t.admin) => t.app.inject({ url, headers });

describe("GET /audit/transactions/:userId", () => {
  it("lists the account stream in order with ids, positions, actors, correlation and hashes that verify", async () => {
    const res = await get("/audit/transactions/au-0");
    expect(res.statusCode, res.body).toBe(200);
    const { items, nextRevision } = res.json();
    expect(nextRevision).toBeNull();
    expect(items.map((i: { revision: number }) => i.revision)).toEqual(items.map((_: unknown, n: number) => n));
    const tx = items.find((i: { type: string }) => i.type === "transaction_created");
    expect(tx).toMatchObject({
      eventId: expect.any(String),
      position: expect.any(Number),
      actor: { type: "admin", id: "admin" },
      correlationId: expect.any(String),
      causationId: expect.any(String),
      prevHash: expect.any(String),
      hash: expect.any(String),
      amount: "10.25",
      balanceAfter: "10.25",
    });
    // an auditor re-verifies the chain from the response alone
    const events = items.map(
      (i: { type: string; data: unknown; metadata: RecordedEvent["metadata"]; revision: number; position: number }) =>
        ({
          type: i.type,
          data: i.data,
          metadata: i.metadata,
          revision: i.revision,
          position: i.position,
          streamName: "account-au-0",
        }) as RecordedEvent,
    );
    expect(verifyChain(events)).toMatchObject({ ok: true, verified: items.length });
  });

  it("pages by revision and filters by type", async () => {
    const first = (await get("/audit/transactions/au-0?limit=4")).json();
    expect(first.items).toHaveLength(4);
    expect(first.nextRevision).toBe(4);
    const rest = (await get(`/audit/transactions/au-0?fromRevision=${first.nextRevision}&limit=1000`)).json();
    expect(rest.items[0].revision).toBe(4);
    const only = (await get("/audit/transactions/au-0?types=transaction_created")).json();
    expect(new Set(only.items.map((i: { type: string }) => i.type))).toEqual(new Set(["transaction_created"]));
  });

  it("answers the owner's key, hides other accounts (404) and unknown accounts", async () => {
    expect((await get("/audit/transactions/au-0", t.bearer(ownKey))).statusCode).toBe(200);
    expect((await get("/audit/transactions/au-1", t.bearer(ownKey))).statusCode).toBe(404);
    expect((await get("/audit/verify/au-1", t.bearer(ownKey))).statusCode).toBe(404);
    expect((await get("/audit/transactions/nobody")).statusCode).toBe(404);
    expect((await get("/audit/verify/nobody")).statusCode).toBe(404);
  });
});

describe("GET /audit/verify/:userId and /audit/reconcile", () => {
  it("recomputes chain, ledger and balance; the read model agrees", async () => {
    const res = await get("/audit/verify/au-1");
    expect(res.statusCode, res.body).toBe(200);
    const balance = (await get("/billing/balance/au-1")).json();
    expect(res.json()).toMatchObject({
      userId: "au-1",
      ok: true,
      problems: [],
      lagging: false,
      fromEvents: { balance: balance.balance },
      readModel: { balance: balance.balance },
    });
  });

  it("reconciles every account for operators (admin only)", async () => {
    const res = await get("/audit/reconcile");
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, accounts: 2, mismatches: [] });
    expect((await get("/audit/reconcile", t.bearer(ownKey))).statusCode).toBe(403);
  });

  it("reports a read model that disagrees with the events", async () => {
    const balanceDocs = balances(t.platform.reads);
    const doc = (await balanceDocs.get("au-1"))!;
    await balanceDocs.put({ ...doc, balance: doc.balance + 1 });
    try {
      const res = (await get("/audit/verify/au-1")).json();
      expect(res.ok).toBe(false);
      expect(res.problems.map((p: { code: string }) => p.code)).toEqual(["READ_MODEL.BALANCE_MISMATCH"]);
      expect((await get("/audit/reconcile")).json()).toMatchObject({ ok: false, mismatches: [{ userId: "au-1" }] });
    } finally {
      await balanceDocs.put(doc);
    }
  });
});
