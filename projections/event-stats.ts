import { EVENT_TYPES, type EventType } from "../domain/events.ts";
import { addToTotal, totalOf } from "../domain/money.ts";
import { balances } from "./balances.ts";
import type { Doc, ReadStore } from "./read-store.ts";
import { hourOf, stamp, type Projection } from "./projection.ts";

/** events per type per hour */
export interface EventStatDoc extends Doc {
  type: EventType;
  hour: string;
  count: number;
}

export const eventStatsProjection: Projection<EventStatDoc, EventType> = {
  name: "event-stats",
  collection: "event_stats",
  handles: EVENT_TYPES,
  ids: (event) => [`${event.type}|${hourOf(event.metadata.occurredAt)}`],
  evolve: (doc, event, id) => ({
    ...stamp(id, event),
    type: event.type,
    hour: hourOf(event.metadata.occurredAt),
    count: (doc?.count ?? 0) + 1,
  }),
  indexes: [["hour"]],
};

/** the id of the one totals document */
const PLATFORM = "platform";

/** platform totals in one document */
export interface TotalsDoc extends Doc {
  events: number;
  requests: number;
  tokens: number;
  /** micro-USD over all accounts, as decimal strings (domain/money.ts `totalOf`): exact past 2^53 */
  revenue: string;
  payments: string;
  refunds: string;
}

export const totalsProjection: Projection<TotalsDoc, EventType> = {
  name: "totals",
  collection: "totals",
  handles: eventStatsProjection.handles,
  ids: () => [PLATFORM],
  evolve(doc, event, id) {
    const t = doc ?? { ...stamp(id, event), events: 0, requests: 0, tokens: 0, revenue: "0", payments: "0", refunds: "0" };
    const next = { ...t, ...stamp(id, event), events: t.events + 1 };
    switch (event.type) {
      case "ai_usage":
        return { ...next, requests: t.requests + 1, tokens: t.tokens + event.data.tokens, revenue: addToTotal(t.revenue, event.data.cost) };
      case "payment_processed":
        return { ...next, payments: addToTotal(t.payments, event.data.amount) };
      case "payment_refunded":
        return { ...next, refunds: addToTotal(t.refunds, event.data.amount) };
      default:
        return next;
    }
  },
};

export async function metrics(reads: ReadStore) {
  const [accounts, totals] = await Promise.all([
    balances(reads).count(),
    reads.collection<TotalsDoc>(totalsProjection.collection).get(PLATFORM),
  ]);
  return {
    accounts,
    requests: totals?.requests ?? 0,
    tokens: totals?.tokens ?? 0,
    revenue: totalOf(totals?.revenue),
    payments: totalOf(totals?.payments),
    refunds: totalOf(totals?.refunds),
    events: totals?.events ?? 0,
  };
}

export async function eventsSummary(reads: ReadStore, fromHour: string, toHour: string) {
  const rows = await reads
    .collection<EventStatDoc>(eventStatsProjection.collection)
    .sum({ hour: { gte: fromHour, lte: toHour } }, { groupBy: ["type"], fields: ["count"] });
  const byType = rows.map((r) => ({ type: String(r.key.type), count: r.sums.count ?? 0 })).sort((a, b) => b.count - a.count);
  return { total: byType.reduce((n, r) => n + r.count, 0), byType };
}
