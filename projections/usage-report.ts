import { addToTotal } from "../domain/money.ts";
import { totalOf } from "../domain/money.ts";
import type { Doc, ReadStore } from "./read-store.ts";
import { dayOf, stamp, type Projection } from "./projection.ts";

/** usage per user × day × provider × model */
export interface UsageDayDoc extends Doc {
  userId: string;
  day: string;
  provider: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  tokens: number;
  /** micro-USD as a decimal string: usage is never refused for funds, so one day can pass 2^53 */
  cost: string;
}

export const usageReportProjection: Projection<UsageDayDoc, "ai_usage"> = {
  name: "usage-report",
  collection: "usage_daily",
  handles: ["ai_usage"],
  ids(event) {
    const { userId, timestamp, provider, model } = event.data;
    return [`${userId}|${dayOf(timestamp)}|${provider}|${model}`];
  },
  evolve(doc, event, id) {
    const u = event.data;
    const base = doc ?? {
      ...stamp(id, event),
      userId: u.userId,
      day: dayOf(u.timestamp),
      provider: u.provider,
      model: u.model,
      requests: 0,
      promptTokens: 0,
      completionTokens: 0,
      tokens: 0,
      cost: "0",
    };
    return {
      ...base,
      ...stamp(id, event),
      requests: base.requests + 1,
      promptTokens: base.promptTokens + u.promptTokens,
      completionTokens: base.completionTokens + u.completionTokens,
      tokens: base.tokens + u.tokens,
      cost: addToTotal(base.cost, u.cost),
    };
  },
  indexes: [["userId", "day"], ["day"]],
};

const usageDays = (reads: ReadStore) => reads.collection<UsageDayDoc>(usageReportProjection.collection);

// Money totals are bigint (domain/money.ts `totalOf`): a sum over many documents may pass 2^53
// micro-USD, which no engine's own sum keeps exact. The documents summed here are few (one per day ×
// provider × model of one user), so they are added up in JS.

const byCostThenName = (a: { cost: bigint; model: string }, b: { cost: bigint; model: string }) =>
  a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : a.model.localeCompare(b.model);

export async function usageReport(reads: ReadStore, userId: string, fromDay: string, toDay: string) {
  const docs = await usageDays(reads).find({ userId, day: { gte: fromDay, lte: toDay } });
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

/** requests and tokens per provider over the days `fromDay`..`toDay` (inclusive), every account */
export async function providerTotals(reads: ReadStore, fromDay: string, toDay: string) {
  const rows = await usageDays(reads).sum({ day: { gte: fromDay, lte: toDay } }, { groupBy: ["provider"], fields: ["requests", "tokens"] });
  return rows.map((r) => ({ provider: String(r.key.provider), requests: r.sums.requests ?? 0, tokens: r.sums.tokens ?? 0 }));
}
