import { addToTotal } from "../domain/money.ts";
import type { Doc } from "./read-store.ts";
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

export const usageReportProjection: Projection<UsageDayDoc> = {
  name: "usage-report",
  collection: "usage_daily",
  handles: ["ai_usage"],
  ids(event) {
    if (event.type !== "ai_usage") return [];
    const { userId, timestamp, provider, model } = event.data;
    return [`${userId}|${dayOf(timestamp)}|${provider}|${model}`];
  },
  evolve(doc, event, id) {
    if (event.type !== "ai_usage") throw new Error(`unexpected ${event.type}`);
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
