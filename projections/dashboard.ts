import type { RecordedEvent } from "../domain/events.ts";
import { addToTotal } from "../domain/money.ts";
import type { Doc } from "./read-store.ts";
import { dayOf, hourOf, stamp, type Projection } from "./projection.ts";

export type Granularity = "hour" | "day";

/** one time bucket of platform activity */
export interface DashboardBucketDoc extends Doc {
  granularity: Granularity;
  start: string;
  requests: number;
  tokens: number;
  /** micro-USD totals over all accounts, as decimal strings (domain/money.ts `totalOf`): exact at any size */
  cost: string;
  payments: string;
  refunds: string;
  /** distinct users with usage in the bucket */
  users: string[];
}

export const bucketStart = (granularity: Granularity, iso: string) =>
  granularity === "hour" ? hourOf(iso) : `${dayOf(iso)}T00:00:00.000Z`;

const timeOf = (event: RecordedEvent) =>
  event.type === "ai_usage" ? event.data.timestamp : event.metadata.occurredAt;

export const dashboardProjection: Projection<DashboardBucketDoc> = {
  name: "dashboard",
  collection: "dashboard",
  handles: ["ai_usage", "payment_processed", "payment_refunded"],
  ids: (event) => (["hour", "day"] as const).map((g) => `${g}|${bucketStart(g, timeOf(event))}`),
  evolve(doc, event, id) {
    const [granularity, start] = id.split("|") as [Granularity, string];
    const base = doc ?? {
      ...stamp(id, event),
      granularity,
      start,
      requests: 0,
      tokens: 0,
      cost: "0",
      payments: "0",
      refunds: "0",
      users: [],
    };
    const next = { ...base, ...stamp(id, event) };
    switch (event.type) {
      case "ai_usage": {
        const { tokens, cost, userId } = event.data;
        const users = base.users.includes(userId) ? base.users : [...base.users, userId];
        return { ...next, requests: base.requests + 1, tokens: base.tokens + tokens, cost: addToTotal(base.cost, cost), users };
      }
      case "payment_processed":
        return { ...next, payments: addToTotal(base.payments, event.data.amount) };
      case "payment_refunded":
        return { ...next, refunds: addToTotal(base.refunds, event.data.amount) };
      default:
        return next;
    }
  },
  indexes: [["granularity", "start"]],
};
