import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../domain/events.ts";
import { verifyChain } from "../../domain/hash-chain.ts";
import { fromEventLine, ndjsonLine, type EventLine } from "../../application/replay/event-format.ts";
import { testApp, type TestApp } from "../../test/harness/platform.ts";
import { seedHistory } from "../../test/fixtures/seed.ts";

let t: TestApp;
let all: RecordedEvent[];
let userKey: string;
beforeAll(async () => {
  t = await testApp();
  await seedHistory(t, { accounts: 3, usage: 3, prefix: "ev" });
  const key = await t.app.inject({ method: "POST", url: "/auth/api-keys", headers: t.admin, payload: { userId: "ev-0", name: "reader" } });
  userKey = key.json().key;
  all = await t.platform.events.readAll({ after: 0, maxCount: 10_000 });
});
afterAll(() => t.close());

async function replay(query: string) {
  const res = await t.app.inject({ url: `/events${query}`, headers: t.admin });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers["content-type"]).toBe("application/x-ndjson");
  const lines = res.body.split("\n");
  expect(lines.pop()).toBe(""); // every line ends with \n
  return { events: lines.map((l) => fromEventLine(JSON.parse(l) as EventLine)), head: Number(res.headers["x-head-position"]) };
}

describe("GET /events (NDJSON replay)", () => {
  it("streams every event in global position order with type, data, metadata, streamName, revision and position", async () => {
    const { events, head } = await replay("");
    expect(events).toEqual(all);
    // the SQLite fast path (stored JSON text, no re-serialisation) writes exactly the canonical line
    expect((await t.app.inject({ url: "/events", headers: t.admin })).body).toBe(all.map(ndjsonLine).join(""));
    expect(head).toBe(all.at(-1)!.position);
    const line = JSON.parse((await t.app.inject({ url: "/events?limit=1", headers: t.admin })).body.trim());
    expect(Object.keys(line)).toEqual(["type", "data", "metadata", "streamName", "revision", "position"]);
  });

  it("gives the same events whatever the page size", async () => {
    expect((await replay("?pageSize=3")).events).toEqual(all);
  });

  it("filters by types and userId; an account's lines verify as a hash chain", async () => {
    const { events } = await replay("?types=transaction_created,ai_usage&userId=ev-1");
    expect(events).toEqual(
      all.filter((e) => ["transaction_created", "ai_usage"].includes(e.type) && (e.data as { userId?: string }).userId === "ev-1"),
    );
    const account = (await replay("?userId=ev-1")).events.filter((e) => e.streamName === "account-ev-1");
    expect(account.length).toBeGreaterThan(5);
    expect(verifyChain(account).ok).toBe(true);
  });

  it("resumes after a position, and stops after limit", async () => {
    const middle = all[Math.floor(all.length / 2)]!.position;
    expect((await replay(`?after=${middle}`)).events).toEqual(all.filter((e) => e.position > middle));
    const firstFive = (await replay("?limit=5")).events;
    expect(firstFive).toEqual(all.slice(0, 5));
    expect((await replay(`?after=${firstFive.at(-1)!.position}&limit=5`)).events).toEqual(all.slice(5, 10));
  });

  it("filters by time: from inclusive, to exclusive", async () => {
    const times = [...new Set(all.map((e) => e.metadata.occurredAt))].sort();
    const from = times[1]!;
    const to = times[times.length - 2]!;
    const { events } = await replay(`?from=${from}&to=${to}`);
    expect(events).toEqual(all.filter((e) => e.metadata.occurredAt >= from && e.metadata.occurredAt < to));
    expect(events.length).toBeGreaterThan(0);
  });

  it("is admin only, rejects unknown types (400) and an inverted window (422)", async () => {
    expect((await t.app.inject({ url: "/events" })).statusCode).toBe(401);
    expect((await t.app.inject({ url: "/events", headers: t.bearer(userKey) })).statusCode).toBe(403);
    const bad = await t.app.inject({ url: "/events?types=payment_processed,nope", headers: t.admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers["content-type"]).toContain("application/problem+json");
    const window = await t.app.inject({ url: "/events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", headers: t.admin });
    expect(window.statusCode).toBe(422);
    expect(window.json().code).toBe("REQUEST.RANGE_INVALID");
  });

  it("stays in the OpenAPI document", async () => {
    const doc = (await t.app.inject({ url: "/openapi.json" })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/events", "/audit/transactions/{userId}", "/audit/verify/{userId}", "/audit/reconcile"]),
    );
  });
});
