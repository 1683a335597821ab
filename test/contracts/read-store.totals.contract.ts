// Part of the read-store contract (run by readStoreContract on every adapter): money totals over many
// accounts pass 2^53 micro-USD and must stay exact. The real projections write them through the
// adapter one event per batch, so every step reads the previous total back from the engine.
import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../domain/events.ts";
import { formatMoney, MAX_MONEY } from "../../domain/money.ts";
import { dashboardProjection } from "../../projections/dashboard.ts";
import { totalsProjection } from "../../projections/event-stats.ts";
import { modelUsageProjection } from "../../projections/model-usage.ts";
import type { Projection } from "../../projections/projection.ts";
import { applyBatch } from "../../projections/projector.ts";
import { dashboard } from "../../projections/dashboard.ts";
import { metrics } from "../../projections/event-stats.ts";
import { usageReport } from "../../projections/usage-report.ts";
import type { ReadStore } from "../../projections/read-store.ts";
import { usageReportProjection } from "../../projections/usage-report.ts";

type Factory = () => Promise<{ store: ReadStore; cleanup: () => Promise<void> }>;

const AT = "2026-02-03T10:15:00.000Z";
const projections = [totalsProjection, dashboardProjection, usageReportProjection, modelUsageProjection] as Projection[];

function recorded(position: number, event: Pick<RecordedEvent, "type" | "data">): RecordedEvent {
  const metadata = {
    eventId: `e${position}`,
    occurredAt: AT,
    actor: { type: "admin" as const, id: "admin" },
    correlationId: "c",
    causationId: "c",
    schemaVersion: 1 as const,
  };
  return {
    ...event,
    metadata,
    streamName: `account-${String((event.data as { userId: string }).userId)}`,
    revision: 0,
    position,
  } as RecordedEvent;
}
const payment = (userId: string, amount: number) => ({
  type: "payment_processed" as const,
  data: { userId, paymentId: `p-${userId}`, amount, currency: "USD" as const, method: "card" },
});
const refund = (userId: string, amount: number) => ({
  type: "payment_refunded" as const,
  data: { userId, paymentId: `p-${userId}`, refundId: `r-${userId}`, amount },
});
const usage = (userId: string, n: number, cost: number) => ({
  type: "ai_usage" as const,
  data: {
    userId,
    usageId: `u-${userId}-${n}`,
    requestId: `q-${n}`,
    service: "chat",
    resource: "chat.completions",
    provider: "openai",
    model: "gpt-4o",
    promptTokens: 1,
    completionTokens: 1,
    tokens: 2,
    cost,
    prices: { promptPerMillion: 1, completionPerMillion: 1 },
    timestamp: AT,
  },
});

export function exactTotalsContract(name: string, factory: Factory): void {
  describe(`ReadStore contract: ${name}: money totals past 2^53 stay exact`, () => {
    it("revenue, payments, refunds, bucket, model and report totals equal the BigInt sums", async () => {
      const { store, cleanup } = await factory();
      try {
        const MAX = MAX_MONEY;
        const history = [
          payment("a", MAX),
          payment("b", MAX),
          payment("c", MAX),
          usage("a", 1, MAX),
          usage("a", 2, MAX),
          usage("b", 3, MAX),
          refund("c", MAX),
          payment("d", 1),
        ];
        const events = history.map((e, i) => recorded(i + 1, e));
        for (const event of events) await applyBatch({ reads: store, projections, name: `totals-${name}` }, [event]);
        await applyBatch({ reads: store, projections, name: `totals-${name}` }, events); // a replay changes nothing

        const max = BigInt(MAX);
        const [payments, refunds, revenue, userA] = [3n * max + 1n, max, 3n * max, 2n * max];
        expect(payments > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
        const m = await metrics(store);
        expect({ payments: m.payments, refunds: m.refunds, revenue: m.revenue, requests: m.requests, events: m.events }).toEqual({
          payments,
          refunds,
          revenue,
          requests: 3,
          events: 8,
        });
        expect(formatMoney(m.payments)).toBe("27021597764.222974");

        const d = await dashboard(store, "hour", "2026-02-03T00:00:00.000Z", "2026-02-03T23:59:59.999Z");
        expect(d.buckets).toEqual([
          { start: "2026-02-03T10:00:00.000Z", requests: 3, tokens: 6, cost: revenue, payments, refunds, activeUsers: 2 },
        ]);
        expect(d.totals).toMatchObject({ cost: revenue, payments, refunds });
        expect(d.topModels).toEqual([{ model: "gpt-4o", requests: 3, tokens: 6, cost: revenue }]);

        const report = await usageReport(store, "a", "2026-02-03", "2026-02-03");
        expect(report.totals.cost).toBe(userA);
        expect(report.byDay.map((r) => r.cost)).toEqual([userA]);
        expect(report.byModel.map((r) => r.cost)).toEqual([userA]);
      } finally {
        await cleanup();
      }
    });
  });
}
