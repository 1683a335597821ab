import { addToTotal, totalOf } from "../domain/money.ts";
import { modelDays } from "./model-usage.ts";
import type { Doc, ReadStore } from "./read-store.ts";
import { dayOf, hourOf, stamp, type EventOf, type Projection } from "./projection.ts";
import { providerTotals } from "./usage-report.ts";

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

type Handled = "ai_usage" | "payment_processed" | "payment_refunded";

const timeOf = (event: EventOf<Handled>) => (event.type === "ai_usage" ? event.data.timestamp : event.metadata.occurredAt);

export const dashboardProjection: Projection<DashboardBucketDoc, Handled> = {
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
    }
  },
  indexes: [["granularity", "start"]],
};

// Money totals are bigint (domain/money.ts `totalOf`), added up in JS: the documents are few (one per
// time bucket, one per day × model) and their sum may pass 2^53 micro-USD.

export async function dashboard(reads: ReadStore, granularity: Granularity, from: string, to: string, top = 5) {
  const buckets = await reads
    .collection<DashboardBucketDoc>(dashboardProjection.collection)
    .find({ granularity, start: { gte: from, lte: to } }, { sort: { start: 1 } });
  const users = new Set<string>();
  const totals = { requests: 0, tokens: 0, cost: 0n, payments: 0n, refunds: 0n, activeUsers: 0 };
  const items = buckets.map((b) => {
    b.users.forEach((u) => users.add(u));
    const bucket = {
      start: b.start,
      requests: b.requests,
      tokens: b.tokens,
      cost: totalOf(b.cost),
      payments: totalOf(b.payments),
      refunds: totalOf(b.refunds),
      activeUsers: b.users.length,
    };
    totals.requests += bucket.requests;
    totals.tokens += bucket.tokens;
    totals.cost += bucket.cost;
    totals.payments += bucket.payments;
    totals.refunds += bucket.refunds;
    return bucket;
  });
  totals.activeUsers = users.size;
  const days = await modelDays(reads, from.slice(0, 10), to.slice(0, 10));
  const models = new Map<string, { model: string; requests: number; tokens: number; cost: bigint }>();
  for (const d of days) {
    const m = models.get(d.model) ?? models.set(d.model, { model: d.model, requests: 0, tokens: 0, cost: 0n }).get(d.model)!;
    m.requests += d.requests;
    m.tokens += d.tokens;
    m.cost += totalOf(d.cost);
  }
  const topModels = [...models.values()].sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model)).slice(0, top);
  const topProviders = (await providerTotals(reads, from.slice(0, 10), to.slice(0, 10)))
    .sort((a, b) => b.requests - a.requests || a.provider.localeCompare(b.provider))
    .slice(0, top);
  return { buckets: items, totals, topModels, topProviders };
}
