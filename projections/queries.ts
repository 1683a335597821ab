// Queries for the REST API: they read projections only, never the event store.
import { totalOf } from "../domain/money.ts";
import type { ApiKeyDoc } from "./api-keys.ts";
import type { BalanceDoc } from "./balances.ts";
import type { DashboardBucketDoc, Granularity } from "./dashboard.ts";
import type { EventStatDoc, TotalsDoc } from "./event-stats.ts";
import type { ModelDayDoc } from "./model-usage.ts";
import type { Filter, ReadStore } from "./read-store.ts";
import type { TransactionDoc } from "./transactions.ts";
import type { UsageDayDoc } from "./usage-report.ts";

export const getBalance = (reads: ReadStore, userId: string) => reads.collection<BalanceDoc>("balances").get(userId);

/** Accounts whose user id starts with `prefix`, in id order, after the id `after` (the cursor). */
export async function listAccounts(reads: ReadStore, prefix: string, limit: number, after?: string) {
  // ids are ASCII below DEL (apps/api/schemas.ts ID_PATTERN): [prefix, prefix + DEL) holds exactly the ids with that prefix
  const range: Filter = { _id: { gte: prefix, lt: `${prefix}\u007f`, ...(after !== undefined ? { gt: after } : {}) } };
  const balances = reads.collection<BalanceDoc>("balances");
  const [items, total] = await Promise.all([balances.find(range, { sort: { _id: 1 }, limit: limit + 1 }), balances.count({ _id: { gte: prefix, lt: `${prefix}\u007f` } })]);
  const page = items.slice(0, limit);
  return { items: page, total, nextCursor: items.length > limit ? page.at(-1)!._id : null };
}

export async function listTransactions(reads: ReadStore, userId: string, limit: number, before?: number) {
  const filter: Filter = before === undefined ? { userId } : { userId, _position: { lt: before } };
  const items = await reads.collection<TransactionDoc>("transactions").find(filter, { sort: { _position: -1 }, limit: limit + 1 });
  const page = items.slice(0, limit);
  return { items: page, nextCursor: items.length > limit ? page.at(-1)!._position : null };
}

// Money totals are bigint (domain/money.ts `totalOf`): a sum over many documents or accounts may pass
// 2^53 micro-USD, which no engine's own sum keeps exact. The documents summed here are few (one per
// day × model of one user, one per time bucket, one per day × model), so they are added up in JS.

const byCostThenName = (a: { cost: bigint; model: string }, b: { cost: bigint; model: string }) =>
  a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : a.model.localeCompare(b.model);

export async function usageReport(reads: ReadStore, userId: string, fromDay: string, toDay: string) {
  const docs = await reads.collection<UsageDayDoc>("usage_daily").find({ userId, day: { gte: fromDay, lte: toDay } });
  const empty = () => ({ requests: 0, promptTokens: 0, completionTokens: 0, tokens: 0, cost: 0n });
  const add = (into: ReturnType<typeof empty>, d: UsageDayDoc) => {
    into.requests += d.requests;
    into.promptTokens += d.promptTokens;
    into.completionTokens += d.completionTokens;
    into.tokens += d.tokens;
    into.cost += totalOf(d.cost);
    return into;
  };
  const totals = empty();
  const days = new Map<string, ReturnType<typeof empty>>();
  const models = new Map<string, ReturnType<typeof empty> & { provider: string; model: string }>();
  for (const d of docs) {
    add(totals, d);
    add(days.get(d.day) ?? days.set(d.day, empty()).get(d.day)!, d);
    const key = `${d.provider}|${d.model}`;
    add(models.get(key) ?? models.set(key, { provider: d.provider, model: d.model, ...empty() }).get(key)!, d);
  }
  const daily = docs
    .map((d) => ({ day: d.day, provider: d.provider, model: d.model, ...add(empty(), d) }))
    .sort((a, b) => a.day.localeCompare(b.day) || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
  return {
    totals,
    daily,
    byDay: [...days].map(([day, sums]) => ({ day, ...sums })).sort((a, b) => a.day.localeCompare(b.day)),
    byModel: [...models.values()].sort((a, b) => byCostThenName(a, b) || a.provider.localeCompare(b.provider)),
  };
}

export async function dashboard(reads: ReadStore, granularity: Granularity, from: string, to: string, top = 5) {
  const buckets = await reads
    .collection<DashboardBucketDoc>("dashboard")
    .find({ granularity, start: { gte: from, lte: to } }, { sort: { start: 1 } });
  const users = new Set<string>();
  const totals = { requests: 0, tokens: 0, cost: 0n, payments: 0n, refunds: 0n, activeUsers: 0 };
  const items = buckets.map((b) => {
    b.users.forEach((u) => users.add(u));
    const bucket = { start: b.start, requests: b.requests, tokens: b.tokens, cost: totalOf(b.cost), payments: totalOf(b.payments), refunds: totalOf(b.refunds), activeUsers: b.users.length };
    totals.requests += bucket.requests;
    totals.tokens += bucket.tokens;
    totals.cost += bucket.cost;
    totals.payments += bucket.payments;
    totals.refunds += bucket.refunds;
    return bucket;
  });
  totals.activeUsers = users.size;
  const days = await reads.collection<ModelDayDoc>("model_daily").find({ day: { gte: from.slice(0, 10), lte: to.slice(0, 10) } });
  const models = new Map<string, { model: string; requests: number; tokens: number; cost: bigint }>();
  for (const d of days) {
    const m = models.get(d.model) ?? models.set(d.model, { model: d.model, requests: 0, tokens: 0, cost: 0n }).get(d.model)!;
    m.requests += d.requests;
    m.tokens += d.tokens;
    m.cost += totalOf(d.cost);
  }
  const topModels = [...models.values()].sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model)).slice(0, top);
  const providers = await reads
    .collection<UsageDayDoc>("usage_daily")
    .sum({ day: { gte: from.slice(0, 10), lte: to.slice(0, 10) } }, { groupBy: ["provider"], fields: ["requests", "tokens"] });
  const topProviders = providers
    .map((r) => ({ provider: String(r.key.provider), requests: r.sums.requests ?? 0, tokens: r.sums.tokens ?? 0 }))
    .sort((a, b) => b.requests - a.requests || a.provider.localeCompare(b.provider))
    .slice(0, top);
  return { buckets: items, totals, topModels, topProviders };
}

export async function metrics(reads: ReadStore) {
  const [accounts, totals] = await Promise.all([
    reads.collection("balances").count(),
    reads.collection<TotalsDoc>("totals").get("platform"),
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
    .collection<EventStatDoc>("event_stats")
    .sum({ hour: { gte: fromHour, lte: toHour } }, { groupBy: ["type"], fields: ["count"] });
  const byType = rows.map((r) => ({ type: String(r.key.type), count: r.sums.count ?? 0 })).sort((a, b) => b.count - a.count);
  return { total: byType.reduce((n, r) => n + r.count, 0), byType };
}

export async function collectionStats(reads: ReadStore, names: string[]) {
  const collections = await Promise.all(names.map(async (name) => ({ name, documents: await reads.collection(name).count() })));
  return { collections };
}

export const apiKeys = (reads: ReadStore) => reads.collection<ApiKeyDoc>("api_keys");
export const listApiKeys = (reads: ReadStore, userId?: string) =>
  apiKeys(reads).find(userId ? { userId } : {}, { sort: { createdAt: 1 } });
export const findApiKeyByPrefix = async (reads: ReadStore, prefix: string) => (await apiKeys(reads).find({ prefix }, { limit: 1 }))[0] ?? null;
