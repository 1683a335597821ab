import { addToTotal } from "../domain/money.ts";
import type { Doc } from "./read-store.ts";
import { dayOf, stamp, type Projection } from "./projection.ts";

/** usage per day × model over all accounts: the dashboard's top models, a few documents per day */
export interface ModelDayDoc extends Doc {
  day: string;
  model: string;
  requests: number;
  tokens: number;
  /** micro-USD as a decimal string (domain/money.ts `totalOf`): exact at any size */
  cost: string;
}

export const modelUsageProjection: Projection<ModelDayDoc> = {
  name: "model-usage",
  collection: "model_daily",
  handles: ["ai_usage"],
  ids: (event) => (event.type === "ai_usage" ? [`${dayOf(event.data.timestamp)}|${event.data.model}`] : []),
  evolve(doc, event, id) {
    if (event.type !== "ai_usage") throw new Error(`unexpected ${event.type}`);
    const u = event.data;
    const base = doc ?? { ...stamp(id, event), day: dayOf(u.timestamp), model: u.model, requests: 0, tokens: 0, cost: "0" };
    return { ...base, ...stamp(id, event), requests: base.requests + 1, tokens: base.tokens + u.tokens, cost: addToTotal(base.cost, u.cost) };
  },
  indexes: [["day"]],
};
