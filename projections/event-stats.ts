import { EVENT_TYPES, type EventType } from "../domain/events.ts";
import { addToTotal } from "../domain/money.ts";
import type { Doc } from "./read-store.ts";
import { hourOf, stamp, type Projection } from "./projection.ts";

/** events per type per hour */
export interface EventStatDoc extends Doc {
  type: EventType;
  hour: string;
  count: number;
}

export const eventStatsProjection: Projection<EventStatDoc> = {
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

export const totalsProjection: Projection<TotalsDoc> = {
  name: "totals",
  collection: "totals",
  handles: eventStatsProjection.handles,
  ids: () => ["platform"],
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
