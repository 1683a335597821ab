// Queries for the REST API: they read projections only, never the event store.
import type { ApiKeyDoc } from "./api-keys.ts";
import type { BalanceDoc } from "./balances.ts";
import type { DashboardBucketDoc, Granularity } from "./dashboard.ts";
import type { EventStatDoc, TotalsDoc } from "./event-stats.ts";
import type { Filter, ReadStore } from "./read-store.ts";
import type { TransactionDoc } from "./transactions.ts";
import type { UsageDayDoc } from "./usage-report.ts";

export const getBalance = (reads: ReadStore, userId: string) => reads.collection<BalanceDoc>("balances").get(userId);

export async function listTransactions(reads: ReadStore, userId: string, limit: number, before?: number) {
  const filter: Filter = before === undefined ? { userId } : { userId, _position: { lt: before } };
  const items = await reads.collection<TransactionDoc>("transactions").find(filter, { sort: { _position: -1 }, limit: limit + 1 });
  const page = items.slice(0, limit);
  return { items: page, nextCursor: items.length > limit ? page.at(-1)!._position : null };
}

const USAGE_FIELDS = ["promptTokens", "completionTokens", "tokens", "cost"];

export async function usageReport(reads: ReadStore, userId: string, fromDay: string, toDay: string) {
  const usage = reads.collection<UsageDayDoc>("usage_daily");
  const filter = { userId, day: { gte: fromDay, lte: toDay } };
  const [total, byDay, byModel] = await Promise.all([
    usage.sum(filter, { groupBy: [], fields: ["requests", ...USAGE_FIELDS] }),
    usage.sum(filter, { groupBy: ["day"], fields: ["requests", ...USAGE_FIELDS] }),
    usage.sum(filter, { groupBy: ["provider", "model"], fields: ["requests", ...USAGE_FIELDS] }),
  ]);
  const sums = (row?: { sums: Record<string, number> }) => ({
    requests: row?.sums.requests ?? 0,
    promptTokens: row?.sums.promptTokens ?? 0,
    completionTokens: row?.sums.completionTokens ?? 0,
    tokens: row?.sums.tokens ?? 0,
    cost: row?.sums.cost ?? 0,
  });
  return {
    totals: sums(total[0]),
    byDay: byDay.map((r) => ({ day: String(r.key.day), ...sums(r) })).sort((a, b) => a.day.localeCompare(b.day)),
    byModel: byModel
      .map((r) => ({ provider: String(r.key.provider), model: String(r.key.model), ...sums(r) }))
      .sort((a, b) => b.cost - a.cost || a.model.localeCompare(b.model)),
  };
}

export async function dashboard(reads: ReadStore, granularity: Granularity, from: string, to: string, top = 5) {
  const buckets = await reads
    .collection<DashboardBucketDoc>("dashboard")
    .find({ granularity, start: { gte: from, lte: to } }, { sort: { start: 1 } });
  const users = new Set<string>();
  const totals = { requests: 0, tokens: 0, cost: 0, payments: 0, refunds: 0, activeUsers: 0 };
  const items = buckets.map((b) => {
    b.users.forEach((u) => users.add(u));
    totals.requests += b.requests;
    totals.tokens += b.tokens;
    totals.cost += b.cost;
    totals.payments += b.payments;
    totals.refunds += b.refunds;
    const { start, requests, tokens, cost, payments, refunds } = b;
    return { start, requests, tokens, cost, payments, refunds, activeUsers: b.users.length };
  });
  totals.activeUsers = users.size;
  const models = await reads
    .collection<UsageDayDoc>("usage_daily")
    .sum({ day: { gte: from.slice(0, 10), lte: to.slice(0, 10) } }, { groupBy: ["model"], fields: ["requests", "tokens", "cost"] });
  const topModels = models
    .map((r) => ({ model: String(r.key.model), requests: r.sums.requests ?? 0, tokens: r.sums.tokens ?? 0, cost: r.sums.cost ?? 0 }))
    .sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model))
    .slice(0, top);
  return { buckets: items, totals, topModels };
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
    revenue: totals?.revenue ?? 0,
    payments: totals?.payments ?? 0,
    refunds: totals?.refunds ?? 0,
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
