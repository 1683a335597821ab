import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteEventStore } from "../../infra/sqlite/event-store.ts";
import { startServer } from "../../test/harness/server.ts";

// README "Durable before 2xx": `npm start` on SQLite files takes a burst of payments and is killed with
// SIGKILL as soon as the 20th 201 arrives, while others are still being written. Every payment that
// was answered 201 — before or after that moment — must be in the event store when it is reopened.
const ADMIN = "durability-admin-token-0123456789";

describe("durable before 2xx", () => {
  const dir = mkdtempSync(join(tmpdir(), "durable-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("every acknowledged payment survives a SIGKILL right after the acknowledgement", async () => {
    const server = await startServer({ DATA_DIR: dir, ADMIN_TOKEN: ADMIN, LOG_LEVEL: "warn" });
    const acknowledged: string[] = [];
    let killed: Promise<unknown> | undefined;
    const pay = async (i: number) => {
      const paymentId = `pay-${i}`;
      const res = await fetch(`${server.url}/billing/payment/process`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ userId: `u${i % 50}`, amount: "1", paymentId }),
      });
      if (res.status !== 201) return;
      acknowledged.push(paymentId);
      if (acknowledged.length === 20) killed = server.kill();
    };
    await Promise.allSettled(Array.from({ length: 300 }, (_, i) => pay(i))); // those after the kill fail to connect
    await killed;
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);

    const store = openSqliteEventStore(join(dir, "events.db"));
    try {
      const stored = new Set(
        (await store.readAll({ maxCount: 10_000 })).flatMap((e) => (e.type === "payment_processed" ? [e.data.paymentId] : [])),
      );
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
